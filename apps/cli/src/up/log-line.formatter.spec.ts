import { formatLogLine } from './log-line.formatter';

describe('formatLogLine', () => {
  it('shows time, level, context, message and the ids, without app and cluster', () => {
    const line = JSON.stringify({
      level: 'info', time: '2026-11-25T11:02:03.456Z', app: 'scheduler', cluster: 'master', pid: 42, context: 'placement',
      msg: "job 'a' placed", eventId: '17', pattern: 'build.created', buildId: 'b-1', jobId: 'j-1',
    });
    expect(formatLogLine(line)).toBe("11:02:03 INFO  [placement] job 'a' placed  jobId=j-1 buildId=b-1 pattern=build.created eventId=17");
  });

  it('puts an error stack on the lines after', () => {
    const line = JSON.stringify({ level: 'error', time: '2026-11-25T11:02:03.456Z', msg: 'boom', err: { message: 'boom', stack: 'Error: boom\n    at x' } });
    expect(formatLogLine(line)).toBe('11:02:03 ERROR boom\nError: boom\n    at x');
  });

  it('passes anything else through unchanged', () => {
    for (const line of ['2026-11-25 11:02:03 LOG:  database system is ready', '{not json', '{"a":1}', '[1,2]', '']) {
      expect(formatLogLine(line)).toBe(line);
    }
  });
});
