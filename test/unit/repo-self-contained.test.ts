// A user's clone has nothing beside it: no file the build, the tests or CI
// read may name a path outside the repository (the project's shared reading
// material, an absolute path of this machine, a folder above the root).

import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './fixtures';

const ROOTS = ['src', 'test', 'scripts', '.ci', 'webview', 'esbuild.mjs', 'package.json', 'eslint.config.mjs', '.mocharc.json'];
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs|json|sh)$|^run$/;
/** Data copied into the repository (prose about where it came from, never read as a path), and installed packages. */
const SKIP = new Set([path.join('test', 'fixtures'), path.join('test', 'oracle', 'data')]);
const SKIP_NAMES = new Set(['node_modules']);

function files(rel: string): string[] {
  const abs = path.join(REPO_ROOT, rel);
  let st;
  try {
    st = statSync(abs);
  } catch {
    return [];
  }
  if (st.isFile()) return SOURCE.test(path.basename(rel)) ? [rel] : [];
  return readdirSync(abs).flatMap((name) => (SKIP_NAMES.has(name) || SKIP.has(path.join(rel, name)) ? [] : files(path.join(rel, name))));
}

/** Names that hold the repository root in the scripts and tests. */
const ROOT_NAMES = new Set(['root', 'ROOT', 'repoRoot', 'REPO_ROOT']);
/** path.join/resolve(BASE, 'lit', ...): BASE a root name, __dirname, `here` or the module's own folder. */
const PATH_CALL = /path\.(?:join|resolve)\(\s*(__dirname|here|root|ROOT|repoRoot|REPO_ROOT|path\.dirname\(fileURLToPath\(import\.meta\.url\)\))((?:\s*,\s*(?:'[^'$]*'|"[^"$]*"))+)\s*[,)]/g;

/** The folder `__dirname` stands for: src/ is bundled into dist/, anything else runs where it is. */
function moduleDir(rel: string): string {
  const top = rel.split(/[\\/]/)[0];
  return top === 'src' ? path.join(REPO_ROOT, 'dist') : path.dirname(path.join(REPO_ROOT, rel));
}

function inside(target: string): boolean {
  return target === REPO_ROOT || target.startsWith(REPO_ROOT + path.sep);
}

/** Places in a file's text that point outside the repository. */
export function outsidePaths(rel: string, text: string): string[] {
  const found: string[] = [];
  const dir = path.dirname(path.join(REPO_ROOT, rel));
  for (const [i, line] of text.split('\n').entries()) {
    const where = `${rel}:${i + 1}`;
    if (/(^|[^.\w])\.\.\/shared\b|['"`]shared['"`]\s*[,)]/.test(line)) found.push(`${where}: the reading folder beside the repository`);
    if (/['"`](file:\/\/)?\/(work|home)(\/|['"`])|['"`]\/tmp\/[^'"`]*shared/.test(line)) found.push(`${where}: absolute path`);
    // Relative paths in strings and imports must resolve inside the repository.
    for (const m of line.matchAll(/['"`](\.\.\/[^'"`\s$]*)['"`]/g)) {
      if (!inside(path.resolve(dir, m[1]!))) found.push(`${where}: ${m[1]}`);
    }
    // path.join/resolve from a known folder with literal segments: evaluate it.
    for (const m of line.matchAll(PATH_CALL)) {
      const base = ROOT_NAMES.has(m[1]!) ? REPO_ROOT : moduleDir(rel);
      const parts = [...m[2]!.matchAll(/'([^']*)'|"([^"]*)"/g)].map((p) => p[1] ?? p[2] ?? '');
      if (!inside(path.resolve(base, ...parts))) found.push(`${where}: ${m[0]}`);
    }
  }
  return found;
}

describe('the repository stands alone', () => {
  it('finds its own source files', () => {
    assert.ok(files('src').length > 50);
    assert.ok(files('test').length > 20);
  });

  it('no source, test, script or CI file names a path outside the repository', () => {
    // This file quotes the forms it looks for.
    const all = ROOTS.flatMap(files).filter((f) => f !== path.join('test', 'unit', 'repo-self-contained.test.ts'));
    const bad = all.flatMap((rel) => outsidePaths(rel, readFileSync(path.join(REPO_ROOT, rel), 'utf8')));
    assert.deepEqual(bad, []);
  });

  it('the check itself catches the forms that slipped in before', () => {
    // The folder's name is spelled out here only at run time, so this file is not itself a reader of it.
    const dir = ['sh', 'ared'].join('');
    assert.ok(outsidePaths('test/unit/x.test.ts', `const d = path.resolve(__dirname, '../../../${dir}/scenarios');`).length > 0);
    assert.ok(outsidePaths('test/oracle/run-all.mjs', `const s = path.resolve(root, '..', '${dir}');`).length > 0);
    assert.ok(outsidePaths('scripts/a.mjs', `readFileSync('/work/${dir}/reference/x.md')`).length > 0);
    assert.ok(outsidePaths('test/unit/x.test.ts', "const d = path.resolve(__dirname, '..', '..', '..', 'corpus');").length > 0);
    assert.ok(outsidePaths('scripts/a.mjs', "const d = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'x');").length > 0);
    assert.ok(outsidePaths('test/unit/x.test.ts', "import { y } from '../../../other/y';").length > 0);
    assert.ok(outsidePaths('scripts/a.mjs', "const p = path.join('/home', 'me');").length > 0);
  });

  it('lets ordinary paths inside the repository through', () => {
    assert.deepEqual(outsidePaths('src/lang/run.ts', "import { x } from '../engine/machine';"), []);
    assert.deepEqual(outsidePaths('test/unit/x.test.ts', "export const REPO_ROOT = path.resolve(__dirname, '..', '..');"), []);
    assert.deepEqual(outsidePaths('test/unit/x.test.ts', "fs.existsSync(path.join(__dirname, '..', '..', d))"), []);
    assert.deepEqual(outsidePaths('test/scenarios/run.mjs', "const acceptance = path.join(root, 'test', 'fixtures', 'scenarios');"), []);
    // A bundled source file runs from dist/: one level up is the repository root.
    assert.deepEqual(outsidePaths('src/extension/panel.ts', "const media = path.join(__dirname, '..', 'media');"), []);
  });
});
