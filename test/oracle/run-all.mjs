// Replays every kernel oracle file of test/oracle/data (gzip-compressed JSONL) against the
// engine (dist/engine.js, built by `npm run build`) through one replay script
// per kernel unit, prints each script's last line, and fails if any failed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const oracles = path.join(root, 'test', 'oracle', 'data');

/** Oracle folder under test/oracle/data -> replay script under test/oracle. */
const SUITES = [
  { dir: 'iova', script: 'replay-iova.mjs' },
  { dir: 'swiotlb', script: 'replay-swiotlb.mjs' },
  { dir: 'io-pgtable-arm', script: 'replay-pgtable.mjs' },
];

/** A replay that runs longer than this is a failure (the biggest file replays in seconds). */
const TIMEOUT_MS = 5 * 60 * 1000;

function lastLine(text) {
  const lines = text.split('\n').map((l) => l.trimEnd()).filter((l) => l.length > 0);
  return lines.length > 0 ? lines[lines.length - 1] : '';
}

if (!existsSync(oracles)) {
  console.error(`oracle: ${path.relative(root, oracles)} is missing`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

let passed = 0;
let failed = 0;
function report(ok, name, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${detail}`);
}

for (const { dir, script } of SUITES) {
  const folder = path.join(oracles, dir);
  const files = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.jsonl') || f.endsWith('.jsonl.gz')).sort() : [];
  if (files.length === 0) {
    report(false, dir, `no .jsonl(.gz) oracle files in ${path.relative(root, folder)}`);
    continue;
  }
  const scriptPath = path.join(root, 'test', 'oracle', script);
  for (const file of files) {
    const name = `${dir}/${file}`;
    if (!existsSync(scriptPath)) {
      report(false, name, `replay script test/oracle/${script} does not exist yet`);
      continue;
    }
    const oracleFile = path.relative(root, path.join(folder, file));
    const r = spawnSync(process.execPath, [scriptPath, oracleFile], {
      cwd: root,
      encoding: 'utf8',
      timeout: TIMEOUT_MS,
      maxBuffer: 256 * 1024 * 1024,
    });
    const out = lastLine(r.stdout ?? '');
    if (r.error) {
      report(false, name, `${r.error.message}${out ? ` (last line: ${out})` : ''}`);
    } else if (r.status !== 0) {
      const why = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
      const err = lastLine(r.stderr ?? '');
      report(false, name, `${why}: ${out || err || '(no output)'}${out && err ? ` | stderr: ${err}` : ''}`);
    } else {
      report(true, name, out || '(no output)');
    }
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
