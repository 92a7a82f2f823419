import { batchNotifications } from './notify-batch';

describe('batchNotifications', () => {
  const event = (id: number, cluster: string | null, data: unknown) => ({ cluster, message: { id, tx: '7', type: 'job.placed', cluster, data } });

  it('puts each event on its own channel once, in order, every message under 7,000 bytes, and one marker on the every-cluster channel', () => {
    const events = Array.from({ length: 500 }, (_, id) => event(id, id % 3 === 0 ? null : `c${id % 3}`, { jobId: 'j'.repeat(id % 60) }));
    const messages = batchNotifications('job.placed', '7', events);
    for (const m of messages) expect(Buffer.byteLength(m.text)).toBeLessThan(7_000);
    const ids = (channel: string) =>
      messages.filter((m) => m.channel === channel).flatMap((m) => (JSON.parse(m.text) as { batch: Array<{ id: number }> }).batch.map((e) => e.id));
    const all = events.map((e) => e.message.id);
    expect(ids('job_placed')).toEqual(all.filter((id) => id % 3 === 0));
    expect(ids('job_placed@c1')).toEqual(all.filter((id) => id % 3 === 1));
    expect(ids('job_placed@c2')).toEqual(all.filter((id) => id % 3 === 2));
    expect(messages.filter((m) => m.channel === 'job_placed@*').map((m) => JSON.parse(m.text))).toEqual([{ tx: '7', type: 'job.placed', more: true }]);
    expect(messages.length).toBeLessThan(20);
  });

  it('sends an event too big for a batch without its data, by id, and no marker when nothing is scoped', () => {
    const messages = batchNotifications('job.placed', '7', [event(1, null, { blob: 'x'.repeat(3_500) }), event(2, null, { small: true })]);
    expect(messages.map((m) => [m.channel, JSON.parse(m.text)])).toEqual([
      [
        'job_placed',
        {
          batch: [
            { id: 1, tx: '7', type: 'job.placed', cluster: null },
            { id: 2, tx: '7', type: 'job.placed', cluster: null, data: { small: true } },
          ],
        },
      ],
    ]);
  });
});
