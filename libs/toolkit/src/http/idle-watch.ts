/**
 * The abort signal of one request that fires once nothing moved for `ms`: no answer yet, no chunk
 * of the body sent or received. `touch()` says something moved; `done()` stops watching. It
 * aborts with the error `reason` makes (so the caller's message names the request).
 */
export class IdleWatch {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly reason: (ms: number) => Error,
  ) {
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(this.reason(this.ms)), this.ms);
    this.timer.unref();
  }

  done(): void {
    clearTimeout(this.timer);
  }

  /** `stream`, touching the watch at each chunk and stopping it at the end. */
  watched(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    return stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => {
          this.touch();
          controller.enqueue(chunk);
        },
        flush: () => this.done(),
      }),
    );
  }
}
