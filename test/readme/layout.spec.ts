import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** The folders the README's "Layout" table names in its first column. */
function layoutFolders(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Layout\n'), readme.indexOf('\n## ', readme.indexOf('\n## Layout\n') + 1));
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  return rows.flatMap((row) => [...row.split('|')[1].matchAll(/`([^`]+)`/g)].map((match) => match[1].replace(/\/$/, '')));
}

describe("the README's layout table", () => {
  it('names every app, every lib and every top-level folder of code or docs', () => {
    const named = new Set(layoutFolders());
    const folders = [
      ...readdirSync(path.join(ROOT, 'apps')).map((name) => `apps/${name}`),
      ...readdirSync(path.join(ROOT, 'libs')).map((name) => `libs/${name}`),
      'test',
      'bench',
      'deploy',
      'examples',
      'docs',
    ];
    expect(folders.filter((folder) => !named.has(folder))).toEqual([]);
  });

  it('names only folders that exist', () => {
    expect(layoutFolders().filter((folder) => !existsSync(path.join(ROOT, folder)))).toEqual([]);
  });
});
