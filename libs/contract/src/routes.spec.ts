import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROUTES } from './routes';

const REPO = path.resolve(__dirname, '../../..');

/** The paths of every controller route (`/api/v1/jobs/:id` as `/api/v1/jobs/P`). */
function controllerPaths(): Set<string> {
  const paths = new Set<string>();
  const files = ['apps/api/src', 'libs/observability/src'].flatMap((dir) =>
    (readdirSync(path.join(REPO, dir), { recursive: true }) as string[]).filter((f) => f.endsWith('.controller.ts')).map((f) => path.join(REPO, dir, f)),
  );
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    const prefix = /@Controller\(\s*(?:'([^']*)')?\s*\)/.exec(source)?.[1] ?? '';
    for (const match of source.matchAll(/@(?:Get|Post|Put|Delete|Sse)\(\s*(?:'([^']*)')?\s*\)/g)) {
      paths.add(`/${[prefix, match[1] ?? ''].filter(Boolean).join('/')}`.replace(/\/+/g, '/').replace(/:\w+/g, 'P'));
    }
  }
  return paths;
}

/** Every route of ROUTES, with `P` for each parameter. */
function contractPaths(node: unknown = ROUTES): string[] {
  if (typeof node === 'string') return [node];
  if (typeof node === 'function') {
    const filled = (node as (...args: string[]) => string)(...Array.from({ length: node.length }, () => 'P'));
    return [filled.split('?')[0]!.replace(/\/(enable|disable)$/, '/P')];
  }
  return Object.values(node as Record<string, unknown>).flatMap((child) => contractPaths(child));
}

describe('ROUTES', () => {
  it("names only routes the api's controllers have", () => {
    const served = new Set([...controllerPaths()].map((p) => p.replace(/\/(enable|disable)$/, '/P')));
    expect(contractPaths().filter((route) => !served.has(route))).toEqual([]);
  });

  it('encodes the parameters it is given', () => {
    expect(ROUTES.projectMembers('a b', 'c/d')).toBe('/api/v1/admin/projects/a%20b/members/c%2Fd');
    expect(ROUTES.builds(new URLSearchParams({ limit: '5' }))).toBe('/api/v1/builds?limit=5');
    expect(ROUTES.builds()).toBe('/api/v1/builds');
  });
});
