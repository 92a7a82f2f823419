/**
 * The answer of the registry token route (Docker registry token authentication): `token` and
 * `access_token` are the same JWT (older clients read the first, OAuth2 ones the second).
 */
export interface RegistryTokenDto {
  token: string;
  access_token: string;
  /** Seconds the token is valid for. */
  expires_in: number;
  /** RFC 3339 time the token was issued at. */
  issued_at: string;
}
