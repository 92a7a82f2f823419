export interface AppArguments {
  configFile?: string;
  /** Set when --help was asked for: the text to print. */
  help?: string;
}

export function parseAppArguments(app: string, argv: string[]): AppArguments {
  const result: AppArguments = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      result.help = usage(app);
    } else if (arg === '--config' || arg === '-c') {
      result.configFile = argv[++i];
      if (!result.configFile) throw new Error(`${arg} needs a file name`);
    } else if (arg.startsWith('--config=')) {
      result.configFile = arg.slice('--config='.length);
    } else {
      throw new Error(`unknown argument '${arg}' (try --help)`);
    }
  }
  return result;
}

function usage(app: string): string {
  return `Usage: infrabox-${app} [--config FILE]

Runs the ${app} app of one InfraBox installation (cluster).

Options:
  -c, --config FILE  install configuration (YAML); default: $INFRABOX_CONFIG, else none
  -h, --help         show this help

With no configuration the app uses an embedded PostgreSQL (started or joined under
.infrabox/postgres) and local storage under .infrabox/storage.

Example:
  node dist/apps/${app}/src/main.js --config examples/local/master.yaml
`;
}
