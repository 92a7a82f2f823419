import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { NOT_UTF8 } from '../http/http-setup';
import { answerForDomainError } from './domain-errors';

/**
 * Every error leaves as JSON: HTTP exceptions as they are, the libraries' domain errors as
 * `answerForDomainError` maps them, unknown ones as 500 with an id to find the stack trace in the log.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      response.status(exception.getStatus()).json(typeof body === 'string' ? { statusCode: exception.getStatus(), message: body } : body);
      return;
    }
    const domain = answerForDomainError(exception);
    if (domain) {
      if (domain.challenge && !response.getHeader('WWW-Authenticate')) response.setHeader('WWW-Authenticate', domain.challenge);
      response.status(domain.status).json({ statusCode: domain.status, message: domain.message });
      return;
    }
    const clientError = asClientError(exception);
    if (clientError) {
      response.status(clientError.status).json({ statusCode: clientError.status, message: clientError.message });
      return;
    }
    const errorId = randomUUID();
    this.logger.error(`error ${errorId}: ${(exception as Error)?.stack ?? String(exception)}`);
    response.status(500).json({ statusCode: 500, message: 'internal error', errorId });
  }
}

/**
 * Errors raised before a controller runs (express's body parser: malformed JSON, a body over
 * the size limit) carry their own 4xx status and a message meant for the client.
 */
function asClientError(exception: unknown): { status: number; message: string } | null {
  const error = exception as { status?: unknown; expose?: unknown; message?: unknown; type?: unknown } | null;
  if (!error || typeof error.status !== 'number' || error.status < 400 || error.status >= 500 || error.expose !== true) return null;
  // The body parser answers its `verify` refusals with 403; bytes that are not UTF-8 are a bad request.
  if (error.type === NOT_UTF8) return { status: 400, message: 'request body: not valid UTF-8' };
  const messages: Record<string, string> = {
    'entity.parse.failed': 'request body: malformed JSON',
    'entity.too.large': 'request body: too large',
  };
  return { status: error.status, message: messages[String(error.type)] ?? String(error.message) };
}
