// Snapshots cost what changed: memory frames and swiotlb slot arrays are
// shared copy-on-write, append-only logs are kept as prefixes, and a long
// run keeps a bounded number of snapshots. Each must leave both sides of a
// clone exactly as they would be with full copies.

import { strict as assert } from 'node:assert';
import { cloneState, markAppendOnly } from '../../src/engine/snapshot';
import { PhysicalMemory } from '../../src/engine/memory/physmem';
import { IoTlbPool } from '../../src/engine/swiotlb/swiotlb-pool';
import { ScenarioTimeline } from '../../src/lang/timeline';
import { Interpreter } from '../../src/lang/interp/interpreter';
import { parse } from '../../src/lang/parser';

const text = (b: Uint8Array): string => Buffer.from(b).toString();

describe('snapshots: copy-on-write and prefixes', () => {
  it('memory: a clone and its original each keep their own writes, in bytes and in 64-bit words', () => {
    const mem = new PhysicalMemory([{ start: 0x8000_0000n, end: 0x9000_0000n }]);
    mem.write(0x8000_0000n, Buffer.from('before'));
    mem.writeU64(0x8000_1000n, 0x1111n);
    const copy = cloneState({ mem }).mem;
    mem.write(0x8000_0000n, Buffer.from('live!!'));
    copy.writeU64(0x8000_1000n, 0x2222n);
    copy.write(0x8000_2000n, Buffer.from('new'));
    assert.equal(text(mem.read(0x8000_0000n, 6)), 'live!!');
    assert.equal(text(copy.read(0x8000_0000n, 6)), 'before');
    assert.equal(mem.readU64(0x8000_1000n), 0x1111n);
    assert.equal(copy.readU64(0x8000_1000n), 0x2222n);
    assert.equal(text(mem.read(0x8000_2000n, 3)), '\0\0\0');
    // A clone of the clone, then a write to the middle generation, leaves the last one alone.
    const third = cloneState({ copy }).copy;
    copy.write(0x8000_0000n, Buffer.from('middle'));
    assert.equal(text(third.read(0x8000_0000n, 6)), 'before');
  });

  it('swiotlb pool: slots taken in the original after a clone stay free in the clone', () => {
    const pool = new IoTlbPool(0xfc00_0000n, 512, 1, false);
    const search = { origAddr: 0x1_8000_0000n, allocSize: 4096, allocAlignMask: 0, minAlignMask: 0, segBoundaryMask: 0xffff_ffffn, pageSize: 4096 };
    assert.equal(pool.searchArea(0, search), 0);
    const copy = cloneState({ pool }).pool;
    assert.equal(pool.searchArea(0, search), 2, 'the original takes the next two slots');
    assert.equal(copy.list[2], 126, 'the clone still has them free');
    assert.equal(copy.areas[0].used, 2);
    assert.equal(pool.areas[0].used, 4);
    assert.equal(copy.searchArea(0, search), 2, 'and hands them out itself');
    assert.equal(pool.list[2], 0);
  });

  it('append-only arrays: a snapshot keeps the length, a restore gets exactly that prefix', () => {
    const state = { log: markAppendOnly([1, 2, 3]), other: [9] };
    const snap = cloneState(state, { snapshot: true });
    state.log.push(4, 5);
    state.other.push(10);
    const restored = cloneState(snap);
    assert.deepEqual(restored.log, [1, 2, 3]);
    assert.deepEqual(restored.other, [9]);
    restored.log.push(7);
    assert.deepEqual(state.log, [1, 2, 3, 4, 5], 'the live log is not touched by the restored one');
  });

  it('a long run keeps at most 512 snapshots, and any event still replays to the state a fresh run has there', () => {
    const source = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 4M }
device old : pci "0000:07:00.0" { dma_mask = 32 }
hi = phys_buffer(0x1_8000_0000, 8K)
for i in 0 .. 2000 {
  cpu_write(hi, 0, "x")
  h = dma_map_page(old, hi, 0, 8K, DMA_BIDIRECTIONAL)
  dev_write(old, h, "y")
  dma_unmap_page(old, h, 8K, DMA_BIDIRECTIONAL)
}
`;
    const tl = new ScenarioTimeline(source, 16);
    assert.ok(tl.snapshots.length <= 512, `${tl.snapshots.length} snapshots`);
    assert.ok(tl.snapshots.length > 100);
    for (const k of [5, Math.floor(tl.eventCount / 3), tl.eventCount - 7]) {
      const replayed = tl.atEvent(k);
      const fresh = new Interpreter(source, { atBoundary: (x) => (x.machine?.trace.length ?? 0) > k });
      fresh.run(parse(source).program);
      assert.equal(replayed.statements.length, fresh.statements.length, `statements at ${k}`);
      assert.deepEqual(replayed.machine?.swiotlb?.inspect(), fresh.machine?.swiotlb?.inspect(), `swiotlb at ${k}`);
      assert.deepEqual(replayed.machine?.mem.read(0x1_8000_0000n, 2), fresh.machine?.mem.read(0x1_8000_0000n, 2), `memory at ${k}`);
      assert.equal(replayed.machine?.trace.length, fresh.machine?.trace.length);
    }
  });
});
