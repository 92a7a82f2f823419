import { Controller, INestApplication, Injectable } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { InstallConfigModule, parseInstallConfig } from '@infrabox/config';
import { Database, DatabaseModule } from '@infrabox/database';
import { EventsModule, PgEventClient, PgEventContext, PgEventServer } from '@infrabox/events';
import { eventually, uniqueEventType } from '../support/database';

describe('the NestJS transport: @EventPattern handlers and PgEventClient.emitAny', () => {
  const type = uniqueEventType('finished');
  const received: Array<{ data: unknown; eventId: string; cluster: string | null }> = [];

  @Controller()
  class JobFinishedHandler {
    @EventPattern(type)
    onFinished(@Payload() data: unknown, @Ctx() ctx: PgEventContext): void {
      received.push({ data, eventId: ctx.event.id, cluster: ctx.event.cluster });
    }
  }

  @Injectable()
  class JobService {
    constructor(
      private readonly db: Database,
      private readonly events: PgEventClient,
    ) {}

    finish(jobId: string, fail = false): Promise<void> {
      return this.db.transaction(async () => {
        await this.events.emitAny(type, { jobId });
        if (fail) throw new Error('could not store the job state');
      });
    }
  }

  let app: INestApplication;

  beforeAll(async () => {
    const config = parseInstallConfig('host: http://127.0.0.1:1\ncluster:\n  name: worker-1\n', {
      DATABASE_URL: process.env.DATABASE_URL,
    });
    const moduleRef = await Test.createTestingModule({
      imports: [InstallConfigModule.forRoot(config), DatabaseModule, EventsModule.forRoot({ app: 'scheduler' })],
      controllers: [JobFinishedHandler],
      providers: [JobService],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.connectMicroservice({ strategy: app.get(PgEventServer) });
    await app.startAllMicroservices();
    await app.init();
  });
  afterAll(() => app.close());

  it('routes an emitted event to the decorated handler, with its id in the context', async () => {
    await app.get(JobService).finish('job-1');
    await expect(app.get(JobService).finish('job-2', true)).rejects.toThrow('could not store the job state');
    await app.get(JobService).finish('job-3');
    await eventually(() => received.length === 2, 10_000, 'two events');
    expect(received.map((r) => r.data)).toEqual([{ jobId: 'job-1' }, { jobId: 'job-3' }]);
    expect(Number(received[1].eventId)).toBeGreaterThan(Number(received[0].eventId));
    const [position] = await app
      .get(Database)
      .query<{ name: string }>('SELECT name FROM event_consumer WHERE name = $1', [`scheduler:worker-1:${type}`]);
    expect(position).toBeDefined();
  });
});
