import { ExecutionContext, UnsupportedMediaTypeException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ContentTypeGuard, TarBody } from './content-type.guard';

class Routes {
  json(): void {}
  @TarBody()
  tar(): void {}
}

function contextOf(handler: keyof Routes, method: string, headers: Record<string, string>): ExecutionContext {
  return {
    getType: () => 'http',
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => ({ method, headers }) }),
  } as unknown as ExecutionContext;
}

describe('ContentTypeGuard', () => {
  const guard = new ContentTypeGuard(new Reflector());
  const body = (contentType?: string) => ({ 'content-length': '10', ...(contentType === undefined ? {} : { 'content-type': contentType }) });

  it('lets JSON bodies through to JSON routes, and tar bodies to tar routes', () => {
    expect(guard.canActivate(contextOf('json', 'POST', body('application/json; charset=utf-8')))).toBe(true);
    for (const type of ['application/x-tar', 'application/octet-stream', undefined]) {
      expect(guard.canActivate(contextOf('tar', 'PUT', body(type)))).toBe(true);
    }
  });

  it('ignores requests without a body', () => {
    expect(guard.canActivate(contextOf('json', 'POST', { 'content-type': 'text/plain', 'content-length': '0' }))).toBe(true);
    expect(guard.canActivate(contextOf('json', 'GET', body('text/plain')))).toBe(true);
  });

  // Found by the bad-input sweep: a form or text posted to POST .../tokens issued a token (the body
  // was read as empty); JSON put to PUT .../output stored an empty output.
  it.each<[keyof Routes, Record<string, string>, string]>([
    ['json', body('text/plain'), 'content-type: expected application/json, got "text/plain"'],
    ['json', body('application/x-www-form-urlencoded'), 'content-type: expected application/json, got "application/x-www-form-urlencoded"'],
    ['json', body(), 'content-type: expected application/json, got none'],
    ['json', { 'transfer-encoding': 'chunked', 'content-type': 'application/xml' }, 'content-type: expected application/json, got "application/xml"'],
    ['tar', body('application/json'), 'content-type: expected application/x-tar or application/octet-stream, got "application/json"'],
    ['tar', body('multipart/form-data; boundary=x'), 'content-type: expected application/x-tar or application/octet-stream, got "multipart/form-data; boundary=x"'],
  ])('refuses a %s route a body of %j with 415', (handler, headers, message) => {
    const attempt = () => guard.canActivate(contextOf(handler, 'PUT', headers));
    expect(attempt).toThrow(UnsupportedMediaTypeException);
    expect(attempt).toThrow(message);
  });
});
