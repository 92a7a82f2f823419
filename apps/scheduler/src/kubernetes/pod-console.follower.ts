import type { V1Pod } from '@kubernetes/client-node';
import { describeKubernetesError, type KubernetesApi, type LogStream } from './kubernetes.api';
import { consoleContainers, hasStarted } from './pod-status.mapper';

/**
 * Follows the logs that make a job's console into it, one container after the other, in the
 * order they run (consoleContainers: a `docker` job's image build, then the job's command):
 * each from its start once it has started, the next one once the log before it has ended.
 * Skips the first `skip` characters of the whole (what a re-attached job already stored).
 */
export class PodConsoleFollower {
  /** Which of the pod's console containers is (or will be) followed. */
  private index = 0;
  private state: 'idle' | 'starting' | 'following' | 'stopped' = 'idle';
  private stream: LogStream | null = null;
  /** The last attempt: settles once it failed, or once its log has ended and the next one was tried. */
  private current: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: KubernetesApi,
    /** The job's pod as the watch holds it now. */
    private readonly latestPod: () => V1Pod | undefined,
    private readonly onText: (text: string) => void,
    private skip: number,
    private readonly onError: (message: string) => void,
  ) {}

  /** Follows what can be followed now; called on every change of the pod (a failed attempt is tried again then). */
  poke(): void {
    const pod = this.latestPod();
    const podName = pod?.metadata?.name;
    const container = consoleContainers(pod)[this.index];
    if (this.state !== 'idle' || !podName || container === undefined || !hasStarted(pod, container)) return;
    this.state = 'starting';
    this.current = this.api.followLog(podName, container, (text) => this.take(text)).then(
      async (stream) => {
        if (this.state === 'stopped') return stream.stop();
        this.stream = stream;
        this.state = 'following';
        await stream.ended;
        if (this.state !== 'following' || this.stream !== stream) return;
        this.stream = null;
        this.index++;
        this.state = 'idle';
        this.poke();
      },
      (error: unknown) => {
        if (this.state === 'starting') this.state = 'idle';
        this.onError(`following the log of ${podName}/${container}: ${describeKubernetesError(error)}`);
      },
    );
  }

  /**
   * Once the job has ended: waits, at most `ms`, for the logs to be read to their ends — the one
   * followed now and those of containers after it that ran.
   */
  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    this.poke();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    try {
      for (;;) {
        const attempt = this.current;
        await Promise.race([attempt, timeout]);
        // Nothing further started (no more containers, or the next one never ran): done.
        if (Date.now() >= deadline || this.current === attempt) return;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): void {
    this.state = 'stopped';
    this.stream?.stop();
    this.stream = null;
  }

  private take(text: string): void {
    if (this.skip >= text.length) {
      this.skip -= text.length;
      return;
    }
    this.onText(text.slice(this.skip));
    this.skip = 0;
  }
}
