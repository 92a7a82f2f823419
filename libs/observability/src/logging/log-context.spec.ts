import { Writable } from 'node:stream';
import pino from 'pino';
import { eventLogFields } from './event-log-context';
import { currentLogFields, withLogFields } from './log-context';

function loggerWithContext(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ base: { app: 'scheduler', cluster: 'master' }, mixin: () => ({ ...currentLogFields() }) }, sink), lines };
}

describe('log context', () => {
  const event = { id: '42', txId: '7', type: 'job.placed', cluster: 'master', payload: { jobId: 'j-1', buildId: 'b-1', cluster: 'master' } };

  it("adds the event's id, pattern, job and build to every line logged while it is handled, across awaits", async () => {
    const { logger, lines } = loggerWithContext();
    await withLogFields(eventLogFields(event), async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      logger.info('placed');
    });
    logger.info('outside');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines[0]).toMatchObject({ app: 'scheduler', cluster: 'master', msg: 'placed', eventId: '42', pattern: 'job.placed', jobId: 'j-1', buildId: 'b-1' });
    expect(lines[1].msg).toBe('outside');
    expect(lines[1]).not.toHaveProperty('eventId');
  });

  it('lets inner fields override outer ones (a transfer of another job started by this event)', () => {
    const fields = withLogFields(eventLogFields(event), () => withLogFields({ jobId: 'parent' }, () => currentLogFields()));
    expect(fields).toEqual({ eventId: '42', pattern: 'job.placed', jobId: 'parent', buildId: 'b-1' });
  });

  it('takes only string ids from the payload', () => {
    expect(eventLogFields({ ...event, payload: { jobId: 5, buildId: null } })).toEqual({ eventId: '42', pattern: 'job.placed' });
    expect(eventLogFields({ ...event, payload: 'text' })).toEqual({ eventId: '42', pattern: 'job.placed' });
  });
});
