import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/*
 * Schema of the install configuration YAML (snake_case, as in InfraBox's
 * multi-cluster docs) plus the typed, normalized result (camelCase).
 * Messages are written as "<reason>"; the loader prefixes the field path.
 */

export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ClusterConfig {
  readonly name: string;
  readonly labels: readonly string[];
  readonly isMaster: boolean;
  /**
   * A protected cluster runs jobs of these projects only (`cluster.projects`); undefined: every
   * project's. Placement never puts another project's job here.
   */
  readonly projects?: readonly string[];
}

export type DatabaseConfig =
  | { readonly kind: 'embedded'; readonly dataDir: string; readonly port: number }
  | {
      readonly kind: 'postgres';
      /** A direct connection: migrations, LISTEN and session advisory locks (they need a session of their own). */
      readonly url: string;
      /**
       * A transaction-mode pooler (PgBouncer) in front of the same database: every pool goes
       * through it. Absent: the pools connect directly too.
       */
      readonly poolerUrl?: string;
    };

export type StorageConfig =
  | { readonly kind: 'local'; readonly path: string }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      readonly region: string;
      readonly endpoint?: string;
      readonly forcePathStyle: boolean;
      readonly accessKeyId?: string;
      readonly secretAccessKey?: string;
    }
  | {
      readonly kind: 'gcs';
      readonly bucket: string;
      /** Base64 of a service account JSON key, kept encoded; decode when needed. */
      readonly serviceAccount?: string;
      readonly projectId?: string;
      readonly apiEndpoint?: string;
    };

/**
 * How the scheduler runs jobs: in containers through a Docker Engine API (the default wherever
 * an engine is reachable), as Kubernetes Jobs, or as local processes (explicit, or where no
 * engine is reachable and the config chose none: `orProcess`).
 */
export type SchedulerConfig =
  | { readonly executor: 'process' }
  | { readonly executor: 'container'; readonly container: ContainerExecutorConfig; readonly orProcess: boolean }
  | { readonly executor: 'kubernetes'; readonly kubernetes: KubernetesExecutorConfig };

export const PULL_POLICIES = ['if-not-present', 'always', 'never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface ContainerExecutorConfig {
  /** When a job's image is pulled: only when missing (the default), every time, or never. */
  readonly pullPolicy: PullPolicy;
  /** Whether jobs may ask for `security_context.privileged` (default false). */
  readonly allowPrivileged: boolean;
}

export const DEFAULT_CONTAINER_EXECUTOR: ContainerExecutorConfig = Object.freeze({ pullPolicy: 'if-not-present', allowPrivileged: false });

export interface KubernetesExecutorConfig {
  /** Namespace the jobs' Kubernetes Jobs and pods are created in. */
  readonly namespace: string;
  /** Where the API credentials come from: the pod's service account, or a kubeconfig file. */
  readonly access: { readonly kind: 'in-cluster' } | { readonly kind: 'kubeconfig'; readonly path: string };
  /** The InfraBox image: its CLI fetches a job's inputs and uploads its output. */
  readonly helperImage: string;
  /** The URL pods reach this cluster's API at (default: `host`). */
  readonly apiUrl: string;
  /** How long a finished Kubernetes Job is kept before Kubernetes deletes it. */
  readonly ttlSecondsAfterFinished: number;
}

/** Replicas of the apps of one cluster: how long a dead one goes unnoticed, how long a stopping one may take. */
export interface HaConfig {
  /**
   * A scheduler whose heartbeat is older than this is dead (its running jobs end in error), and a
   * leader's duty (orphan recovery, reachability probes) is taken over within this time.
   */
  readonly leaseMs: number;
  /** On SIGTERM, running jobs and transfers get this long to finish before they are stopped. */
  readonly shutdownGraceMs: number;
}

export const DEFAULT_HA: HaConfig = Object.freeze({ leaseMs: 15_000, shutdownGraceMs: 30_000 });

/** The config's replica timings, the defaults where it has none. */
export function haOf(config: { ha?: HaConfig }): HaConfig {
  return config.ha ?? DEFAULT_HA;
}

/** The event table: how long handled events are kept (see the event pruner in the registry). */
export interface EventsConfig {
  /** Events older than this that every consumer has passed are deleted; consumers unseen this long are no longer waited for. */
  readonly retentionSeconds: number;
}

/**
 * This cluster's image registry (CNCF distribution, with this cluster's api as its token
 * service): where it listens and where other clusters and container engines reach it.
 */
export interface RegistryConfig {
  /** Origin other clusters and engines use, e.g. `http://127.0.0.1:9080` (no trailing slash). */
  readonly url: string;
  /** Port the local registry process listens on. */
  readonly port: number;
  /**
   * Absolute path of the PEM file (mode 600) with the private key that signs this cluster's
   * registry tokens; its certificate (the registry's `rootcertbundle`) is written next to it
   * ({@link registryCertificateFile}). Created once when missing. Never in the database.
   */
  readonly signingKey: string;
}

/** The OpenID Connect provider users log in with (Keycloak, Dex, Google, Entra ID, …). */
export interface OidcConfig {
  /** The issuer URL; its `/.well-known/openid-configuration` is read at the first login. */
  readonly issuer: string;
  readonly clientId: string;
  /** Absolute path of a file holding the client secret; unset: a public client (PKCE only). */
  readonly clientSecretFile?: string;
  /** The ID token claim that names the user (`email` unless told otherwise). */
  readonly usernameClaim: string;
  readonly scopes: readonly string[];
  /** Where the provider sends the browser back: `<api url>/api/v1/auth/callback`. */
  readonly redirectUri: string;
}

/** The route the OpenID provider redirects a browser login back to. */
export const OIDC_CALLBACK_PATH = '/api/v1/auth/callback';
export const DEFAULT_OIDC_SCOPES: readonly string[] = ['openid', 'email', 'profile'];

/** Default: the api's port + 1000 (8080 → 9080). */
export const REGISTRY_PORT_OFFSET = 1000;

/** Where a cluster keeps its registry files when the config says nothing (relative to the working directory). */
export function defaultRegistrySigningKey(cluster: string, cwd: string): string {
  return path.resolve(cwd, '.infrabox', 'registry', cluster, 'signing-key.pem');
}

/** The certificate file of a signing key file: `signing-key.pem` → `signing-key.crt` (else `<file>.crt`). */
export function registryCertificateFile(signingKey: string): string {
  return signingKey.endsWith('.pem') ? `${signingKey.slice(0, -'.pem'.length)}.crt` : `${signingKey}.crt`;
}

/** The config's registry, or the default derived from the api's URL and port (configs built in code may leave it out). */
export function registryOf(config: { apiUrl: string; listenPort: number; cluster: { name: string }; registry?: RegistryConfig }): RegistryConfig {
  if (config.registry) return config.registry;
  const port = config.listenPort + REGISTRY_PORT_OFFSET;
  const api = new URL(config.apiUrl);
  return { url: `${api.protocol}//${api.hostname}:${port}`, port, signingKey: defaultRegistrySigningKey(config.cluster.name, process.cwd()) };
}

/**
 * The address the apps listen on: `api.bind`, else loopback when the cluster's own URL is a
 * loopback one (a local run: nothing else could reach it there anyway), else every interface.
 */
export function bindAddressOf(config: { apiUrl: string; bindAddress?: string }): string {
  if (config.bindAddress !== undefined) return config.bindAddress;
  const host = new URL(config.apiUrl).hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.'))) return '127.0.0.1';
  return host === '::1' ? '::1' : '0.0.0.0';
}

/** How long a peer transfer or an api connection may go without a byte before it is cut. */
export interface TimeoutsConfig {
  /** A peer that sends (or takes) nothing for this long: the transfer is cut and resumed or retried. */
  readonly transferIdleMs: number;
  /** An api connection idle this long mid-request or mid-response is closed (uploads of any size are fine while bytes flow). */
  readonly apiIdleMs: number;
}

export const DEFAULT_TIMEOUTS: TimeoutsConfig = { transferIdleMs: 30_000, apiIdleMs: 120_000 };

/** The config's timeouts, or the defaults (configs built in code may leave them out). */
export function timeoutsOf(config: { timeouts?: TimeoutsConfig }): TimeoutsConfig {
  return config.timeouts ?? DEFAULT_TIMEOUTS;
}

/** `archives:`: caps of one uploaded archive (the archive library's defaults where unset). */
export interface ArchivesConfig {
  readonly maxEntries?: number;
  readonly maxUnpackedBytes?: number;
}

/** The name of the master cluster: the one that issues admin and project tokens. */
export const MASTER_CLUSTER = 'master';

/** This cluster's token signing key (the JWTs of jobs, peers, projects and admins). */
export interface AuthConfig {
  /**
   * Absolute path of the PEM file (PKCS#8 Ed25519, mode 600) with the private key that signs this
   * cluster's tokens, created once when missing. Only its public half goes into the database.
   */
  readonly signingKey: string;
  /** Users with every right (`auth.admins`, the master only): usernames as the OpenID provider names them. */
  readonly admins?: readonly string[];
  /** How users log in (`auth.oidc`, the master only); unset: no user logins, tokens only. */
  readonly oidc?: OidcConfig;
}

/** Where a cluster keeps its token signing key when the config says nothing (relative to the working directory). */
export function defaultTokenSigningKey(cluster: string, cwd: string): string {
  return path.resolve(cwd, '.infrabox', 'keys', cluster, 'token-key.pem');
}

/** The config's token signing key, or the default (configs built in code may leave it out). */
export function authOf(config: { cluster: { name: string }; auth?: AuthConfig }): AuthConfig {
  return config.auth ?? { signingKey: defaultTokenSigningKey(config.cluster.name, process.cwd()) };
}

export type InstallConfig = Readonly<{
  /** Normalized API root of this cluster, e.g. `https://master.example.com` (no trailing slash). */
  apiUrl: string;
  listenPort: number;
  /** The address the apps listen on; configs built in code may leave it out: read it through bindAddressOf(). */
  bindAddress?: string;
  cluster: ClusterConfig;
  database: DatabaseConfig;
  storage: StorageConfig;
  /** The loader always sets it; configs built in code may leave it out (= DEFAULT_HA): read it through haOf(). */
  ha?: HaConfig;
  logLevel: LogLevel;
  /** The loader always sets it; configs built in code may leave it out (= the process executor). */
  scheduler?: SchedulerConfig;
  /** The loader always sets it; configs built in code may leave it out (= the default retention). */
  events?: EventsConfig;
  /** The loader always sets it; configs built in code may leave it out: read it through registryOf(). */
  registry?: RegistryConfig;
  /** The loader always sets it; configs built in code may leave it out: read it through authOf(). */
  auth?: AuthConfig;
  /** Caps of uploaded archives; unset fields: the archive library's defaults. */
  archives?: ArchivesConfig;
  /** The loader always sets it; configs built in code may leave it out: read it through timeoutsOf(). */
  timeouts?: TimeoutsConfig;
}>;

/** Renders an offending value for messages: strings quoted, collections by kind. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  return String(value);
}

export const CLUSTER_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Canonical base64 survives a decode and encode unchanged (no regular expression: a long value would overflow its stack). */
function isBase64(value: string): boolean {
  return value.length % 4 === 0 && Buffer.from(value, 'base64').toString('base64') === value;
}

const nonEmpty = z.string().min(1, 'must not be empty');
const bool = z.boolean();

// A transform rather than z.custom: z.custom failures abort the parent
// object's cross-field checks, which would hide other problems.
const port = z.unknown().transform((value, ctx): number => {
  if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535) return value as number;
  ctx.addIssue({ code: 'custom', message: `expected an integer between 1 and 65535, got ${describeValue(value)}` });
  return z.NEVER;
});

/** A count or size: a safe whole number of at least 1. */
const positiveInteger = z.unknown().transform((value, ctx): number => {
  if (Number.isSafeInteger(value) && (value as number) >= 1) return value as number;
  ctx.addIssue({ code: 'custom', message: `expected a whole number of at least 1, got ${describeValue(value)}` });
  return z.NEVER;
});

const httpUrl = z.string().refine(
  (v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  },
  { error: (issue) => `expected an http(s) URL, got ${describeValue(issue.input)}` },
);

/** `host` → normalized origin plus the port if the host spelled one out. */
const host = nonEmpty.transform((raw, ctx) => {
  const match = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/)?([^/?#]*)(.*)$/s.exec(raw.trim())!;
  const [, scheme = 'https', authority, rest] = match;
  const fail = (reason: string) => {
    ctx.addIssue({ code: 'custom', message: `${reason}, got ${describeValue(raw)}` });
    return z.NEVER;
  };
  if (!['http', 'https'].includes(scheme.toLowerCase())) return fail('scheme must be http or https');
  if (rest !== '' && rest !== '/') return fail('must be a scheme, host and optional port only, without path, query or fragment');
  if (authority.includes('@')) return fail('must not contain credentials');
  let url: URL;
  try {
    url = new URL(`${scheme}://${authority}`);
  } catch {
    return fail('expected a host name with optional scheme and port');
  }
  // URL drops default ports (https://x:443), so read the port from the text.
  const explicitPort = /:(\d+)$/.exec(authority)?.[1];
  if (explicitPort !== undefined && (Number(explicitPort) < 1 || Number(explicitPort) > 65535)) {
    return fail('port must be between 1 and 65535');
  }
  return { apiUrl: url.origin, port: explicitPort === undefined ? undefined : Number(explicitPort) };
});

/** Comma-separated string (as in the docs) or a YAML list of strings. */
const labels = z.unknown().transform((value, ctx): string[] => {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'string' && !Array.isArray(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a comma-separated string or a list of strings, got ${describeValue(value)}`,
    });
    return z.NEVER;
  }
  const items: unknown[] = typeof value === 'string' ? value.split(',') : value;
  const result: string[] = [];
  items.forEach((item, index) => {
    if (typeof item !== 'string') {
      ctx.addIssue({ code: 'custom', path: [index], message: `expected a string, got ${describeValue(item)}` });
      return;
    }
    const label = item.trim();
    if (label === '') return;
    if (result.includes(label)) {
      ctx.addIssue({ code: 'custom', message: `duplicate label ${describeValue(label).replace(/^"|"$/g, "'")}` });
    } else {
      result.push(label);
    }
  });
  return result;
});

/** A project name, as the api accepts it. */
export const PROJECT_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$/;

/** A user as the OpenID provider names them (an email, a login): no spaces or control characters, at most 200. */
export const USERNAME_PATTERN = /^[^\s\x00-\x1f\x7f]{1,200}$/;

/** `cluster.projects`: the projects a protected cluster runs (a non-empty list of project names). */
const projects = z.array(z.unknown()).min(1, 'expected at least one project (leave the field out for every project)').transform((items, ctx): string[] => {
  const result: string[] = [];
  items.forEach((item, index) => {
    if (typeof item !== 'string' || !PROJECT_NAME_PATTERN.test(item)) {
      ctx.addIssue({ code: 'custom', path: [index], message: `expected a project name (letters, digits, _ . -, at most 100), got ${describeValue(item)}` });
    } else if (!result.includes(item)) {
      result.push(item);
    }
  });
  return result;
});

const clusterName = z.string().regex(CLUSTER_NAME_PATTERN, {
  error: (issue) =>
    'must be a DNS label (lowercase letters, digits and "-", at most 63 characters, ' +
    `starting and ending with a letter or digit), got ${describeValue(issue.input)}`,
});

// The docs show a placeholder instead of real base64, so only something that
// really is base64 gets checked for being a JSON object.
const serviceAccount = z.string().superRefine((value, ctx) => {
  const compact = value.replace(/\s+/g, '');
  if (compact === '' || !isBase64(compact)) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(compact, 'base64').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    ctx.addIssue({ code: 'custom', message: 'expected base64 of a service account JSON object' });
  }
});

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/*
 * Cross-field checks below also run when sibling fields have type errors
 * (zod skips them by default), so every problem is reported in one go.
 * Their input is therefore only known to be a mapping.
 */
const whenMapping = { when: (payload: { value: unknown }) => isMapping(payload.value) };

function requiredWhenEnabled<T extends z.ZodType<{ enabled: boolean }>>(schema: T, ...keys: string[]) {
  return schema.superRefine((value, ctx) => {
    const fields = value as Record<string, unknown>;
    if (fields.enabled !== true) return;
    for (const key of keys) {
      if (fields[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required when enabled' });
    }
  }, whenMapping);
}

const postgres = requiredWhenEnabled(
  z.strictObject({
    enabled: bool,
    db: nonEmpty.optional(),
    host: nonEmpty.optional(),
    port: port.optional(),
    username: nonEmpty.optional(),
    password: z.string().optional(),
    /** A PgBouncer (pool_mode = transaction) in front of the same server, with the same db and login. */
    pooler: z.strictObject({ host: nonEmpty, port: port.optional() }).optional(),
  }),
  'db',
  'host',
  'username',
);

const database = z.strictObject({
  postgres: postgres.nullish(),
  embedded: z.strictObject({ data_dir: nonEmpty.optional(), port: port.optional() }).nullish(),
});

const s3 = requiredWhenEnabled(
  z.strictObject({
    enabled: bool,
    bucket: nonEmpty.optional(),
    region: nonEmpty.optional(),
    endpoint: httpUrl.optional(),
    force_path_style: bool.optional(),
    access_key_id: z.string().optional(),
    secret_access_key: z.string().optional(),
  }),
  'bucket',
);

const gcs = requiredWhenEnabled(
  z.strictObject({
    enabled: bool,
    bucket: nonEmpty.optional(),
    service_account: serviceAccount.optional(),
    project_id: nonEmpty.optional(),
    api_endpoint: httpUrl.optional(),
  }),
  'bucket',
);

const local = requiredWhenEnabled(z.strictObject({ enabled: bool, path: nonEmpty.optional() }), 'path');

export const STORAGE_BACKENDS = ['s3', 'gcs', 'local'] as const;

function joinNames(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

const storage = z.strictObject({ s3: s3.nullish(), gcs: gcs.nullish(), local: local.nullish() }).superRefine((value, ctx) => {
  const sections = value as Record<string, unknown>;
  const configured = STORAGE_BACKENDS.filter((name) => isMapping(sections[name]));
  if (configured.length === 0) return; // nothing configured → local default
  const flags = configured.map((name) => (sections[name] as { enabled?: unknown }).enabled);
  if (flags.some((flag) => typeof flag !== 'boolean')) return; // already reported on the backend
  const enabled = configured.filter((_, i) => flags[i] === true);
  if (enabled.length !== 1) {
    ctx.addIssue({ code: 'custom', message: `exactly one backend must be enabled, found ${joinNames(enabled)}` });
  }
}, whenMapping);

export const EXECUTORS = ['container', 'process', 'kubernetes'] as const;

/** A Kubernetes namespace name (RFC 1123 label). */
const namespace = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
  error: (issue) => `must be a Kubernetes namespace name (a DNS label), got ${describeValue(issue.input)}`,
});

const kubernetes = z
  .strictObject({
    namespace: namespace.optional(),
    in_cluster: bool.optional(),
    kubeconfig: nonEmpty.optional(),
    helper_image: nonEmpty.optional(),
    api_url: httpUrl.optional(),
    ttl_seconds_after_finished: z.int().min(0, 'must be 0 or more').optional(),
  })
  .superRefine((value, ctx) => {
    const fields = value as Record<string, unknown>;
    const inCluster = fields.in_cluster === true;
    const hasFile = typeof fields.kubeconfig === 'string';
    if (inCluster && hasFile) ctx.addIssue({ code: 'custom', message: 'set either in_cluster: true or kubeconfig, not both' });
    if (!inCluster && fields.kubeconfig === undefined) ctx.addIssue({ code: 'custom', message: 'set in_cluster: true or kubeconfig: FILE' });
    if (fields.helper_image === undefined) ctx.addIssue({ code: 'custom', path: ['helper_image'], message: 'required' });
  }, whenMapping);

const scheduler = z
  .strictObject({
    executor: z.enum(EXECUTORS, { error: (issue) => `expected one of ${EXECUTORS.join(', ')}, got ${describeValue(issue.input)}` }).optional(),
    kubernetes: kubernetes.nullish(),
    container: z
      .strictObject({
        pull_policy: z.enum(PULL_POLICIES, { error: (issue) => `expected one of ${PULL_POLICIES.join(', ')}, got ${describeValue(issue.input)}` }).optional(),
        allow_privileged: bool.optional(),
      })
      .nullish(),
  })
  .superRefine((value, ctx) => {
    const fields = value as Record<string, unknown>;
    if (fields.executor === 'kubernetes' && !isMapping(fields.kubernetes)) {
      ctx.addIssue({ code: 'custom', path: ['kubernetes'], message: 'required when executor is kubernetes' });
    }
  }, whenMapping);

const seconds = (max: number) =>
  z.unknown().transform((value, ctx): number => {
    if (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= max) return value;
    ctx.addIssue({ code: 'custom', message: `expected a number of seconds above 0 and at most ${max}, got ${describeValue(value)}` });
    return z.NEVER;
  });

const ha = z.strictObject({ lease_seconds: seconds(3600).optional(), shutdown_grace_seconds: seconds(86_400).optional() });

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };
/** Consumers mark themselves alive every minute; a retention near that would drop live ones. */
export const MIN_EVENT_RETENTION_SECONDS = 600;
const MAX_EVENT_RETENTION_SECONDS = 365 * 86_400;

/** `90s`, `30m`, `24h`, `7d`, or a whole number of seconds → seconds. */
const retention = z.unknown().transform((value, ctx): number => {
  const match = typeof value === 'string' ? /^\s*(\d+)\s*([smhd])\s*$/.exec(value) : null;
  const seconds = match ? Number(match[1]) * DURATION_UNITS[match[2]] : Number.isInteger(value) ? (value as number) : NaN;
  if (Number.isNaN(seconds)) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 30m, 24h or 7d (or whole seconds), got ${describeValue(value)}` });
    return z.NEVER;
  }
  if (seconds < MIN_EVENT_RETENTION_SECONDS || seconds > MAX_EVENT_RETENTION_SECONDS) {
    ctx.addIssue({ code: 'custom', message: `must be between 10m and 365d, got ${describeValue(value)}` });
    return z.NEVER;
  }
  return seconds;
});

const events = z.strictObject({ retention: retention.optional() });

/** A file for the registry token signing key: its certificate goes next to it as `.crt`, so it must not be one itself. */
const signingKeyFile = z.string().superRefine((value, ctx) => {
  const problem =
    value.trim() === '' ? 'must not be empty'
    : value.endsWith('/') ? 'expected a file (the PEM private key), not a folder'
    : value.endsWith('.crt') ? 'must not end in .crt (the certificate is written next to the key as <name>.crt)'
    : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem}, got ${describeValue(value)}` });
});

/** An IP address to listen on: IPv4 or IPv6, e.g. `0.0.0.0`, `127.0.0.1`, `::`. */
const bindAddress = z.string().superRefine((value, ctx) => {
  if (isIP(value) === 0) ctx.addIssue({ code: 'custom', message: `expected an IP address to listen on (0.0.0.0 for every interface), got ${describeValue(value)}` });
});

/** A user as the OpenID provider names them (an email, a login): no spaces or control characters. */
const username = z.string().regex(USERNAME_PATTERN, { error: (issue) => `expected a username (no spaces, at most 200 characters), got ${describeValue(issue.input)}` });

/** A file for a private key (PEM). */
const privateKeyFile = z.string().superRefine((value, ctx) => {
  const problem = value.trim() === '' ? 'must not be empty' : value.endsWith('/') ? 'expected a file (the PEM private key), not a folder' : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem}, got ${describeValue(value)}` });
});

export const rawInstallConfigSchema = z.strictObject({
  host: host,
  api: z.strictObject({ port: port.optional(), bind: bindAddress.optional() }).nullish(),
  cluster: z.strictObject({ name: clusterName.optional(), labels: labels.optional(), projects: projects.optional() }).nullish(),
  database: database.nullish(),
  storage: storage.nullish(),
  scheduler: scheduler.nullish(),
  ha: ha.nullish(),
  events: events.nullish(),
  registry: z.strictObject({ url: httpUrl.optional(), port: port.optional(), signing_key: signingKeyFile.optional() }).nullish(),
  auth: z
    .strictObject({
      signing_key: privateKeyFile.optional(),
      admins: z.array(username).optional(),
      oidc: z
        .strictObject({
          issuer: httpUrl,
          client_id: z.string().min(1, 'must not be empty'),
          client_secret_file: privateKeyFile.optional(),
          username_claim: z.string().min(1, 'must not be empty').optional(),
          scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected a scope (no spaces or quotes)')).min(1).optional(),
        })
        .optional(),
    })
    .nullish(),
  archives: z.strictObject({ max_entries: positiveInteger.optional(), max_unpacked_bytes: positiveInteger.optional() }).nullish(),
  timeouts: z.strictObject({ transfer_idle: positiveInteger.optional(), api_idle: positiveInteger.optional() }).nullish(),
});

export type RawInstallConfig = z.output<typeof rawInstallConfigSchema>;

/** Fields whose values must never be echoed back in error messages. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'password',
  'access_key_id',
  'secret_access_key',
  'service_account',
]);
