// A user's clone has nothing beside it: no file the build, the tests or CI
// read may name a path outside the repository (the project's shared reading
// material, an absolute path of this machine, a folder above the root).

import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './fixtures';

const ROOTS = ['src', 'test', 'scripts', '.ci', 'webview', 'esbuild.mjs', 'package.json', 'eslint.config.mjs', '.mocharc.json'];
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs|json|sh)$|^run$/;
/** Data copied into the repository: prose about where it came from, never read as a path. */
const SKIP_DIRS = new Set(['node_modules', 'fixtures', 'data']);

function files(rel: string): string[] {
  const abs = path.join(REPO_ROOT, rel);
  let st;
  try {
    st = statSync(abs);
  } catch {
    return [];
  }
  if (st.isFile()) return SOURCE.test(path.basename(rel)) ? [rel] : [];
  return readdirSync(abs).flatMap((name) => (SKIP_DIRS.has(name) ? [] : files(path.join(rel, name))));
}

/** Places in a file's text that point outside the repository. */
export function outsidePaths(rel: string, text: string): string[] {
  const found: string[] = [];
  const dir = path.dirname(path.join(REPO_ROOT, rel));
  for (const [i, line] of text.split('\n').entries()) {
    const where = `${rel}:${i + 1}`;
    if (/(^|[^.\w])\.\.\/shared\b|['"`]shared['"`]\s*[,)]/.test(line)) found.push(`${where}: ../shared`);
    if (/['"`]\/(work|home|root|tmp\/[^'"`]*shared)\//.test(line)) found.push(`${where}: absolute path`);
    // Relative paths in strings and imports must resolve inside the repository.
    for (const m of line.matchAll(/['"`](\.\.\/[^'"`\s$]*)['"`]/g)) {
      const target = path.resolve(dir, m[1]);
      if (!target.startsWith(REPO_ROOT + path.sep) && target !== REPO_ROOT) found.push(`${where}: ${m[1]}`);
    }
    // path.resolve(root, '..', ...) and friends climbing above the root.
    if (/\b(root|ROOT|repoRoot|REPO_ROOT)\b\s*,\s*['"`]\.\.['"`]/.test(line)) found.push(`${where}: climbs above the repository root`);
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
    assert.ok(outsidePaths('test/unit/x.test.ts', "const d = path.resolve(__dirname, '../../../shared/scenarios');").length > 0);
    assert.ok(outsidePaths('test/oracle/run-all.mjs', "const shared = path.resolve(root, '..', 'shared');").length > 0);
    assert.ok(outsidePaths('scripts/a.mjs', "readFileSync('/work/shared/reference/x.md')").length > 0);
    assert.deepEqual(outsidePaths('src/lang/run.ts', "import { x } from '../engine/machine';"), []);
  });
});
