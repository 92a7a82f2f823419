/*
 * The login routes' answers (`/api/v1/auth/...`), shared by the api and the CLI.
 */

/** `GET /api/v1/auth/config`: how users log in here. */
export interface LoginConfigDto {
  /** `oidc`: through the OpenID provider (`/api/v1/auth/login`, `infrabox login`); `token`: with a token only. */
  login: 'oidc' | 'token';
  /** The OpenID provider's issuer, when there is one. */
  issuer?: string;
}

/** `POST /api/v1/auth/device`: what the user confirms at the provider, and what the CLI polls with. */
export interface DeviceLoginDto {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  /** The page with the code filled in, when the provider has one. */
  verificationUriComplete?: string;
  expiresInSeconds: number;
  /** Poll no more often than this. */
  intervalSeconds: number;
}

/** `POST /api/v1/auth/device/token` while the user has not confirmed yet (HTTP 202). */
export interface LoginPendingDto {
  status: 'pending';
  intervalSeconds: number;
}

/** A finished login: a user token of this installation. */
export interface LoginDto {
  token: string;
  username: string;
  admin: boolean;
  expiresAt: string;
}
