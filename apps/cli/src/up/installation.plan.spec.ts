import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planLocalRun } from './installation.plan';

describe('planLocalRun: registry ports', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infrabox-plan-'));
  const config = (file: string, text: string) => {
    writeFileSync(path.join(dir, file), text);
    return path.join(dir, file);
  };
  const problems = (files: string[]) => {
    try {
      planLocalRun(files, { env: {} });
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('refuses two registries on one port, and a registry on an api port', () => {
    const a = config('a.yaml', 'host: http://127.0.0.1:18001\ncluster: {name: a}\nregistry: {port: 19500}\n');
    const b = config('b.yaml', 'host: http://127.0.0.1:18002\ncluster: {name: b}\nregistry: {port: 19500}\n');
    const c = config('c.yaml', 'host: http://127.0.0.1:18003\ncluster: {name: c}\nregistry: {port: 18001}\n');
    expect(problems([a, b])).toContain('use the same registry port 19500; each installation needs its own');
    expect(problems([a, c])).toMatch(/c\.yaml has its registry on port 18001, which .*a\.yaml's api uses; set registry\.port/);
  });

  it('reports the same api port once, not again as the same default registry port', () => {
    const a = config('d.yaml', 'host: http://127.0.0.1:18004\ncluster: {name: d}\n');
    const b = config('e.yaml', 'host: http://127.0.0.1:18004\ncluster: {name: e}\n');
    expect(problems([a, b]).split('\n')).toEqual([expect.stringContaining('use the same api port 18004')]);
  });

  it('accepts distinct ports', () => {
    const a = config('f.yaml', 'host: http://127.0.0.1:18005\ncluster: {name: f}\n');
    const b = config('g.yaml', 'host: http://127.0.0.1:18006\ncluster: {name: g}\n');
    expect(problems([a, b])).toBe('');
  });
});
