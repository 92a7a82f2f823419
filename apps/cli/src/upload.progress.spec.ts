import { UploadProgress } from './upload.progress';

function output(isTTY: boolean) {
  const writes: string[] = [];
  return { out: { isTTY, write: (text: string) => void writes.push(text) }, writes };
}

describe('UploadProgress', () => {
  it('prints one plain line per tenth crossed when stderr is not a terminal', () => {
    const { out, writes } = output(false);
    const progress = new UploadProgress(1000, out);
    progress.update(50);
    progress.update(250);
    progress.update(260);
    progress.update(1000);
    progress.done();
    expect(writes).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((percent) => `upload ${percent}%\n`));
  });

  it('redraws a bar in place on a terminal and ends it with a newline', () => {
    const { out, writes } = output(true);
    const progress = new UploadProgress(2 * 1024 * 1024, out);
    progress.update(1024 * 1024);
    progress.done();
    expect(writes[0]).toBe(`\rupload [${'#'.repeat(15)}${'-'.repeat(15)}]  50%  1.0/2.0 MiB`);
    expect(writes.at(-2)).toBe(`\rupload [${'#'.repeat(30)}] 100%  2.0/2.0 MiB`);
    expect(writes.at(-1)).toBe('\n');
  });

  it('counts an empty upload as complete', () => {
    const { out, writes } = output(false);
    new UploadProgress(0, out).done();
    expect(writes.at(-1)).toBe('upload 100%\n');
  });
});
