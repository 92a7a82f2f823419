import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { BatchV1Api, CoreV1Api, KubeConfig, ListWatch, Log, V1Job, V1Pod, V1Secret, Watch, type Informer } from '@kubernetes/client-node';
import type { KubernetesExecutorConfig } from '@infrabox/config';

/** A Kubernetes API error as one line: its status code and the server's message. */
export function describeKubernetesError(error: unknown): string {
  const { statusCode, body } = error as { statusCode?: number; body?: { message?: string } | string };
  const message = typeof body === 'object' && body?.message ? body.message : typeof body === 'string' && body ? body : (error as Error)?.message;
  return statusCode ? `HTTP ${statusCode}: ${message}` : String(message);
}

export function statusCodeOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

export interface LogStream {
  /** Resolves when the log ends (the container ended) or the stream fails. */
  readonly ended: Promise<void>;
  stop(): void;
}

/** The calls the executor makes, on the namespace of its config, through `@kubernetes/client-node`. */
export class KubernetesApi {
  readonly namespace: string;
  private readonly kubeConfig = new KubeConfig();
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;

  constructor(readonly settings: KubernetesExecutorConfig) {
    const config = settings;
    this.namespace = config.namespace;
    if (config.access.kind === 'in-cluster') this.kubeConfig.loadFromCluster();
    else this.kubeConfig.loadFromFile(config.access.path);
    this.batch = this.kubeConfig.makeApiClient(BatchV1Api);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
  }

  /** Creates a Kubernetes Job; resolves with it as created (its uid set). */
  async createJob(manifest: V1Job): Promise<V1Job> {
    return (await this.batch.createNamespacedJob(this.namespace, manifest)).body;
  }

  async readJob(name: string): Promise<V1Job> {
    return (await this.batch.readNamespacedJob(name, this.namespace)).body;
  }

  async createSecret(secret: V1Secret): Promise<void> {
    await this.core.createNamespacedSecret(this.namespace, secret);
  }

  /** Deletes a Kubernetes Job and, in the background, its pods; a Job already gone is fine. */
  async deleteJob(name: string): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob(name, this.namespace, undefined, undefined, undefined, undefined, 'Background');
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
  }

  /** List, then watch from the list's resourceVersion; a 410 Gone lists again (client-node's ListWatch). */
  jobInformer(labelSelector: string): Informer<V1Job> {
    return new ListWatch(
      `/apis/batch/v1/namespaces/${this.namespace}/jobs`,
      new SingleEndWatch(this.kubeConfig),
      () => this.batch.listNamespacedJob(this.namespace, undefined, undefined, undefined, undefined, labelSelector),
      false,
      labelSelector,
    );
  }

  podInformer(labelSelector: string): Informer<V1Pod> {
    return new ListWatch(
      `/api/v1/namespaces/${this.namespace}/pods`,
      new SingleEndWatch(this.kubeConfig),
      () => this.core.listNamespacedPod(this.namespace, undefined, undefined, undefined, undefined, labelSelector),
      false,
      labelSelector,
    );
  }

  /** Follows a container's log (`follow=true`) from its start, handing text to `onText`. */
  async followLog(podName: string, container: string, onText: (text: string) => void): Promise<LogStream> {
    const decoder = new StringDecoder('utf8');
    let settle!: () => void;
    const ended = new Promise<void>((resolve) => (settle = resolve));
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        const text = decoder.write(chunk);
        if (text) onText(text);
        callback();
      },
    });
    sink.on('finish', () => {
      const rest = decoder.end();
      if (rest) onText(rest);
      settle();
    });
    const request = await new Log(this.kubeConfig).log(this.namespace, podName, container, sink, () => settle(), { follow: true });
    return {
      ended,
      stop: () => {
        request.abort();
        settle();
      },
    };
  }
}

/**
 * A watch that ends once: after an ERROR event (a 410 Gone, which ListWatch answers by listing
 * again) the connection's close is not reported as a second end. With client-node 0.22's Watch
 * both were, and ListWatch then listed and watched twice, leaving one watch open per 410.
 */
class SingleEndWatch extends Watch {
  override watch(
    path: string,
    queryParams: Record<string, unknown>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): ReturnType<Watch['watch']> {
    let ended = false;
    return super.watch(
      path,
      queryParams,
      (phase, object, raw) => {
        if (ended) return;
        if (phase === 'ERROR') ended = true;
        callback(phase, object, raw);
      },
      (error) => {
        if (ended) return;
        ended = true;
        done(error);
      },
    );
  }
}
