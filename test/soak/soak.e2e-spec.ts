import { spawn } from 'node:child_process';
import path from 'node:path';
import type { SoakResult } from '../../bench/soak/soak.run';
import { DIST } from '../support/processes';

/** What `soak summary {…}` prints: the soak's result without its examples (bench/soak/soak.ts). */
type SoakSummary = Omit<SoakResult, 'examples'>;

/** The soak (bench/soak) in short: 300 jobs under all four faults, on its own PostgreSQL. */
describe('soak, short version', () => {
  it('loses no job, runs none twice, delivers every input intact and leaves no event unhandled under all four faults', async () => {
    const child = spawn(process.execPath, [path.join(DIST, 'bench/soak/soak.js'), '--jobs', '300', '--stall-seconds', '45'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const lines = stdout.trim().split('\n');
    const last = lines[lines.length - 1];
    const summaryLine = lines.find((line) => line.startsWith('soak summary '));
    if (!summaryLine) throw new Error(`no summary (exit ${code}); stderr:\n${stderr.slice(-4000)}`);
    const summary = JSON.parse(summaryLine.slice('soak summary '.length)) as SoakSummary;

    expect(last).toMatch(/^soak jobs=\d+ lost=\d+ double_runs=\d+ bad_inputs=\d+ unhandled_events=\d+ seconds=\d+$/);
    const faults = stderr.split('\n').filter((line) => /\] (lost|double run|bad input|unhandled|dead letter|crashed|session)/.test(line));
    expect(`${last}\n${faults.join('\n')}`.trim()).toMatch(/^soak jobs=300 lost=0 double_runs=0 bad_inputs=0 unhandled_events=0 seconds=\d+$/);
    expect(code).toBe(0);

    // Each fault happened.
    const victims = Object.keys(summary.chaos.listenerVictims);
    for (const cluster of ['master', 'soak-w1', 'soak-w2', 'soak-w3']) {
      for (const app of ['scheduler', 'output-forwarder']) expect(victims).toContain(`infrabox ${app}@${cluster} listener`);
    }
    // The master api listens while a dashboard's event stream is open (the soak keeps one open).
    expect(victims).toContain('infrabox api event-stream listener');
    expect(summary.eventStream.messages).toBeGreaterThan(0);
    expect(summary.chaos.listenersTerminated).toBeGreaterThan(50);
    expect(summary.chaos.postgresRestarts).toBe(1);
    expect(summary.chaos.workerKilled).toBe('soak-w2');
    expect(summary.chaos.killedPids).toHaveLength(4);
    expect(summary.chaos.workerRestarted).toBe(true);
    expect(summary.chaos.transfersCut).toBeGreaterThanOrEqual(1);
    // And there was cross-cluster work for the cuts to hit.
    expect(summary.crossEdges).toBeGreaterThan(0);
    expect(summary.forwardedCopies).toBeGreaterThan(0);
  }, 240_000);
});
