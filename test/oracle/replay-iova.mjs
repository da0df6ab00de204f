// Replays a kernel IOVA oracle file (one real iova.c call per line, see
// test/oracle/data/iova/README.md) against the engine's
// IovaDomain and compares every returned pfn, src/dest and flush count.
// Usage: node test/oracle/replay-iova.mjs FILE.jsonl[.gz]   (needs dist/engine.js)
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { readLines } from './read-lines.mjs';

const require = createRequire(import.meta.url);
const { IovaDomain } = require('../../dist/engine.js');

const MAX_REPORTED = 50;

const file = process.argv[2];
if (!file) {
  console.error('usage: node test/oracle/replay-iova.mjs FILE.jsonl[.gz]');
  process.exit(2);
}

const lines = await readLines(resolve(process.cwd(), file));
// Same setup as the harness: init_iova_domain(&iovad, 4096, 1), one CPU.
const iovad = new IovaDomain(4096n, 1, 1);

let passed = 0;
let failed = 0;
const fail = (n, rec, what) => {
  failed++;
  if (failed <= MAX_REPORTED) console.log(`line ${n} (i=${rec.i} ${rec.op}): ${what}`);
};

lines.forEach((line, idx) => {
  const n = idx + 1;
  const rec = JSON.parse(line);
  const problems = [];
  if (rec.op === 'alloc') {
    const pfn = iovad.allocIovaFast(rec.size, Number(BigInt(rec.limit_pfn)), rec.flush, 0);
    const want = Number(BigInt(rec.pfn));
    if (pfn !== want) problems.push(`pfn 0x${pfn.toString(16)}, kernel ${rec.pfn}`);
    if (rec.src !== undefined && iovad.lastAllocSource !== rec.src) {
      problems.push(`src ${iovad.lastAllocSource}, kernel ${rec.src}`);
    }
    if (rec.flushed !== undefined) {
      if (!iovad.lastFlushRan) problems.push(`no flush, kernel flushed ${rec.flushed}`);
      else if (iovad.lastFlushed !== rec.flushed) problems.push(`flushed ${iovad.lastFlushed}, kernel ${rec.flushed}`);
    } else if (iovad.lastFlushRan) {
      problems.push(`flushed ${iovad.lastFlushed}, kernel did not flush`);
    }
  } else if (rec.op === 'free') {
    iovad.freeIovaFast(Number(BigInt(rec.pfn)), rec.size, 0);
    if (rec.dest !== undefined && iovad.lastFreeDest !== rec.dest) {
      problems.push(`dest ${iovad.lastFreeDest}, kernel ${rec.dest}`);
    }
  } else {
    problems.push(`unknown op ${JSON.stringify(rec.op)}`);
  }
  if (problems.length === 0) passed++;
  else fail(n, rec, problems.join('; '));
});

if (failed > MAX_REPORTED) console.log(`... ${failed - MAX_REPORTED} more mismatches not shown`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
