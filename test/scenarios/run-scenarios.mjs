// Runs every acceptance scenario (test/fixtures/scenarios/*.dmas) and every
// example (examples/*.dmas) through the built CLI (`node dist/cli.js run FILE
// --json`) and prints one pass/fail line per file and a total line.
// Acceptance scenarios listed in pending.json wait for features not built yet: they are
// run and reported, but do not fail the run.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const acceptance = path.join(root, 'test', 'fixtures', 'scenarios');
const examples = path.join(root, 'examples');
const TIMEOUT_MS = 60 * 1000;

/** The .dmas files of a folder; a missing or empty folder is a failure, never a silent skip. */
function dmasFiles(dir) {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.dmas')) : [];
  if (files.length === 0) {
    console.log(`FAIL ${path.relative(root, dir)}: no .dmas files`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  return files.sort().map((f) => path.join(dir, f));
}

function readPending() {
  const file = path.join(here, 'pending.json');
  if (!existsSync(file)) return new Set();
  const list = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new Error(`${path.relative(root, file)} must be a JSON list of file names`);
  }
  return new Set(list);
}

/** One line saying why a run failed, from its JSON result. */
function whyFailed(result) {
  const firstErr = result.diagnostics?.find((d) => d.severity === 'error');
  if (firstErr) return `line ${firstErr.line}: ${firstErr.message}`;
  const exp = result.expectations ?? [];
  const failedExp = exp.filter((e) => !e.passed);
  const checks = (result.checks ?? []).filter((c) => !c.expected && c.severity === 'error');
  const faults = (result.faults ?? []).filter((f) => !f.expected);
  const parts = [`${exp.length - failedExp.length}/${exp.length} expectations passed`];
  if (checks.length > 0) parts.push(`${checks.length} error check${checks.length === 1 ? '' : 's'}`);
  if (faults.length > 0) parts.push(`${faults.length} unexpected fault${faults.length === 1 ? '' : 's'}`);
  const first =
    failedExp[0] !== undefined
      ? `line ${failedExp[0].line}: ${failedExp[0].message}`
      : checks[0] !== undefined
        ? `line ${checks[0].line}: ${checks[0].message}`
        : faults[0] !== undefined
          ? `line ${faults[0].line}: fault at ${faults[0].addr}: ${faults[0].reason}`
          : undefined;
  return parts.join(', ') + (first ? `; first: ${first}` : '');
}

/** Runs one file; returns { ok, detail }. */
function runOne(file) {
  const r = spawnSync(process.execPath, [cli, 'run', file, '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.error) return { ok: false, detail: r.error.message };
  if (r.signal) return { ok: false, detail: `killed by ${r.signal}` };
  let result;
  try {
    result = JSON.parse(r.stdout);
  } catch {
    const err = (r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? '';
    return { ok: false, detail: `exit ${r.status}, output is not one JSON object${err ? `: ${err}` : ''}` };
  }
  if (r.status === 0 && result.ok === true) {
    // Guard against vacuous passes (a stub language that evaluates nothing).
    const expectLines = readFileSync(file, 'utf8').split('\n').filter((l) => /^\s*expect\b/.test(l)).length;
    if (expectLines > 0 && (result.expectations ?? []).length === 0) {
      return { ok: false, detail: `exit 0 but no expectation was evaluated (the file has ${expectLines} expect lines)` };
    }
    return { ok: true, detail: '' };
  }
  return { ok: false, detail: `exit ${r.status}: ${whyFailed(result)}` };
}

if (!existsSync(cli)) {
  console.error('scenarios: dist/cli.js is missing; run `npm run build` first');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const pending = readPending();
const files = [
  ...dmasFiles(acceptance).map((f) => ({ file: f, label: `scenarios/${path.basename(f)}` })),
  ...dmasFiles(examples).map((f) => ({ file: f, label: `examples/${path.basename(f)}` })),
];
let passed = 0;
let failed = 0;
let pendingCount = 0;

for (const { file, label } of files) {
  const isPending = label.startsWith('scenarios/') && pending.has(path.basename(file));
  const { ok, detail } = runOne(file);
  if (isPending) {
    pendingCount++;
    console.log(ok ? `PENDING ${label}: pending (now passes: remove from pending.json)` : `PENDING ${label}: pending (fails) ${detail}`);
  } else if (ok) {
    passed++;
    console.log(`PASS ${label}`);
  } else {
    failed++;
    console.log(`FAIL ${label}: ${detail}`);
  }
}

// The command as the README shows it: `npx dmascope ...` from the clone (offline: npm finds the package's own bin).
{
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  const r = spawnSync(npx, ['--offline', 'dmascope', 'run', 'examples/01-streaming-map.dmas'], { cwd: root, encoding: 'utf8', timeout: TIMEOUT_MS });
  const ok = r.status === 0 && /^PASS examples\/01-streaming-map\.dmas/m.test(r.stdout ?? '');
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} npx dmascope run examples/01-streaming-map.dmas${ok ? '' : `: exit ${r.status}: ${(r.stderr || r.stdout || '').trim().split('\n').pop()}`}`);
}

const present = new Set([...dmasFiles(acceptance), ...dmasFiles(examples)].map((f) => path.basename(f)));
for (const name of pending) {
  if (!present.has(name)) console.log(`note: pending.json lists ${name}, which is not in test/fixtures/scenarios or examples`);
}

if (pendingCount > 0) console.log(`${pendingCount} pending (listed in test/scenarios/pending.json, not counted)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
