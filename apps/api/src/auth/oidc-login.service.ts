import { readFile } from 'node:fs/promises';
import { BadGatewayException, BadRequestException, HttpException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { jwtVerify, SignJWT } from 'jose';
import { BaseClient, custom, errors, generators, Issuer, TokenSet } from 'openid-client';
import { ClusterKeyService, TOKEN_ALGORITHM, TokenService, USER_TOKEN_TTL_SECONDS } from '@infrabox/auth';
import type { DeviceLoginDto, LoginDto, LoginPendingDto } from '@infrabox/contract';
import { authOf, CurrentCluster, INSTALL_CONFIG, InstallConfig, MASTER_CLUSTER, OidcConfig, USERNAME_PATTERN } from '@infrabox/config';

/** Calls to the provider give up after this long (discovery, token exchange, device polls). */
const PROVIDER_TIMEOUT_MS = 10_000;
/** How long a browser has to come back from the provider. */
const LOGIN_STATE_TTL_SECONDS = 600;
const LOGIN_STATE_AUDIENCE = 'infrabox:login-state';
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628's default poll interval (openid-client does not hand out the provider's). */
const DEVICE_POLL_SECONDS = 5;

custom.setHttpOptionsDefaults({ timeout: PROVIDER_TIMEOUT_MS });

/** What a browser login keeps between leaving for the provider and coming back (in a signed cookie). */
interface LoginState {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
}

/** openid-client validates the ID token of a device grant in its poll loop only; the method is public but not in its types. */
interface IdTokenValidator {
  validateIdToken(tokenSet: TokenSet, nonce: undefined, returnedBy: 'token'): Promise<TokenSet>;
}

/**
 * Users log in through the master's OpenID provider (`auth.oidc`) with `openid-client`: browsers
 * with the authorization-code flow and PKCE (this api is the client; the PKCE verifier, state and
 * nonce ride in a cookie signed with this cluster's key, so any replica finishes the login), the
 * CLI with the device flow (RFC 8628). A verified ID token becomes a user token of this
 * installation, admin when `auth.admins` names the user.
 */
@Injectable()
export class OidcLoginService {
  private readonly oidc: OidcConfig | undefined;
  private readonly admins: ReadonlySet<string>;
  private client: Promise<BaseClient> | undefined;

  constructor(
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    private readonly cluster: CurrentCluster,
    private readonly tokens: TokenService,
    private readonly keys: ClusterKeyService,
  ) {
    const auth = authOf(config);
    this.oidc = auth.oidc;
    this.admins = new Set(auth.admins ?? []);
  }

  /** The provider's issuer, when users log in here. */
  get issuer(): string | undefined {
    return this.oidc?.issuer;
  }

  /** Where to send the browser, and the cookie value that carries the login's checks to the callback. */
  async startBrowserLogin(returnTo: string): Promise<{ url: string; state: string }> {
    const { client, oidc } = await this.configured();
    const state: LoginState = { state: generators.state(), nonce: generators.nonce(), codeVerifier: generators.codeVerifier(), returnTo };
    const url = client.authorizationUrl({
      scope: oidc.scopes.join(' '),
      redirect_uri: oidc.redirectUri,
      code_challenge: generators.codeChallenge(state.codeVerifier),
      code_challenge_method: 'S256',
      state: state.state,
      nonce: state.nonce,
    });
    return { url, state: await this.signState(state) };
  }

  /** Finishes a browser login: the provider's answer (the callback's query) checked against the cookie's state. */
  async finishBrowserLogin(query: Record<string, unknown>, cookie: string | undefined): Promise<LoginDto & { returnTo: string }> {
    const { client, oidc } = await this.configured();
    if (cookie === undefined) throw new BadRequestException('login: no login in progress in this browser (the cookie is missing or expired): start again at /api/v1/auth/login');
    const state = await this.verifyState(cookie);
    const params = client.callbackParams(`${oidc.redirectUri}?${new URLSearchParams(stringEntries(query))}`);
    const tokenSet = await this.provider('the code exchange', () =>
      client.callback(oidc.redirectUri, params, { code_verifier: state.codeVerifier, state: state.state, nonce: state.nonce, response_type: 'code' }),
    );
    return { ...(await this.login(tokenSet, oidc)), returnTo: state.returnTo };
  }

  /** Starts a device login for the CLI. */
  async startDeviceLogin(): Promise<DeviceLoginDto> {
    const { client, oidc } = await this.configured();
    const handle = await this.provider('the device authorization', () => client.deviceAuthorization({ scope: oidc.scopes.join(' ') }));
    return {
      deviceCode: handle.device_code,
      userCode: handle.user_code,
      verificationUri: handle.verification_uri,
      ...(handle.verification_uri_complete ? { verificationUriComplete: handle.verification_uri_complete } : {}),
      expiresInSeconds: handle.expires_in,
      intervalSeconds: DEVICE_POLL_SECONDS,
    };
  }

  /** One poll of a device login: pending until the user confirms the code at the provider. */
  async pollDeviceLogin(deviceCode: string): Promise<LoginDto | LoginPendingDto> {
    const { client, oidc } = await this.configured();
    let tokenSet: TokenSet;
    try {
      tokenSet = await client.grant({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode });
    } catch (error) {
      if (error instanceof errors.OPError && error.error === 'authorization_pending') return { status: 'pending', intervalSeconds: DEVICE_POLL_SECONDS };
      if (error instanceof errors.OPError && error.error === 'slow_down') return { status: 'pending', intervalSeconds: DEVICE_POLL_SECONDS * 2 };
      throw providerError('the device login', error);
    }
    await this.provider('the ID token check', () => (client as unknown as IdTokenValidator).validateIdToken(tokenSet, undefined, 'token'));
    return this.login(tokenSet, oidc);
  }

  private async login(tokenSet: TokenSet, oidc: OidcConfig): Promise<LoginDto> {
    if (tokenSet.id_token === undefined) throw new BadGatewayException('login: the OpenID provider returned no ID token (is the openid scope in auth.oidc.scopes?)');
    const claims = tokenSet.claims();
    const username = claims[oidc.usernameClaim];
    if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) {
      throw new BadRequestException(`login: the ID token's '${oidc.usernameClaim}' claim (auth.oidc.username_claim) is ${typeof username === 'string' ? 'not a username' : 'missing'}`);
    }
    const admin = this.admins.has(username);
    const token = await this.tokens.issueUserToken(username, admin);
    return { token, username, admin, expiresAt: new Date(Date.now() + USER_TOKEN_TTL_SECONDS * 1000).toISOString() };
  }

  /** The provider's client, discovered once (a failed discovery is tried again next time). */
  private async configured(): Promise<{ client: BaseClient; oidc: OidcConfig }> {
    const oidc = this.oidc;
    if (!oidc) {
      throw new NotFoundException(
        this.cluster.name === MASTER_CLUSTER
          ? 'login: no OpenID provider is configured: add auth.oidc to the master\'s config (or use a token: infrabox admin token)'
          : `login: users log in at the master, not at cluster '${this.cluster.name}'`,
      );
    }
    if (!this.client) {
      const loading = this.discover(oidc);
      this.client = loading;
      loading.catch(() => {
        if (this.client === loading) this.client = undefined;
      });
    }
    return { client: await this.client, oidc };
  }

  private async discover(oidc: OidcConfig): Promise<BaseClient> {
    const issuer = await this.provider(`discovery at ${oidc.issuer}`, () => Issuer.discover(oidc.issuer));
    const secret = oidc.clientSecretFile === undefined ? undefined : (await readFile(oidc.clientSecretFile, 'utf8')).trim();
    return new issuer.Client({
      client_id: oidc.clientId,
      ...(secret === undefined ? { token_endpoint_auth_method: 'none' } : { client_secret: secret }),
      redirect_uris: [oidc.redirectUri],
      response_types: ['code'],
    });
  }

  private async provider<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw providerError(what, error);
    }
  }

  private async signState(state: LoginState): Promise<string> {
    const { privateKey } = await this.keys.signingKey();
    return new SignJWT({ ...state })
      .setProtectedHeader({ alg: TOKEN_ALGORITHM })
      .setIssuer(this.cluster.name)
      .setAudience(LOGIN_STATE_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${LOGIN_STATE_TTL_SECONDS}s`)
      .sign(privateKey);
  }

  private async verifyState(cookie: string): Promise<LoginState> {
    const { publicKey } = await this.keys.signingKey();
    try {
      const { payload } = await jwtVerify(cookie, publicKey, { algorithms: [TOKEN_ALGORITHM], audience: LOGIN_STATE_AUDIENCE, issuer: this.cluster.name });
      const { state, nonce, codeVerifier, returnTo } = payload;
      if ([state, nonce, codeVerifier, returnTo].every((value) => typeof value === 'string')) return payload as unknown as LoginState;
    } catch {
      // refused below
    }
    throw new BadRequestException('login: the login cookie is invalid or expired: start again at /api/v1/auth/login');
  }
}

/** The provider said no (OPError) or its answer failed a check (RPError): 400; it could not be reached: 502. */
function providerError(what: string, error: unknown): HttpException {
  if (error instanceof HttpException) return error;
  if (error instanceof errors.OPError) {
    return new BadRequestException(`login: the OpenID provider refused ${what}: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`);
  }
  if (error instanceof errors.RPError) return new BadRequestException(`login: the OpenID provider's answer to ${what} was refused: ${error.message}`);
  return new BadGatewayException(`login: cannot complete ${what} with the OpenID provider: ${(error as Error).message}`);
}

function stringEntries(query: Record<string, unknown>): Array<[string, string]> {
  return Object.entries(query).flatMap(([key, value]) => (typeof value === 'string' ? [[key, value] as [string, string]] : []));
}
