// `expect log "text" [CALL]` and `expect !log "text" [CALL]`.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { parse } from '../../src/lang/parser';

const HEAD = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 1M }
device old : pci "0000:07:00.0" { dma_mask = 32 }
big = phys_buffer(0x1_8000_0000, 2M)
`;

describe('expect log', () => {
  it('parses both forms, with and without a call', () => {
    const p = parse('expect log "a"\nexpect !log "b" f(1)\n').program.body;
    assert.deepEqual(p.map((s) => (s.kind === 'expect' && s.mode === 'log' ? [s.negated, s.text.value, s.call?.callee.text ?? null] : null)), [[false, 'a', null], [true, 'b', 'f']]);
  });

  it('holds for a line the call printed, fails with what was printed instead', () => {
    const r = runScenario(`${HEAD}expect log "swiotlb buffer is full" dma_map_page(old, big, 0, 1M, DMA_TO_DEVICE)
expect log "no such line" dma_map_page(old, big, 0, 4K, DMA_TO_DEVICE)
expect !log "software IO TLB"
`, 'l.dmas');
    assert.deepEqual(r.expectations.map((e) => [e.line, e.passed]), [[4, true], [5, false], [6, false]]);
    assert.match(r.expectations[0].message, /^logged as expected \(line 4\): old 0000:07:00\.0: swiotlb buffer is full \(sz: 1048576 bytes\)/);
    assert.equal(r.expectations[1].message, 'expected a kernel log line containing "no such line"; the call printed nothing');
    assert.equal(r.expectations[2].message, 'expected no log line containing "software IO TLB", but the kernel log has: software IO TLB: mapped [mem 0x00000000fff00000-0x0000000100000000] (1MB)');
  });
});
