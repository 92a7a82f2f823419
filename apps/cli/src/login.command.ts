import { Command } from 'commander';
import { type DeviceLoginDto, type LoginConfigDto, type LoginDto, type LoginPendingDto, ROUTES } from '@infrabox/contract';
import { API_OPTION_HELP, apiClientFor, sleep } from './api-options';
import { CliError } from './cli-error';
import type { CliContext } from './cli.context';
import { forgetLogin, saveLogin } from './credentials.store';
import { InfraboxApiClient } from './infrabox-api.client';

/** `infrabox login` (the device flow through the master's OpenID provider), `infrabox logout`, `infrabox whoami`. */
export function registerLoginCommands(program: Command, context: CliContext): void {
  program
    .command('login')
    .description('log in through the installation\'s OpenID provider (device flow) and save the token for this API')
    .option('--api <url>', API_OPTION_HELP)
    .addHelpText(
      'after',
      `
Prints a page and a code: open the page in any browser, log in at the provider, confirm the code.
The token (a working day long) is saved with mode 600 in $INFRABOX_CREDENTIALS, else
$XDG_CONFIG_HOME/infrabox/credentials.json, else ~/.config/infrabox/credentials.json, and sent by
every command that talks to this API unless --token or $INFRABOX_TOKEN says otherwise.

Examples:
  $ infrabox login --api https://infrabox.example.com
  $ infrabox whoami`,
    )
    .action(async (options: { api?: string }) => {
      const client = new InfraboxApiClient(apiClientFor(context, options).baseUrl);
      const login = await deviceLogin(client, context);
      saveLogin(context.env.credentialsFile, client.baseUrl, login);
      context.stdout(`logged in to ${client.baseUrl} as ${login.username}${login.admin ? ' (admin)' : ''} until ${login.expiresAt}; saved in ${context.env.credentialsFile}`);
    });
  program
    .command('logout')
    .description('forget the token `infrabox login` saved for this API')
    .option('--api <url>', API_OPTION_HELP)
    .action((options: { api?: string }) => {
      const api = apiClientFor(context, options).baseUrl;
      context.stdout(forgetLogin(context.env.credentialsFile, api) ? `logged out of ${api}` : `no saved login for ${api}`);
    });
  program
    .command('whoami')
    .description('who the API takes you for (with the token the other commands would send)')
    .option('--api <url>', API_OPTION_HELP)
    .option('--token <token>', 'token to check instead')
    .action(async (options: { api?: string; token?: string }) => {
      const client = apiClientFor(context, options);
      if (!client.hasToken) throw new CliError('no token: run `infrabox login`, or pass --token or set INFRABOX_TOKEN');
      const response = await client.request('GET', ROUTES.auth.whoami);
      if (response.status !== 200) throw client.failure('GET', ROUTES.auth.whoami, response);
      context.stdout(JSON.stringify(response.body));
    });
}

async function deviceLogin(client: InfraboxApiClient, context: CliContext): Promise<LoginDto> {
  const config = await client.request('GET', ROUTES.auth.config);
  if (config.status !== 200) throw client.failure('GET', ROUTES.auth.config, config);
  if ((config.body as LoginConfigDto).login !== 'oidc') {
    throw new CliError(`${client.baseUrl} has no OpenID provider to log in with: use a token (--token or INFRABOX_TOKEN; an admin mints one with \`infrabox admin token\`)`);
  }
  const started = await client.request('POST', ROUTES.auth.device);
  if (started.status !== 200) throw client.failure('POST', ROUTES.auth.device, started);
  const device = started.body as DeviceLoginDto;
  context.stderr(`To log in, open ${device.verificationUriComplete ?? device.verificationUri}`);
  context.stderr(`and confirm the code ${device.userCode} (within ${Math.round(device.expiresInSeconds / 60)} min). Waiting…`);
  const deadline = Date.now() + device.expiresInSeconds * 1000;
  let interval = device.intervalSeconds;
  while (Date.now() < deadline) {
    await sleep(interval * 1000);
    const polled = await client.request('POST', ROUTES.auth.deviceToken, { deviceCode: device.deviceCode });
    if (polled.status === 200) return polled.body as LoginDto;
    if (polled.status !== 202) throw client.failure('POST', ROUTES.auth.deviceToken, polled);
    interval = (polled.body as LoginPendingDto).intervalSeconds;
  }
  throw new CliError(`the code ${device.userCode} expired before it was confirmed: run \`infrabox login\` again`);
}
