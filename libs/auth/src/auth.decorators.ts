import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata, UseGuards } from '@nestjs/common';
import { AUTH_KINDS, AuthGuard, principalOfRequest } from './auth.guard';
import { Principal, PrincipalKind } from './principal.types';

/**
 * Requires a valid token of one of `kinds` on a route (or on every route of a controller):
 * `@Authenticated('job', 'cluster')`. Read the caller with `@CurrentPrincipal()`.
 */
export function Authenticated(...kinds: [PrincipalKind, ...PrincipalKind[]]): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(AUTH_KINDS, kinds), UseGuards(AuthGuard));
}

/** The verified caller of a route marked `@Authenticated(...)`. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = principalOfRequest(context.switchToHttp().getRequest<object>());
  if (!principal) throw new Error('@CurrentPrincipal() on a route without @Authenticated(...)');
  return principal;
});
