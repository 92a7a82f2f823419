/** Structure and type checks of one `infrabox.json` document (no cross-job or cross-file rules). */
import {
  DEPENDENCY_CONDITIONS,
  type ClusterRequirement,
  type DependencyCondition,
  type Deployment,
  type EnvironmentValue,
  type JobDependency,
  type JobImageReference,
  type JobType,
  type ParsedJob,
  type Resources,
  type SecretReference,
} from './build-definition.types';
import {
  arrayOf,
  boolean,
  describeValue,
  expected,
  indexPath,
  integer,
  isPlainObject,
  Issues,
  map,
  nonEmptyText,
  object,
  oneOf,
  optional,
  numberAbove,
  propertyPath,
  recordOf,
  required,
  text,
  type ObjectOf,
  type Reader,
} from './readers';

export const JOB_TYPES: readonly JobType[] = ['docker-image', 'docker', 'docker-compose', 'wait', 'workflow'];
export const DEFAULT_TIMEOUT_SECONDS = 3600;
/** The longest `timeout` a job may ask for: 7 days, in seconds (timers hold far less than 2^31 ms). */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** InfraBox requires `resources.limits`; we make `resources` optional and default to 1 CPU / 1024 MiB. */
export const DEFAULT_RESOURCES: Readonly<{ limits: Readonly<Resources['limits']> }> = Object.freeze({
  limits: Object.freeze({ cpu: 1, memory: 1024 }),
});

const JOB_NAME = /^[a-zA-Z0-9_-]{1,200}$/;
/** Kubernetes' rule for environment variable names. */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const jobName: Reader<string> = (value, path, issues) => {
  const name = text(value, path, issues);
  if (name === undefined || JOB_NAME.test(name)) return name;
  issues.add(path, `must match ^[a-zA-Z0-9_-]+$ and be 1 to 200 characters long, got ${describeValue(name)}`);
  return undefined;
};

const conditions: Reader<DependencyCondition[]> = (value, path, issues) => {
  const list = arrayOf(oneOf(DEPENDENCY_CONDITIONS), { nonEmpty: true })(value, path, issues);
  if (list === undefined) return undefined;
  const duplicate = list.findIndex((condition, index) => list.indexOf(condition) !== index);
  if (duplicate < 0) return list;
  issues.add(indexPath(path, duplicate), `Condition '${list[duplicate]}' listed twice`);
  return undefined;
};

const dependencyObject = map(object({ job: required(nonEmptyText), on: required(conditions) }), (d) => ({ job: d.job, on: d.on }));

const dependency: Reader<JobDependency> = (value, path, issues) => {
  if (typeof value === 'string') {
    const job = nonEmptyText(value, path, issues);
    return job === undefined ? undefined : { job, on: ['finished'] };
  }
  if (isPlainObject(value)) return dependencyObject(value, path, issues);
  issues.add(path, expected(`a job name or {"job": ..., "on": [...]}`, value));
  return undefined;
};

/** Like InfraBox, an empty list is refused: leave `depends_on` out instead. */
const dependsOn: Reader<JobDependency[]> = arrayOf(dependency, { nonEmpty: true });

const cluster: Reader<ClusterRequirement> = map(
  object({ selector: required(arrayOf(nonEmptyText, { nonEmpty: true })), prefer: optional(nonEmptyText) }),
  (c) => (c.prefer === undefined ? { selector: c.selector } : { selector: c.selector, prefer: c.prefer }),
);

const secretObject = map(object({ $secret: required(nonEmptyText) }), (s): SecretReference => ({ secret: s.$secret }));

const secretReference: Reader<SecretReference> = (value, path, issues) => {
  if (isPlainObject(value)) return secretObject(value, path, issues);
  issues.add(path, expected('{"$secret": "<name>"}', value));
  return undefined;
};

const vaultReference = map(
  object({
    $vault: required(nonEmptyText),
    $vault_secret_path: required(nonEmptyText),
    $vault_secret_key: required(nonEmptyText),
  }),
  (v) => ({ vault: v.$vault, vaultSecretPath: v.$vault_secret_path, vaultSecretKey: v.$vault_secret_key }),
);

const environmentValue: Reader<EnvironmentValue> = (value, path, issues) => {
  if (typeof value === 'string') return value;
  if (isPlainObject(value) && Object.hasOwn(value, '$secret')) return secretObject(value, path, issues);
  if (isPlainObject(value) && Object.hasOwn(value, '$vault')) return vaultReference(value, path, issues);
  issues.add(path, expected('a string, {"$secret": ...} or {"$vault": ..., "$vault_secret_path": ..., "$vault_secret_key": ...}', value));
  return undefined;
};

/** Longer names are refused before the pattern runs: a regular expression over megabytes can overflow the stack. */
const MAX_ENV_NAME_LENGTH = 1024;

const environment = recordOf(environmentValue, (key) =>
  key.length <= MAX_ENV_NAME_LENGTH && ENV_NAME.test(key)
    ? undefined
    : `invalid environment variable name (letters, digits, '_', '-', '.'; not starting with a digit; at most ${MAX_ENV_NAME_LENGTH} characters)`,
);

/** InfraBox's own floor for limits: it refuses `cpu <= 0.3` and `memory <= 255`. */
export const MIN_CPU_EXCLUSIVE = 0.3;
export const MIN_MEMORY_MIB = 256;

const resources: Reader<Resources> = map(
  object({
    limits: required(
      object({
        cpu: required(numberAbove(MIN_CPU_EXCLUSIVE, "InfraBox's floor, in cores")),
        memory: required(integer(MIN_MEMORY_MIB, "InfraBox's floor, in MiB")),
      }),
    ),
  }),
  (r) => ({ limits: { cpu: r.limits.cpu, memory: r.limits.memory } }),
);

const repository = object({ clone: optional(boolean), submodules: optional(boolean), full_history: optional(boolean) });
const cache = object({ data: optional(boolean), image: optional(boolean) });
const securityContext = object({ privileged: optional(boolean) });

const deployment: Reader<Deployment> = map(
  object({
    type: required(oneOf(['docker-registry'] as const)),
    host: required(nonEmptyText),
    repository: required(nonEmptyText),
    tag: optional(nonEmptyText),
    username: optional(nonEmptyText),
    password: optional(secretReference),
  }),
  (d) => ({
    type: d.type,
    host: d.host,
    repository: d.repository,
    ...(d.tag !== undefined && { tag: d.tag }),
    ...(d.username !== undefined && { username: d.username }),
    ...(d.password !== undefined && { password: d.password }),
  }),
);

const commonFields = {
  type: required(text),
  name: required(jobName),
  depends_on: optional(dependsOn),
  cluster: optional(cluster),
};

const runnableFields = {
  ...commonFields,
  environment: optional(environment),
  resources: optional(resources),
  timeout: optional(integer(1, undefined, { value: MAX_TIMEOUT_SECONDS, why: '7 days, in seconds' })),
  repository: optional(repository),
  cache: optional(cache),
};

const containerFields = {
  ...runnableFields,
  command: optional(arrayOf(text)),
  security_context: optional(securityContext),
  deployments: optional(arrayOf(deployment, { nonEmpty: true })),
};

const imageReference = map(object({ job: required(nonEmptyText) }), (r): JobImageReference => ({ job: r.job }));
/** An image name, or `{"job": "<parent>"}`: the image a `docker` parent built (checked with the graph). */
const image: Reader<string | JobImageReference> = (value, path, issues) =>
  isPlainObject(value) ? imageReference(value, path, issues) : typeof value === 'string' ? nonEmptyText(value, path, issues) : (issues.add(path, expected('an image name or {"job": "<parent>"}', value)), undefined);
const dockerImageJob = object({ ...containerFields, image: required(image), run: optional(boolean) });
const dockerJob = object({
  ...containerFields,
  docker_file: required(nonEmptyText),
  build_context: optional(nonEmptyText),
  build_arguments: optional(recordOf(text)),
  target: optional(nonEmptyText),
  build_only: optional(boolean),
});
const dockerComposeJob = object({ ...runnableFields, docker_compose_file: required(nonEmptyText) });
const waitJob = object(commonFields);
const workflowJob = object({ ...commonFields, infrabox_file: required(nonEmptyText) });

function common(raw: ObjectOf<typeof commonFields>) {
  return { name: raw.name, dependsOn: raw.depends_on ?? [], ...(raw.cluster !== undefined && { cluster: raw.cluster }) };
}

function runnable(raw: ObjectOf<typeof runnableFields>) {
  return {
    ...common(raw),
    environment: raw.environment ?? {},
    resources: raw.resources ?? { limits: { ...DEFAULT_RESOURCES.limits } },
    timeoutSeconds: raw.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    repository: {
      clone: raw.repository?.clone ?? true,
      submodules: raw.repository?.submodules ?? true,
      fullHistory: raw.repository?.full_history ?? false,
    },
    cache: { data: raw.cache?.data ?? true, image: raw.cache?.image ?? false },
  };
}

function container(raw: ObjectOf<typeof containerFields>) {
  return {
    ...runnable(raw),
    ...(raw.command !== undefined && { command: raw.command }),
    securityContext: { privileged: raw.security_context?.privileged ?? false },
    deployments: raw.deployments ?? [],
  };
}

/** One job; dispatches on `type`. Properties are only checked once the type is known. */
const job: Reader<ParsedJob> = (value, path, issues) => {
  if (!isPlainObject(value)) {
    issues.add(path, expected('an object', value));
    return undefined;
  }
  const typePath = propertyPath(path, 'type');
  const type = Object.hasOwn(value, 'type') ? oneOf(JOB_TYPES)(value.type, typePath, issues) : undefined;
  if (type === undefined) {
    if (!Object.hasOwn(value, 'type')) issues.add(typePath, 'required');
    if (Object.hasOwn(value, 'name')) jobName(value.name, propertyPath(path, 'name'), issues);
    else issues.add(propertyPath(path, 'name'), 'required');
    return undefined;
  }
  switch (type) {
    case 'docker-image':
      return map(dockerImageJob, (r) => ({ type, ...container(r), image: r.image, run: r.run ?? true }))(value, path, issues);
    case 'docker':
      return map(dockerJob, (r) => ({
        type,
        ...container(r),
        dockerFile: r.docker_file,
        ...(r.build_context !== undefined && { buildContext: r.build_context }),
        buildArguments: r.build_arguments ?? {},
        ...(r.target !== undefined && { target: r.target }),
        buildOnly: r.build_only ?? true,
      }))(value, path, issues);
    case 'docker-compose':
      return map(dockerComposeJob, (r) => ({ type, ...runnable(r), dockerComposeFile: r.docker_compose_file }))(value, path, issues);
    case 'wait':
      return map(waitJob, (r) => ({ type, ...common(r) }))(value, path, issues);
    case 'workflow':
      return map(workflowJob, (r) => ({ type, ...common(r), infraboxFile: r.infrabox_file }))(value, path, issues);
  }
};

/** What the graph checks need of a job, read leniently so they also work next to structural errors. */
export interface GraphNode {
  index: number;
  name?: string;
  type?: string;
  dependsOn?: JobDependency[];
  /** `image.job` of a docker-image job: the parent whose built image it runs. */
  imageJob?: string;
}

export interface ParsedDocument {
  /** Per index of `jobs`: the job, or undefined when it has errors. */
  jobs: Array<ParsedJob | undefined>;
  nodes: GraphNode[];
}

/** Checks the document's structure; returns undefined when `#jobs` itself is unusable. */
export function parseDocument(value: unknown, issues: Issues): ParsedDocument | undefined {
  if (!isPlainObject(value)) {
    issues.add('#', expected('an object', value));
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key !== 'version' && key !== 'jobs') issues.add(propertyPath('#', key), 'unknown property');
  }
  if (!Object.hasOwn(value, 'version')) {
    issues.add('#version', 'required');
  } else {
    const version = integer(Number.MIN_SAFE_INTEGER)(value.version, '#version', issues);
    if (version !== undefined && version !== 1) issues.add('#version', `must be 1, got ${version}`);
  }
  if (!Object.hasOwn(value, 'jobs')) {
    issues.add('#jobs', 'required');
    return undefined;
  }
  if (!Array.isArray(value.jobs)) {
    issues.add('#jobs', expected('an array', value.jobs));
    return undefined;
  }
  const jobs = value.jobs.map((raw, index) => job(raw, indexPath('#jobs', index), issues));
  const nodes = value.jobs.map((raw, index): GraphNode => {
    const node: GraphNode = { index };
    if (!isPlainObject(raw)) return node;
    if (typeof raw.name === 'string') node.name = raw.name;
    if (typeof raw.type === 'string') node.type = raw.type;
    if (isPlainObject(raw.image) && typeof raw.image.job === 'string') node.imageJob = raw.image.job;
    // Valid entries of an otherwise broken depends_on are still checked against the job names.
    const deps = Object.hasOwn(raw, 'depends_on') ? raw.depends_on : [];
    if (Array.isArray(deps)) node.dependsOn = deps.flatMap((d) => dependency(d, '#', new Issues()) ?? []);
    return node;
  });
  return { jobs, nodes };
}
