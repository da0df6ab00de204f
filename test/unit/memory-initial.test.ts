// Memory before it is written is defined: zero, for the CPU and for a device.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runScenario } from '../../src/lang/run';
import { REPO_ROOT } from './fixtures';

describe('memory before the first write', () => {
  it('reads as zero bytes through the CPU and through a device', () => {
    const r = runScenario(`platform { memory = 0x8000_0000 .. 0x2_0000_0000 }
device d : platform "d0" { coherent = true; dma_mask = 64 }
b = alloc_pages(0)
k = kmalloc(100)
p = phys_buffer(0x1_0000_0000, 4K)
expect cpu_read(b, 0, 4) == hex"00 00 00 00"
expect cpu_read(k, 96, 4) == hex"00 00 00 00"
h = dma_map_page(d, p, 0, 4K, DMA_FROM_DEVICE)
expect dev_read(d, h + 0xffc, 4) == hex"00 00 00 00"
dma_unmap_page(d, h, 4K, DMA_FROM_DEVICE)
`, 'm.dmas');
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
    assert.deepEqual(r.expectations.map((e) => e.passed), [true, true, true]);
  });

  it('is documented', () => {
    assert.match(readFileSync(path.join(REPO_ROOT, 'docs', 'language.md'), 'utf8'), /## Memory before it is written\n\nEmulated RAM that nothing has written reads as zero bytes/);
  });
});
