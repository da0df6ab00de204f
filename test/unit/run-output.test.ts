// The run result's documented keys (docs/run-output.md), with real values.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { acceptanceScenario } from './fixtures';

describe('run output', () => {
  it('scenario 07: every dma-debug finding is kept and counted, the log shows the first one as the kernel does', () => {
    const r = runScenario(acceptanceScenario('07-dma-debug.dmas'), '07-dma-debug.dmas');
    assert.equal(r.ok, true);
    // Four errors the scenario expects, and three 'failed to check map error' warnings (err_printk too).
    assert.equal(r.checks.filter((c) => c.id.startsWith('dma-debug')).length, 7);
    assert.deepEqual(r.dmaDebug, { errorCount: 7 });
    const warned = r.log.filter((l) => l.text.startsWith('DMA-API:'));
    assert.deepEqual(warned.map((l) => [l.line, l.text]), [
      [8, 'DMA-API: eth0 0000:02:00.0: device driver frees DMA memory with different size [device address=0x00000000fffff000] [map size=2048 bytes] [unmap size=1024 bytes]'],
    ]);
  });
});
