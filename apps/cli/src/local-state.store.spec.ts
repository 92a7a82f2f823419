import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { localStatePath, readLocalState, writeLocalState } from './local-state.store';

describe('local.json (writeLocalState)', () => {
  it('is written with mode 600 whatever the umask, also over a file readable by others, since it holds tokens', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'infrabox-local-state-'));
    const umask = process.umask(0o022);
    try {
      const file = localStatePath(dir);
      writeLocalState(dir, { installations: [], project: 'p', token: 't', adminToken: 'a' });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      writeFileSync(file, '{}', { mode: 0o644 });
      writeLocalState(dir, { installations: [], project: 'p', token: 't2', adminToken: 'a2' });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readLocalState(dir)).toMatchObject({ token: 't2' });
    } finally {
      process.umask(umask);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
