import { CanActivate, ExecutionContext, Injectable, SetMetadata, UnsupportedMediaTypeException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';

const TAR_BODY = 'infrabox:tar-body';

/** The handler's body is a tar stream (read from the request itself), not JSON. */
export const TarBody = () => SetMetadata(TAR_BODY, true);

const JSON_TYPES = ['application/json'];
/** A tar body may also come without a content type (`curl -T`). */
const TAR_TYPES = ['application/x-tar', 'application/octet-stream', ''];

/**
 * Refuses a request body of a content type the route does not read (415), before anything
 * else looks at the request: JSON for every route unless `@TarBody()` says tar. A body the
 * route would not read must not pass as an empty one (a form posted to a JSON route, JSON
 * put where a tar goes).
 */
@Injectable()
export class ContentTypeGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<Request>();
    if (!hasBody(request)) return true;
    const tar = this.reflector.getAllAndOverride<boolean | undefined>(TAR_BODY, [context.getHandler(), context.getClass()]) === true;
    const given = request.headers['content-type'] ?? '';
    const mediaType = given.split(';')[0].trim().toLowerCase();
    const accepted = tar ? TAR_TYPES : JSON_TYPES;
    if (accepted.includes(mediaType)) return true;
    const shown = given === '' ? 'none' : JSON.stringify(given.length > 60 ? `${given.slice(0, 57)}...` : given);
    throw new UnsupportedMediaTypeException(`content-type: expected ${accepted.filter(Boolean).join(' or ')}, got ${shown}`);
  }
}

function hasBody(request: Request): boolean {
  if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(request.method)) return false;
  if (request.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(request.headers['content-length'] ?? 0);
  return !(length === 0);
}
