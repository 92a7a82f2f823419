export interface AppArguments {
  configFile?: string;
  /** HTTP port to listen on instead of the one in the config's `host` (a second replica on one machine). */
  port?: number;
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
    } else if (arg === '--port' || arg.startsWith('--port=')) {
      const value = arg === '--port' ? argv[++i] : arg.slice('--port='.length);
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port needs a port number (0-65535), got '${value ?? ''}'`);
      result.port = port;
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
      --port N       HTTP port; default: the port of the config's \`host\` for the api,
                     an ephemeral port (logged) for the other apps
  -h, --help         show this help

With no configuration the app uses an embedded PostgreSQL (started or joined under
.infrabox/postgres) and local storage under .infrabox/storage.

Example:
  node dist/apps/${app}/src/main.js --config examples/local/master.yaml
`;
}
