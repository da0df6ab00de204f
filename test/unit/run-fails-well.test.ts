// Runs that fail well: a run-time error in a loop is reported once with a
// count; after too many different ones the run stops and keeps its results.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { MAX_DISTINCT_RUNTIME_ERRORS } from '../../src/lang/interp/interpreter';

describe('runs that fail well', () => {
  it('reports an error a loop repeats once, with how often it came again', () => {
    // 16 MiB of memory holds four order-10 (4 MiB) blocks: the other 4,996 calls fail.
    const r = runScenario('platform { memory = 0x8000_0000 .. 0x8100_0000; swiotlb = 0 }\nfor i in 0 .. 5000 {\n  b = alloc_pages(10)\n}\nexpect 1 == 1\n', 'l.dmas');
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors.map((e) => [e.line, e.message]), [[3, 'alloc_pages: out of memory (repeated 4,995 times)']]);
    assert.deepEqual(r.expectations.map((e) => e.passed), [true], 'the run went on after the loop');
  });

  it('says "once" for an error that came twice', () => {
    const r = runScenario('platform { memory = 0x8000_0000 .. 0x8100_0000; swiotlb = 0 }\nfor i in 0 .. 6 {\n  b = alloc_pages(10)\n}\n', 'o.dmas');
    assert.deepEqual(r.diagnostics.map((d) => d.message), ['alloc_pages: out of memory (repeated once)']);
  });

  it('runs a 1,000,000-iteration allocation loop that runs out of memory in bounded time and memory', () => {
    // The case: this used to print 998,484 errors in 31 s and 728 MB.
    // CPU time of this process, not wall time: the suite shares the machine.
    const heapBefore = process.memoryUsage().heapUsed;
    const cpu0 = process.cpuUsage();
    const r = runScenario('platform { memory = 0x8000_0000 .. 0x8100_0000; swiotlb = 0 }\nfor i in 0 .. 1000000 {\n  b = alloc_pages(10)\n}\nexpect b.size == 4M\n', 'm.dmas', { events: 'none' });
    const cpu = process.cpuUsage(cpu0);
    const seconds = (cpu.user + cpu.system) / 1e6;
    const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    assert.deepEqual(r.diagnostics.map((d) => d.message), ['alloc_pages: out of memory (repeated 999,995 times)']);
    assert.deepEqual(r.expectations.map((e) => e.passed), [true], 'the run went on after the loop with its last allocation');
    assert.ok(seconds < 12, `took ${seconds.toFixed(1)} s of CPU (about 6 s here; 14 s when each error captured a JavaScript stack)`);
    assert.ok(grownMb < 200, `heap grew ${grownMb.toFixed(0)} MB`);
  }).timeout(300_000);

  it('stops after too many different errors and keeps what it did', () => {
    const r = runScenario('xs = [1]\nn = 0\nfor i in 1 .. 1000 {\n  n = n + 1\n  y = xs[i]\n}\n', 'd.dmas');
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    assert.equal(errors.length, MAX_DISTINCT_RUNTIME_ERRORS + 1);
    assert.equal(errors[errors.length - 1].message, `the run stopped after ${MAX_DISTINCT_RUNTIME_ERRORS} different run-time errors; what it did until here is kept`);
    assert.equal(r.values.n, `0x${MAX_DISTINCT_RUNTIME_ERRORS.toString(16)}`, 'the loop ran until the limit');
  });
});
