import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

/** A client registered at the test provider; confidential when it has a secret. */
export interface OidcTestClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
}

export interface OidcTestProvider {
  /** `http://127.0.0.1:<port>`, also the base of its discovery document. */
  issuer: string;
  stop(): Promise<void>;
}

export interface OidcTestProviderOptions {
  clients: OidcTestClient[];
  /** Users by account id (the `sub`), who sign in with that id as their login. */
  accounts: Record<string, { email: string; name?: string }>;
  /** oidc-provider `ttl` overrides in seconds, e.g. `{ DeviceCode: 60 }`. */
  ttl?: Record<string, number>;
}

const SCRIPT = path.join(__dirname, 'oidc', 'oidc-provider.mjs');
const START_TIMEOUT_MS = 20_000;
const KILL_AFTER_MS = 5_000;
const STDERR_KEPT = 64 * 1024;

/** Starts a real OpenID Connect provider (test/support/oidc/oidc-provider.mjs) in a child process. */
export async function startOidcProvider(options: OidcTestProviderOptions): Promise<OidcTestProvider> {
  const child = spawn(process.execPath, [SCRIPT, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEPT);
  });
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });

  let issuer: string;
  try {
    issuer = await readIssuer(child, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    await closed;
    throw error;
  }
  child.stdout!.resume();

  let stopping = false;
  return {
    issuer,
    async stop() {
      if (child.exitCode !== null && !stopping) {
        throw new Error(`OIDC provider exited on its own (code ${child.exitCode}); stderr:\n${stderr}`);
      }
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Resolves with the issuer of the child's ready line; rejects on exit, error or timeout. */
function readIssuer(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    const finish = (error: Error | undefined, issuer?: string) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('close', onClose);
      child.off('error', onError);
      if (error) reject(error);
      else resolve(issuer!);
    };
    const onData = (chunk: string) => {
      stdout += chunk;
      const end = stdout.indexOf('\n');
      if (end < 0) return;
      const line = stdout.slice(0, end);
      try {
        finish(undefined, (JSON.parse(line) as { issuer: string }).issuer);
      } catch {
        finish(new Error(`OIDC provider printed an unexpected line: ${line}; stderr:\n${stderr()}`));
      }
    };
    const onClose = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(new Error(`OIDC provider exited (${signal ?? code}) before it was ready; stderr:\n${stderr()}`));
    const onError = (error: Error) => finish(new Error(`OIDC provider could not be started: ${error.message}`));
    const timer = setTimeout(
      () => finish(new Error(`OIDC provider was not ready within ${START_TIMEOUT_MS / 1000} s; stderr:\n${stderr()}`)),
      START_TIMEOUT_MS,
    );
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.once('close', onClose);
    child.once('error', onError);
  });
}
