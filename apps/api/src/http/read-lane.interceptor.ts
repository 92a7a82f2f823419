import { applyDecorators, CallHandler, ExecutionContext, Injectable, NestInterceptor, UseInterceptors } from '@nestjs/common';
import { Observable } from 'rxjs';
import { Database } from '@infrabox/database';

/**
 * Runs a route in the database's read lane (its own connections): the dashboard's and the CLI's
 * reads can then take at most those, and uploads, transfers and job data never wait behind them.
 */
@Injectable()
export class ReadLaneInterceptor implements NestInterceptor {
  constructor(private readonly db: Database) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return new Observable((subscriber) => this.db.inReadLane(() => next.handle().subscribe(subscriber)));
  }
}

/** `@ReadLane()` on a read route (or a controller of reads). */
export function ReadLane(): MethodDecorator & ClassDecorator {
  return applyDecorators(UseInterceptors(ReadLaneInterceptor));
}
