#!/usr/bin/env node
// A real OpenID Connect provider (oidc-provider, ESM-only) for the tests, as a process of its own.
// Usage: node oidc-provider.mjs '{"clients":[...],"accounts":{...},"ttl":{...}}' (see
// test/support/oidc-provider.ts). Listens on a free port of 127.0.0.1 and prints one line to stdout,
// {"issuer":"http://127.0.0.1:<port>"}, once it serves; everything else goes to stderr. Stops on
// SIGTERM/SIGINT or when stdin closes (the parent is gone).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

// oidc-provider prints its notices with console.info; stdout carries the ready line only.
console.log = console.info = console.error;

const GRANT_TYPES = ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'];

try {
  const { clients, accounts, ttl } = JSON.parse(process.argv[2] ?? '');
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = createProvider(issuer, clients, accounts, ttl);
  // Static clients are validated on first use; fail here instead, with the offending metadata.
  for (const { client_id } of clients) await provider.Client.find(client_id);
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(new URL(req.url, issuer).pathname);
    if (!match) return callback(req, res);
    interaction(provider, accounts, req, res, match[1], match[2] !== undefined).catch((error) => {
      console.error(`oidc-provider: interaction ${req.method} ${req.url} failed: ${error.stack ?? error}`);
      if (!res.headersSent) send(res, error.statusCode ?? 500, `<p>${escapeHtml(error.message)}</p>`);
    });
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.once('end', stop);
  process.stdin.resume();

  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
} catch (error) {
  console.error(`oidc-provider: failed to start: ${error.stack ?? error}`);
  process.exit(1);
}

/** The provider: given clients, PKCE (S256) for all, device flow, no consent, our interaction pages. */
function createProvider(issuer, clients, accounts, ttl) {
  const provider = new Provider(issuer, {
    clients: clients.map(({ client_id, client_secret, redirect_uris }) => ({
      client_id,
      redirect_uris,
      grant_types: GRANT_TYPES,
      response_types: ['code'],
      ...(client_secret
        ? { client_secret, token_endpoint_auth_method: 'client_secret_basic' }
        : { token_endpoint_auth_method: 'none' }),
    })),
    jwks: { keys: [generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // offline_access also enables the refresh_token grant type that every client is given.
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The ID Token of the code and device flows carries the granted claims (email, name), not only sub.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false }, deviceFlow: { enabled: true } },
    pkce: { required: () => true },
    // Served by interaction() below (the same path as the library default, stated for the router).
    interactions: { url: (_ctx, { uid }) => `/interaction/${uid}` },
    async findAccount(_ctx, accountId) {
      const account = Object.hasOwn(accounts, accountId) ? accounts[accountId] : undefined;
      if (!account) return undefined;
      return {
        accountId,
        claims: () => ({ sub: accountId, email: account.email, email_verified: true, name: account.name }),
      };
    },
    // The documented recipe for first-party clients: no consent prompt, a Grant of what is requested.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
      grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
      await grant.save();
      return grant;
    },
    ...(ttl ? { ttl } : {}),
  });
  provider.on('server_error', (_ctx, error) => console.error(`oidc-provider: server_error: ${error.stack ?? error}`));
  return provider;
}

/** GET /interaction/:uid renders the login form; POST /interaction/:uid/login signs the user in. */
async function interaction(provider, accounts, req, res, uid, isLogin) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, '<p>interaction mismatch</p>');
  if (details.prompt.name === 'consent') return finishConsent(provider, req, res, details);
  if (!isLogin || req.method !== 'POST') return send(res, 200, loginForm(uid));
  const accountId = new URLSearchParams(await readBody(req)).get('login') ?? '';
  if (!Object.hasOwn(accounts, accountId)) return send(res, 200, loginForm(uid, 'unknown user'));
  await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
}

/** Grants what the consent prompt reports missing (loadExistingGrant makes this rare). */
async function finishConsent(provider, req, res, { grantId, session, params, prompt: { details } }) {
  const grant = (grantId && (await provider.Grant.find(grantId)))
    || new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

function loginForm(uid, error) {
  return `<h1>Sign-in</h1>${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
  <input name="login" placeholder="username" autofocus>
  <button type="submit">Sign in</button>
</form>`;
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign-in</title></head><body>${body}</body></html>`);
}

async function readBody(req) {
  let body = '';
  for await (const chunk of req.setEncoding('utf8')) body += chunk;
  return body;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
