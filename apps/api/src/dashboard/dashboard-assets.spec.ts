import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DASHBOARD_STATIC_DIR, loadDashboardAssets } from './dashboard-assets';

describe('loadDashboardAssets', () => {
  it('loads the page, its script and its style with their content types', () => {
    const assets = loadDashboardAssets(DASHBOARD_STATIC_DIR);
    expect([...assets.keys()].sort()).toEqual(['dashboard.css', 'dashboard.js', 'index.html']);
    expect(assets.get('index.html')!.contentType).toBe('text/html; charset=utf-8');
    expect(assets.get('dashboard.js')!.body.toString()).toContain('new EventSource(`/api/v1/events/stream?after=now&token=${encodeURIComponent(token())}`)');
  });

  it('names the missing file and the build step', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dashboard-assets-'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html>');
    expect(() => loadDashboardAssets(dir)).toThrow(`dashboard file ${path.join(dir, 'dashboard.css')} cannot be read (ENOENT); was \`npm run build\` run?`);
  });
});
