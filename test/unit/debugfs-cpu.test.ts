// set_cpu, debugfs_read and debugfs_write: checker diagnostics and run-time errors.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { parse } from '../../src/lang/parser';
import { check } from '../../src/lang/checker';

function diags(src: string): string[] {
  return check(parse(src).program).diagnostics.map((d) => `${d.severity} ${d.code}: ${d.message}`);
}

describe('set_cpu and debugfs', () => {
  it('the checker knows the debugfs files and which are read-only', () => {
    assert.deepEqual(diags('x = debugfs_read("dma-api/error_count")\n'), []);
    assert.deepEqual(diags('x = debugfs_read("/sys/kernel/debug/swiotlb/io_tlb_used")\n'), []);
    const bad = diags('x = debugfs_read("dma-api/errors")\n');
    assert.equal(bad.length, 1);
    assert.match(bad[0], /^error out-of-range: no debugfs file "dma-api\/errors"; there are dma-api\/error_count, /);
    assert.deepEqual(diags('x = debugfs_write("dma-api/error_count", 0)\n'), ['warning out-of-range: dma-api/error_count is read-only: the write returns -EINVAL']);
  });

  it('a CPU the platform does not have and an unknown file are run-time errors', () => {
    const r = runScenario('platform { cpus = 2 }\nset_cpu(1)\nset_cpu(2)\np = "dma-api/x"\nv = debugfs_read(p)\n', 'c.dmas');
    const run = r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.line, d.message]);
    assert.deepEqual(run[0], [3, 'cpu 2 does not exist: the platform has 2 CPUs (0..1)']);
    assert.equal(run[1]?.[0], 5);
    assert.match(String(run[1]?.[1]), /^no debugfs file dma-api\/x; there are dma-api\/error_count/);
  });

  it('driver_filter takes the first word, as filter_write() does', () => {
    const r = runScenario('expect debugfs_write("dma-api/driver_filter", "e1000e  extra") == 0\nexpect debugfs_read("dma-api/driver_filter") == "e1000e"\nexpect debugfs_write("dma-api/num_errors", "x") == -EINVAL\n', 'f.dmas');
    assert.deepEqual(r.expectations.map((e) => e.passed), [true, true, true]);
  });
});
