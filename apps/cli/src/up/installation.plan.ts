import path from 'node:path';
import { ConfigError, Env, InstallConfig, loadInstallConfig, registryOf } from '@infrabox/config';
import { CliError, EXIT_USAGE } from '../cli-error';
import { displayPath } from '../cli-paths';

/** One installation (cluster) of a local run: its config file and what it says. */
export interface PlannedInstallation {
  /** Absolute path of the YAML file, passed to each app as `--config`. */
  configFile: string;
  config: InstallConfig;
}

export interface SharedPostgresPlan {
  dataDir: string;
  port: number;
}

export interface LocalRunPlan {
  installations: PlannedInstallation[];
  /** Set when at least one installation has no database configured. */
  sharedPostgres?: SharedPostgresPlan;
}

export interface PlanOptions {
  /** `--data-dir`: folder of the shared embedded PostgreSQL (else the configs' `database.embedded.data_dir`). */
  dataDir?: string;
  /** `--db-port`: its port (else the configs' `database.embedded.port`, default 54329). */
  dbPort?: number;
  /** Environment the configs are read with (DATABASE_URL, secrets); default: this process's. */
  env?: Env;
}

/**
 * Loads and checks every config before anything starts: each must be valid, and together they
 * must not use the same cluster name or port. Problems are reported together (exit code 2).
 */
export function planLocalRun(files: readonly string[], options: PlanOptions = {}): LocalRunPlan {
  const problems: string[] = [];
  const installations: PlannedInstallation[] = [];
  for (const file of files) {
    const configFile = path.resolve(file);
    try {
      installations.push({ configFile, config: loadInstallConfig({ file: configFile, env: options.env }) });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new CliError(problems.join('\n'), EXIT_USAGE);

  problems.push(...duplicates(installations, (i) => i.config.cluster.name, (name) => `cluster name '${name}'`));
  problems.push(...duplicates(installations, (i) => String(i.config.listenPort), (port) => `api port ${port}`));
  // The registry's default port follows the api's: a clash of api ports is reported once, as that.
  const apiPortsDiffer = installations.filter((i, index) => installations.findIndex((j) => j.config.listenPort === i.config.listenPort) === index);
  problems.push(...duplicates(apiPortsDiffer, (i) => String(registryOf(i.config).port), (port) => `registry port ${port}`));
  for (const installation of installations) {
    const port = registryOf(installation.config).port;
    const api = installations.find((i) => i.config.listenPort === port);
    if (api) problems.push(`${shown(installation)} has its registry on port ${port}, which ${api === installation ? 'its' : `${shown(api)}'s`} api uses; set registry.port`);
  }

  const sharedPostgres = planSharedPostgres(installations, options, problems);
  if (sharedPostgres !== undefined) {
    const clash = installations.find((i) => i.config.listenPort === sharedPostgres.port || registryOf(i.config).port === sharedPostgres.port);
    if (clash) problems.push(`${shown(clash)} uses port ${sharedPostgres.port}, which the embedded PostgreSQL needs`);
  }
  if (problems.length > 0) throw new CliError(problems.map((p) => `infrabox up: ${p}`).join('\n'), EXIT_USAGE);
  return { installations, sharedPostgres };
}

function planSharedPostgres(
  installations: readonly PlannedInstallation[],
  options: PlanOptions,
  problems: string[],
): SharedPostgresPlan | undefined {
  const embedded = installations.flatMap((i) => (i.config.database.kind === 'embedded' ? [{ installation: i, database: i.config.database }] : []));
  if (embedded.length === 0) return undefined;
  const [first] = embedded;
  const plan = { dataDir: path.resolve(options.dataDir ?? first!.database.dataDir), port: options.dbPort ?? first!.database.port };
  // One server for all: configs that ask for different ones must be overridden explicitly.
  for (const { installation, database } of embedded.slice(1)) {
    if (options.dataDir === undefined && database.dataDir !== first!.database.dataDir) {
      problems.push(`${shown(first!.installation)} and ${shown(installation)} ask for different embedded PostgreSQL folders; choose one with --data-dir`);
    }
    if (options.dbPort === undefined && database.port !== first!.database.port) {
      problems.push(`${shown(first!.installation)} and ${shown(installation)} ask for different embedded PostgreSQL ports; choose one with --db-port`);
    }
  }
  return plan;
}

function duplicates(
  installations: readonly PlannedInstallation[],
  key: (installation: PlannedInstallation) => string,
  describe: (key: string) => string,
): string[] {
  const byKey = new Map<string, PlannedInstallation[]>();
  for (const installation of installations) byKey.set(key(installation), [...(byKey.get(key(installation)) ?? []), installation]);
  return [...byKey]
    .filter(([, group]) => group.length > 1)
    .map(([value, group]) => `${group.map(shown).join(' and ')} use the same ${describe(value)}; each installation needs its own`);
}

function shown(installation: PlannedInstallation): string {
  return displayPath(installation.configFile);
}
