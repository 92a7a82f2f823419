import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface DashboardAsset {
  contentType: string;
  body: Buffer;
}

/** The dashboard's static files (copied next to the compiled code by `npm run build`). */
export const DASHBOARD_STATIC_DIR = path.join(__dirname, 'static');

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
};

/**
 * Reads every file of the dashboard once, at boot: a missing file stops the api with its path,
 * and a request can only ever get one of these files (no path from the URL reaches the disk).
 */
export function loadDashboardAssets(dir = DASHBOARD_STATIC_DIR): ReadonlyMap<string, DashboardAsset> {
  const assets = new Map<string, DashboardAsset>();
  for (const [name, contentType] of Object.entries(FILES)) {
    const file = path.join(dir, name);
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (error) {
      throw new Error(`dashboard file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); was \`npm run build\` run?`);
    }
    assets.set(name, { contentType, body });
  }
  return assets;
}
