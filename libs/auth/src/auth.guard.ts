import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { isAdmin, Principal, PrincipalKind } from './principal.types';
import { TokenService } from './token.service';

/** Metadata key of the principal kinds a route accepts (set by `@Authenticated`). */
export const AUTH_KINDS = 'infrabox:auth-kinds';

interface HttpRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
}

interface HttpResponse {
  setHeader(name: string, value: string): unknown;
}

const principals = new WeakMap<object, Principal>();

/** The principal the guard put on this request; undefined on a route without `@Authenticated`. */
export function principalOfRequest(request: object): Principal | undefined {
  return principals.get(request);
}

/**
 * Authenticates a request by its token, then checks the token's kind against the route's
 * `@Authenticated(...)` kinds. A missing, malformed or invalid token answers 401; a valid token
 * of a kind the route does not accept answers 403. A route that takes `admin` tokens also takes
 * users the master's config names admins.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const kinds = this.reflector.getAllAndOverride<PrincipalKind[] | undefined>(AUTH_KINDS, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!kinds || kinds.length === 0) throw new Error('AuthGuard is used without @Authenticated(...kinds)');
    const http = context.switchToHttp();
    const request = http.getRequest<HttpRequest>();
    const unauthorized = (message: string) => {
      http.getResponse<HttpResponse>().setHeader('WWW-Authenticate', 'Bearer realm="infrabox"');
      return new UnauthorizedException({ statusCode: 401, message });
    };

    const token = tokenOf(request);
    if (!token.ok) throw unauthorized(token.problem);
    // A refused token throws InvalidTokenError: the api's exception filter answers it with 401.
    const principal = await this.tokens.verify(token.value);
    if (!kinds.includes(principal.kind) && !(kinds.includes('admin') && isAdmin(principal))) {
      throw new ForbiddenException({ statusCode: 403, message: `a ${principal.kind} token may not call this route` });
    }
    principals.set(request, principal);
    return true;
  }
}

/**
 * The token of a request: `Authorization: Bearer <token>`, or else the `token` query parameter,
 * which is accepted so that a download link can carry its own (short-lived) token — a link
 * cannot set headers. Query strings end up in access logs and browser history: hand out
 * links with tokens that expire soon. The header wins when both are present.
 */
function tokenOf(request: HttpRequest): { ok: true; value: string } | { ok: false; problem: string } {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = typeof header === 'string' ? /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header) : null;
    return match ? { ok: true, value: match[1] } : { ok: false, problem: 'malformed Authorization header (expected "Bearer <token>")' };
  }
  const query = request.query?.token;
  if (query === undefined || query === '') return { ok: false, problem: 'missing bearer token' };
  if (typeof query !== 'string') return { ok: false, problem: 'malformed token query parameter (give it once)' };
  return { ok: true, value: query };
}
