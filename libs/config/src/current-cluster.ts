import type { InstallConfig } from './install-config.schema';

/**
 * The cluster this process runs in, as its install config says: what the apps' services need
 * of the config most often. Injected by its class (`constructor(private readonly cluster:
 * CurrentCluster)`), provided by `InstallConfigModule.forRoot`; code that holds a config rather
 * than an injector reads it through {@link currentClusterOf}.
 */
export class CurrentCluster {
  /** `cluster.name` (default: the master's). */
  readonly name: string;
  /** `cluster.labels`. */
  readonly labels: readonly string[];
  /** This cluster is the master: the one that issues admin, project and user tokens. */
  readonly isMaster: boolean;
  /** `cluster.projects`: a protected cluster runs jobs of these projects only; undefined: every project's. */
  readonly projects: readonly string[] | undefined;
  /** The normalized API root of this cluster (`host`, no trailing slash). */
  readonly url: string;

  constructor(cluster: { name: string; labels?: readonly string[]; isMaster: boolean; projects?: readonly string[]; url: string }) {
    this.name = cluster.name;
    this.labels = Object.freeze([...(cluster.labels ?? [])]);
    this.isMaster = cluster.isMaster;
    this.projects = cluster.projects === undefined ? undefined : Object.freeze([...cluster.projects]);
    this.url = cluster.url;
    Object.freeze(this);
  }
}

/** The cluster `config` is of. */
export function currentClusterOf(config: Pick<InstallConfig, 'cluster' | 'apiUrl'>): CurrentCluster {
  const { name, labels, isMaster, projects } = config.cluster;
  return new CurrentCluster({ name, labels, isMaster, ...(projects === undefined ? {} : { projects }), url: config.apiUrl });
}
