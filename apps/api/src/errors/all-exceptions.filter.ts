import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';

/** Every error leaves as JSON; unknown ones as 500 with an id to find the stack trace in the log. */
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
    const errorId = randomUUID();
    this.logger.error(`error ${errorId}: ${(exception as Error)?.stack ?? String(exception)}`);
    response.status(500).json({ statusCode: 500, message: 'internal error', errorId });
  }
}
