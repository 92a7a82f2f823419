import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import {
  describeValue,
  InstallConfig,
  LOG_LEVELS,
  LogLevel,
  RawInstallConfig,
  rawInstallConfigSchema,
  SECRET_FIELDS,
  StorageConfig,
  DatabaseConfig,
  SchedulerConfig,
  DEFAULT_CONTAINER_EXECUTOR,
  DEFAULT_HA,
  REGISTRY_PORT_OFFSET,
  RegistryConfig,
  defaultRegistrySigningKey,
  defaultTokenSigningKey,
  MASTER_CLUSTER,
  bindAddressOf,
  DEFAULT_TIMEOUTS,
  AuthConfig,
  DEFAULT_OIDC_SCOPES,
  OIDC_CALLBACK_PATH,
} from './install-config.schema';

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadInstallConfigOptions {
  /** Path to the YAML file; relative paths resolve against `cwd`. Falls back to `env.INFRABOX_CONFIG`. */
  file?: string;
  env?: Env;
  cwd?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid install configuration ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const NO_FILE = '(no file)';
const DEFAULT_HOST = 'http://127.0.0.1:8080';
const DEFAULT_LISTEN_PORT = 8080;
const DEFAULT_POSTGRES_PORT = 5432;
/** PgBouncer's own default. */
const DEFAULT_POOLER_PORT = 6432;
const DEFAULT_EMBEDDED = { dataDir: '.infrabox/postgres', port: 54329 };
const DEFAULT_LOCAL_STORAGE_PATH = '.infrabox/storage';
/** 7 days: long enough for a cluster that is down over a long weekend to catch up on return. */
export const DEFAULT_EVENT_RETENTION_SECONDS = 7 * 86_400;
/** Alias expansions allowed in one file (yaml's default): an install config needs few, if any. */
const MAX_ALIAS_COUNT = 100;

/** Env vars that replace a secret in the YAML, keyed by the YAML path they override. */
const SECRET_OVERRIDES: ReadonlyArray<[envName: string, path: string[]]> = [
  ['INFRABOX_DATABASE_PASSWORD', ['database', 'postgres', 'password']],
  ['INFRABOX_STORAGE_S3_ACCESS_KEY_ID', ['storage', 's3', 'access_key_id']],
  ['INFRABOX_STORAGE_S3_SECRET_ACCESS_KEY', ['storage', 's3', 'secret_access_key']],
  ['INFRABOX_STORAGE_GCS_SERVICE_ACCOUNT', ['storage', 'gcs', 'service_account']],
];

/**
 * Loads the install configuration. This is the only place in the codebase
 * that reads `process.env`.
 */
export function loadInstallConfig(options: LoadInstallConfigOptions = {}): InstallConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? nonEmpty(env.INFRABOX_CONFIG);
  if (file === undefined) return buildConfig({ host: DEFAULT_HOST }, env, cwd, NO_FILE);

  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`(file): cannot read: ${(err as Error).message}`]);
  }
  return parseInstallConfig(text, env, cwd, path);
}

/** Parses and validates YAML text; `sourceName` only appears in error messages. */
export function parseInstallConfig(yamlText: string, env: Env = {}, cwd = process.cwd(), sourceName = '(inline)'): InstallConfig {
  const doc = parseDocument(yamlText);
  const [syntaxError] = doc.errors;
  if (syntaxError) {
    const pos = syntaxError.linePos?.[0];
    const reason = syntaxError.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    throw new ConfigError(sourceName, [`(yaml): syntax error${where}: ${reason}`]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml refuses to expand aliases past the count (a "billion laughs" file); found by the bad-input sweep.
    throw new ConfigError(sourceName, [`(yaml): cannot read the document: ${(error as Error).message.split('\n')[0]}`]);
  }
  // An empty document is an empty mapping, so the message becomes "host: required".
  return buildConfig(raw ?? {}, env, cwd, sourceName);
}

function buildConfig(raw: unknown, env: Env, cwd: string, source: string): InstallConfig {
  const parsed = rawInstallConfigSchema.safeParse(applySecretOverrides(raw, env), { reportInput: true });
  const problems = parsed.success ? [] : parsed.error.issues.flatMap(formatIssue);

  const logLevel = nonEmpty(env.INFRABOX_LOG_LEVEL) ?? 'log';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`INFRABOX_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got ${describeValue(logLevel)}`);
  }
  const databaseUrl = nonEmpty(env.DATABASE_URL);
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) {
    problems.push('DATABASE_URL: expected a postgres:// or postgresql:// URL');
  }
  const poolerUrl = nonEmpty(env.DATABASE_POOLER_URL);
  if (poolerUrl !== undefined && !isPostgresUrl(poolerUrl)) {
    problems.push('DATABASE_POOLER_URL: expected a postgres:// or postgresql:// URL');
  } else if (poolerUrl !== undefined && databaseUrl === undefined) {
    problems.push('DATABASE_POOLER_URL: set DATABASE_URL too (the direct connection that LISTEN, session locks and migrations need)');
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(source, problems);

  const { host, api, cluster, database, storage, scheduler, ha, events, registry, auth, archives, timeouts } = parsed.data;
  const name = cluster?.name ?? MASTER_CLUSTER;
  if (name !== MASTER_CLUSTER && (auth?.oidc !== undefined || auth?.admins !== undefined)) {
    throw new ConfigError(source, [`auth.${auth?.oidc !== undefined ? 'oidc' : 'admins'}: users log in at the master only; leave it out of cluster '${name}' (its api accepts the master's user tokens)`]);
  }
  const listenPort = host.port ?? api?.port ?? DEFAULT_LISTEN_PORT;
  const registryConfig = toRegistry(registry, host.apiUrl, listenPort, registry?.signing_key === undefined ? defaultRegistrySigningKey(name, cwd) : resolve(cwd, registry.signing_key));
  if (typeof registryConfig === 'string') throw new ConfigError(source, [registryConfig]);
  return deepFreeze<InstallConfig>({
    apiUrl: host.apiUrl,
    listenPort,
    bindAddress: bindAddressOf({ apiUrl: host.apiUrl, bindAddress: api?.bind }),
    cluster: { name, labels: cluster?.labels ?? [], isMaster: name === MASTER_CLUSTER, ...(cluster?.projects ? { projects: cluster.projects } : {}) },
    database: databaseUrl ? { kind: 'postgres', url: databaseUrl, ...(poolerUrl ? { poolerUrl } : {}) } : toDatabase(database, cwd),
    storage: toStorage(storage, cwd),
    ha: {
      leaseMs: ha?.lease_seconds === undefined ? DEFAULT_HA.leaseMs : Math.round(ha.lease_seconds * 1000),
      shutdownGraceMs: ha?.shutdown_grace_seconds === undefined ? DEFAULT_HA.shutdownGraceMs : Math.round(ha.shutdown_grace_seconds * 1000),
    },
    logLevel: logLevel as LogLevel,
    scheduler: toScheduler(scheduler, host.apiUrl, cwd),
    events: { retentionSeconds: events?.retention ?? DEFAULT_EVENT_RETENTION_SECONDS },
    registry: registryConfig,
    auth: toAuth(auth, name, host.apiUrl, cwd),
    timeouts: {
      transferIdleMs: timeouts?.transfer_idle === undefined ? DEFAULT_TIMEOUTS.transferIdleMs : timeouts.transfer_idle * 1000,
      apiIdleMs: timeouts?.api_idle === undefined ? DEFAULT_TIMEOUTS.apiIdleMs : timeouts.api_idle * 1000,
    },
    archives: {
      ...(archives?.max_entries === undefined ? {} : { maxEntries: archives.max_entries }),
      ...(archives?.max_unpacked_bytes === undefined ? {} : { maxUnpackedBytes: archives.max_unpacked_bytes }),
    },
  });
}

/** `auth:` → the signing key file, and on the master the admins and the OpenID provider. */
function toAuth(auth: RawInstallConfig['auth'], cluster: string, apiUrl: string, cwd: string): AuthConfig {
  const oidc = auth?.oidc;
  return {
    signingKey: auth?.signing_key === undefined ? defaultTokenSigningKey(cluster, cwd) : resolve(cwd, auth.signing_key),
    ...(auth?.admins ? { admins: [...new Set(auth.admins)] } : {}),
    ...(oidc
      ? {
          oidc: {
            issuer: oidc.issuer.replace(/\/+$/, ''),
            clientId: oidc.client_id,
            ...(oidc.client_secret_file === undefined ? {} : { clientSecretFile: resolve(cwd, oidc.client_secret_file) }),
            usernameClaim: oidc.username_claim ?? 'email',
            scopes: oidc.scopes ?? DEFAULT_OIDC_SCOPES,
            redirectUri: `${apiUrl}${OIDC_CALLBACK_PATH}`,
          },
        }
      : {}),
  };
}

/** `registry:` → url, port and signing key file; a problem line when the default port would not exist. */
function toRegistry(registry: RawInstallConfig['registry'], apiUrl: string, listenPort: number, signingKey: string): RegistryConfig | string {
  const url = registry?.url === undefined ? undefined : new URL(registry.url);
  if (url && (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '')) {
    return `registry.url: must be a scheme, host and optional port only, got ${describeValue(registry!.url)}`;
  }
  const urlPort = url === undefined || url.port === '' ? undefined : Number(url.port);
  const port = registry?.port ?? urlPort ?? listenPort + REGISTRY_PORT_OFFSET;
  if (port > 65535) return `registry.port: the default (api port ${listenPort} + ${REGISTRY_PORT_OFFSET}) is above 65535; set registry.port`;
  if (url) return { url: url.origin, port, signingKey };
  const api = new URL(apiUrl);
  return { url: `${api.protocol}//${api.hostname}:${port}`, port, signingKey };
}

const DEFAULT_KUBERNETES_NAMESPACE = 'default';
const DEFAULT_TTL_SECONDS_AFTER_FINISHED = 600;

function toScheduler(scheduler: RawInstallConfig['scheduler'], apiUrl: string, cwd: string): SchedulerConfig {
  if (scheduler?.executor === 'process') return { executor: 'process' };
  if (scheduler?.executor !== 'kubernetes') {
    const container = {
      pullPolicy: scheduler?.container?.pull_policy ?? DEFAULT_CONTAINER_EXECUTOR.pullPolicy,
      allowPrivileged: scheduler?.container?.allow_privileged ?? DEFAULT_CONTAINER_EXECUTOR.allowPrivileged,
    };
    // No executor named: containers where an engine answers, else local processes (with a warning).
    return { executor: 'container', container, orProcess: scheduler?.executor === undefined };
  }
  // The schema guarantees the section, helper_image and exactly one way to reach the API.
  const k8s = scheduler.kubernetes!;
  return {
    executor: 'kubernetes',
    kubernetes: {
      namespace: k8s.namespace ?? DEFAULT_KUBERNETES_NAMESPACE,
      access: k8s.in_cluster ? { kind: 'in-cluster' } : { kind: 'kubeconfig', path: resolve(cwd, k8s.kubeconfig!) },
      helperImage: k8s.helper_image!,
      apiUrl: (k8s.api_url ?? apiUrl).replace(/\/+$/, ''),
      ttlSecondsAfterFinished: k8s.ttl_seconds_after_finished ?? DEFAULT_TTL_SECONDS_AFTER_FINISHED,
    },
  };
}

function toDatabase(database: RawInstallConfig['database'], cwd: string): DatabaseConfig {
  const pg = database?.postgres;
  if (!pg?.enabled) {
    return {
      kind: 'embedded',
      dataDir: resolve(cwd, database?.embedded?.data_dir ?? DEFAULT_EMBEDDED.dataDir),
      port: database?.embedded?.port ?? DEFAULT_EMBEDDED.port,
    };
  }
  // Presence of db/host/username when enabled is enforced by the schema.
  const credentials = encodeURIComponent(pg.username!) + (pg.password === undefined ? '' : `:${encodeURIComponent(pg.password)}`);
  const urlOf = (server: string, port: number) => `postgres://${credentials}@${bracketed(server)}:${port}/${encodeURIComponent(pg.db!)}`;
  return {
    kind: 'postgres',
    url: urlOf(pg.host!, pg.port ?? DEFAULT_POSTGRES_PORT),
    ...(pg.pooler ? { poolerUrl: urlOf(pg.pooler.host, pg.pooler.port ?? DEFAULT_POOLER_PORT) } : {}),
  };
}

/** An IPv6 address in a URL's authority goes in brackets. */
function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function toStorage(storage: RawInstallConfig['storage'], cwd: string): StorageConfig {
  // The schema guarantees at most one enabled backend and its required fields.
  if (storage?.s3?.enabled) {
    const s3 = storage.s3;
    return {
      kind: 's3',
      bucket: s3.bucket!,
      region: s3.region ?? 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: s3.force_path_style ?? s3.endpoint !== undefined,
      accessKeyId: s3.access_key_id,
      secretAccessKey: s3.secret_access_key,
    };
  }
  if (storage?.gcs?.enabled) {
    const gcs = storage.gcs;
    return {
      kind: 'gcs',
      bucket: gcs.bucket!,
      serviceAccount: gcs.service_account,
      projectId: gcs.project_id,
      apiEndpoint: gcs.api_endpoint,
    };
  }
  return { kind: 'local', path: resolve(cwd, storage?.local?.path ?? DEFAULT_LOCAL_STORAGE_PATH) };
}

/** Writes env secrets into the parsed YAML, but only into sections that exist. */
function applySecretOverrides(raw: unknown, env: Env): unknown {
  let result = raw;
  for (const [envName, path] of SECRET_OVERRIDES) {
    const value = env[envName];
    if (value !== undefined && value !== '') result = setIfParentExists(result, path, value);
  }
  return result;
}

function setIfParentExists(node: unknown, [key, ...rest]: string[], value: string): unknown {
  if (!isMapping(node)) return node;
  if (rest.length === 0) return { ...node, [key]: value };
  if (!isMapping(node[key])) return node;
  return { ...node, [key]: setIfParentExists(node[key], rest, value) };
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  object: 'a mapping',
  array: 'a list',
};

function formatIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown field`);
  }
  const path = formatPath(issue.path);
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return [`${path}: required`];
    const field = issue.path[issue.path.length - 1];
    const secret = typeof field === 'string' && SECRET_FIELDS.has(field);
    const got = secret ? kindOf(issue.input) : describeValue(issue.input);
    return [`${path}: expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${got}`];
  }
  return [`${path}: ${issue.message}`];
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${shortKey(String(key))}`)).join('');
}

function shortKey(key: string): string {
  if (key === '') return '""';
  const short = key.length > 60 ? `${key.slice(0, 57)}...` : key;
  if (/^[\w.-]+$/.test(short)) return short;
  // Quoted, with control characters, blanks and colons escaped: the line stays "field: reason".
  return JSON.stringify(short).replace(/[\s:]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function kindOf(value: unknown): string {
  if (value === null || Array.isArray(value) || typeof value === 'object') return describeValue(value);
  return `a ${typeof value}`;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPostgresUrl(value: string): boolean {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
