import { OnEvent } from './on-event.decorator';
import { BUILD_CREATED, JOB_FINISHED, JOB_INPUTS_READY, JobFinishedEvent, JobInputsReadyEvent } from './event.catalogue';
import { EventRepository } from './event.repository';
import { forCluster } from './event.types';
import { MAX_EVENT_PAYLOAD_BYTES, PgEventClient } from './pg-event.client';

/** An EventRepository that keeps the rows it is given (the client's own logic is under test here). */
function recordingClient() {
  const rows: Array<{ type: string; cluster: string | null; payload: unknown }> = [];
  const repository = {
    insert: async (type: string, cluster: string | null, payload: unknown) => String(rows.push({ type, cluster, payload })),
    insertMany: async (type: string, items: Array<{ cluster: string | null; payload: unknown }>) => items.map((item) => String(rows.push({ type, ...item }))),
  } as unknown as EventRepository;
  return { client: new PgEventClient(repository), rows };
}

const finished: JobFinishedEvent = { jobId: 'j', buildId: 'b', cluster: 'A', state: 'finished', childClusters: [] };

describe('PgEventClient', () => {
  it('writes a cluster-scoped event with its cluster, and an installation-wide one without', async () => {
    const { client, rows } = recordingClient();
    await client.emit(JOB_INPUTS_READY, forCluster('B', { jobId: 'j', cluster: 'B' }));
    await client.emit(JOB_FINISHED, finished);
    expect(rows).toEqual([
      { type: 'job.inputs.ready', cluster: 'B', payload: { jobId: 'j', cluster: 'B' } },
      { type: 'job.finished', cluster: null, payload: finished },
    ]);
  });

  it('refuses an event whose scope is not its type\'s, even past the compiler', async () => {
    const { client, rows } = recordingClient();
    await expect(client.emit(BUILD_CREATED, { buildId: 'b' } as never)).rejects.toThrow("event 'build.created' is scoped to a cluster: emit forCluster(cluster, payload)");
    await expect(client.emit(JOB_FINISHED, forCluster('A', finished) as never)).rejects.toThrow("event 'job.finished' is installation-wide");
    await expect(client.emitBatch(BUILD_CREATED, [{ buildId: 'b' } as never])).rejects.toThrow('scoped to a cluster');
    expect(rows).toEqual([]);
  });

  it('refuses a payload over the NOTIFY budget, naming its size', async () => {
    const { client } = recordingClient();
    const big = { jobId: 'x'.repeat(MAX_EVENT_PAYLOAD_BYTES), seq: 1 };
    await expect(client.emit('job.console', big)).rejects.toThrow(/event 'job.console': payload is \d+ bytes, the limit is 4000/);
  });

  it('is checked by the compiler against the catalogue', () => {
    const { client } = recordingClient();
    const never = () => {
      // @ts-expect-error a cluster-scoped type needs forCluster(...)
      void client.emit(JOB_INPUTS_READY, { jobId: 'j', cluster: 'B' });
      // @ts-expect-error an installation-wide type takes its payload as it is
      void client.emit(JOB_FINISHED, forCluster('A', finished));
      // @ts-expect-error the payload of another type
      void client.emit(JOB_FINISHED, { jobId: 'j', seq: 1 });
      // @ts-expect-error a type outside the catalogue
      void client.emit('job.exploded', {});
      class Handlers {
        @OnEvent(JOB_INPUTS_READY)
        fits(event: JobInputsReadyEvent): void {
          void event;
        }

        // @ts-expect-error a handler of job.finished that expects another payload
        @OnEvent(JOB_FINISHED)
        doesNotFit(event: JobInputsReadyEvent & { seq: number }): void {
          void event;
        }
      }
      return Handlers;
    };
    expect(typeof never).toBe('function');
  });
});
