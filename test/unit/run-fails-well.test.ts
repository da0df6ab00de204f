// Runs that fail well: a run-time error in a loop is reported once with a
// count; after too many different ones the run stops and keeps its results.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { MAX_DISTINCT_RUNTIME_ERRORS } from '../../src/lang/interp/interpreter';

describe('runs that fail well', () => {
  it('reports an error a loop repeats once, with how often it happened', () => {
    const r = runScenario('platform { memory = 0x8000_0000 .. 0x8100_0000; swiotlb = 0 }\nfor i in 0 .. 5000 {\n  b = alloc_pages(10)\n}\nexpect 1 == 1\n', 'l.dmas');
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /^alloc_pages: out of memory \([\d,]+ times in all\)$/);
    const times = Number(/\(([\d,]+) times/.exec(errors[0].message)?.[1].replace(/,/g, ''));
    assert.ok(times > 4990 && times <= 5000, String(times));
    assert.deepEqual(r.expectations.map((e) => e.passed), [true], 'the run went on after the loop');
  });

  it('stops after too many different errors and keeps what it did', () => {
    const r = runScenario('xs = [1]\nn = 0\nfor i in 1 .. 1000 {\n  n = n + 1\n  y = xs[i]\n}\n', 'd.dmas');
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    assert.equal(errors.length, MAX_DISTINCT_RUNTIME_ERRORS + 1);
    assert.equal(errors[errors.length - 1].message, `the run stopped after ${MAX_DISTINCT_RUNTIME_ERRORS} different run-time errors; what it did until here is kept`);
    assert.equal(r.values.n, `0x${MAX_DISTINCT_RUNTIME_ERRORS.toString(16)}`, 'the loop ran until the limit');
  });
});
