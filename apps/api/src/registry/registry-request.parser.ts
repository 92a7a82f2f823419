import { parseRegistryScope } from '@infrabox/auth';

/** One requested scope: `repository:demo/build:pull,push` read into its parts. */
export type RequestedScope = ReturnType<typeof parseRegistryScope>;

/**
 * The token of the `Authorization` header of a registry client: HTTP Basic (any user name, the
 * InfraBox token as the password: what `docker login`, Podman and skopeo send) or Bearer.
 */
export function registryCredentialOf(header: string | string[] | undefined): { ok: true; token: string } | { ok: false; problem: string } {
  if (header === undefined || header === '') return { ok: false, problem: 'missing credentials: log in with any user name and an InfraBox token as the password' };
  if (typeof header !== 'string') return { ok: false, problem: 'malformed Authorization header (give it once)' };
  const match = /^(Basic|Bearer) +(\S+) *$/i.exec(header);
  if (!match) return { ok: false, problem: 'malformed Authorization header (expected "Basic <user:token in base64>" or "Bearer <token>")' };
  if (match[1].toLowerCase() === 'bearer') return { ok: true, token: match[2] };
  const decoded = Buffer.from(match[2], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  return password === '' ? { ok: false, problem: 'malformed Basic credentials: expected user:token, the token as the password' } : { ok: true, token: password };
}

/**
 * The `scope` parameters of a token request: given any number of times, each holding one scope
 * or several separated by spaces (OAuth2 style). Scopes of the same resource are merged, so each
 * appears once in the token. Throws a TypeError naming the first bad one.
 */
export function requestedScopes(value: unknown): RequestedScope[] {
  if (value === undefined) return [];
  const texts = (Array.isArray(value) ? value : [value]).map((item) => {
    if (typeof item !== 'string') throw new TypeError('scope: expected text such as repository:<project>/<name>:pull,push');
    return item;
  });
  const merged = new Map<string, RequestedScope>();
  for (const text of texts.flatMap((t) => t.split(' ')).filter((t) => t !== '')) {
    const scope = parseRegistryScope(text);
    const key = `${scope.type}:${scope.name}`;
    const known = merged.get(key);
    merged.set(key, known ? { ...known, actions: [...new Set([...known.actions, ...scope.actions])] } : scope);
  }
  return [...merged.values()];
}
