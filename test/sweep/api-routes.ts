import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ARTIFACT_KINDS } from '@infrabox/jobs';

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** `/api/v1/projects/:project/builds` */
  path: string;
  /** The controller file, relative to the repository. */
  file: string;
  /** Route kinds accepted by `@Authenticated(...)` on the handler or its class; [] = open. */
  auth: string[];
  /** The body is a tar stream (`@TarBody()`), not JSON. */
  tar: boolean;
}

const REPO = path.resolve(__dirname, '../..');

/**
 * Every POST, PUT and DELETE route of the api, read from its controllers' decorators, so a route added
 * later is swept too without anyone listing it.
 */
export async function discoverWriteRoutes(): Promise<ApiRoute[]> {
  return (await discoverRoutes()).filter((route) => route.method !== 'GET');
}

/** Every GET, POST, PUT and DELETE route of the api (SSE streams left out: they never end). */
export async function discoverRoutes(): Promise<ApiRoute[]> {
  const routes: ApiRoute[] = [];
  for (const file of await controllerFiles(path.join(REPO, 'apps/api/src'))) {
    const source = await readFile(file, 'utf8');
    const controller = /@Controller\(\s*(?:'([^']*)')?\s*\)/.exec(source);
    if (!controller) continue;
    const classAuth = authBefore(source, controller.index, /export class/);
    const prefix = controller[1] ?? '';
    const handler = /@(Get|Post|Put|Delete)\(\s*(?:'([^']*)')?\s*\)/g;
    for (let match = handler.exec(source); match; match = handler.exec(source)) {
      const decorators = decoratorBlock(source, match.index);
      const own = /@Authenticated\(([^)]*)\)/.exec(decorators);
      const auth = own ? kinds(own[1]) : classAuth;
      const full = `/${[prefix, match[2] ?? ''].filter(Boolean).join('/')}`.replace(/\/+/g, '/');
      const tar = /@TarBody\(\)/.test(decorators);
      // A peer route's `:kind` stands for each kind of artifact: each is swept as a route of its own.
      for (const route of full.includes('/:kind/') ? ARTIFACT_KINDS.map((kind) => full.replace('/:kind/', `/${kind}/`)) : [full]) {
        routes.push({ method: match[1].toUpperCase() as ApiRoute['method'], path: route, file: path.relative(REPO, file), auth, tar });
      }
    }
  }
  return routes.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

/** The run of decorator lines (and the comments between them) around position `at`. */
function decoratorBlock(source: string, at: number): string {
  const lines = source.split('\n');
  let line = source.slice(0, at).split('\n').length - 1;
  const isDecorator = (text: string | undefined) => text !== undefined && /^\s*(@|\/\/|\/?\*)/.test(text);
  let first = line;
  while (isDecorator(lines[first - 1])) first--;
  while (isDecorator(lines[line + 1])) line++;
  return lines.slice(first, line + 1).join('\n');
}

function authBefore(source: string, from: number, until: RegExp): string[] {
  const rest = source.slice(from);
  const end = rest.search(until);
  const auth = /@Authenticated\(([^)]*)\)/.exec(rest.slice(0, end < 0 ? undefined : end));
  return auth ? kinds(auth[1]) : [];
}

function kinds(args: string): string[] {
  return [...args.matchAll(/'(\w+)'/g)].map((m) => m[1]);
}

async function controllerFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await controllerFiles(full)));
    else if (entry.name.endsWith('.controller.ts')) files.push(full);
  }
  return files;
}
