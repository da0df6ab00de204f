// The read-only engine views (src/engine/inspect): what they show for a
// known state, and that reading them changes nothing.

import { strict as assert } from 'node:assert';
import { ScenarioTimeline } from '../../src/lang/timeline';
import { inspectMachine, readCpuBytes, readDeviceBytes } from '../../src/engine/inspect';
import type { Machine } from '../../src/engine/machine';

const SMMU = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }
device eth0 : pci "0000:02:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }
device nic1 : pci "0000:03:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma-fq }
tx = alloc_pages(0)
cpu_write(tx, 0x100, "ping")
t = dma_map_page(eth0, tx, 0x100, 0x200, DMA_TO_DEVICE)
q = dma_map_page(nic1, tx, 0, 4K, DMA_BIDIRECTIONAL)
dma_unmap_page(nic1, q, 4K, DMA_BIDIRECTIONAL)
dma_unmap_page(eth0, t, 0x200, DMA_TO_DEVICE)
`;

const BOUNCE = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 4M }
device old : pci "0000:07:00.0" { dma_mask = 32 }
hi = phys_buffer(0x1_8000_0000, 8K)
cpu_write(hi, 0, "far")
h = dma_map_page(old, hi, 0, 8K, DMA_BIDIRECTIONAL)
dev_write(old, h, "dev")
dma_unmap_page(old, h, 8K, DMA_BIDIRECTIONAL)
`;

/** The machine right after the statement on `line` finished. */
function afterLine(tl: ScenarioTimeline, line: number): Machine {
  const evs = tl.trace.events;
  const next = evs.find((e) => e.name === 'engine:statement' && e.line > line);
  const k = next ? next.seq - 1 : evs.length - 1;
  const m = tl.stateAt(k).machine;
  assert.ok(m);
  return m;
}

describe('engine views (inspect)', () => {
  const tl = new ScenarioTimeline(SMMU, 8);

  it('lists a domain mapping as IOVA -> phys with its prot and line, and its IOVA allocation', () => {
    const m = afterLine(tl, 7);
    const v = inspectMachine(m);
    const dom = v.domains.find((d) => d.users.includes('eth0'));
    assert.ok(dom, 'eth0 default domain');
    assert.equal(dom.type, 'dma');
    const tx = v.buffers.find((b) => b.label === 'tx');
    assert.ok(tx);
    // dma_map_page of 0x200 bytes at offset 0x100 maps the whole granule; a coherent device gets IOMMU_CACHE.
    assert.deepEqual(dom.mappings, [{ iova: '0xfffff000', phys: tx.phys, size: '0x1000', prot: 'r,cache', line: 7 }]);
    assert.deepEqual(dom.iova?.allocations.map((a) => [a.start, a.last, a.pages]), [['0xfffff000', '0xffffffff', 1]]);
    assert.deepEqual(v.mappings.map((x) => [x.device, x.dma, x.size, x.dir]), [['eth0', '0xfffff100', '0x200', 'DMA_TO_DEVICE']]);
    assert.equal(tx.owner, 'device');
  });

  it('shows a flush-queue unmap as a queued IOVA whose mapping is gone', () => {
    const m = afterLine(tl, 9);
    const dom = inspectMachine(m).domains.find((d) => d.users.includes('nic1'));
    assert.ok(dom?.flushQueue);
    assert.equal(dom.type, 'dma-fq');
    assert.deepEqual(dom.mappings, []);
    assert.deepEqual(dom.flushQueue.entries.map((e) => [e.iova, e.pages]), [['0xfffff000', 1]]);
  });

  it('reads device bytes through the IOMMU without touching the IOTLB, and reports the fault after unmap', () => {
    const m = afterLine(tl, 7);
    const before = JSON.stringify(inspectMachine(m).iommus);
    const r = readDeviceBytes(m, 'eth0', 0xfffff100n, 4);
    assert.equal(Buffer.from(r.bytes).toString(), 'ping');
    assert.equal(r.fault, undefined);
    assert.equal(JSON.stringify(inspectMachine(m).iommus), before, 'IOTLB and counters unchanged');
    const end = afterLine(tl, 10);
    const gone = readDeviceBytes(end, 'eth0', 0xfffff100n, 4);
    assert.equal(gone.bytes.length, 0);
    assert.match(gone.fault ?? '', /translation fault/);
    assert.equal(inspectMachine(end).buffers.find((b) => b.label === 'tx')?.owner, 'cpu');
  });

  it('shows a swiotlb slot with its orig_addr and direction, and when the device changes the bounce slot', () => {
    const b = new ScenarioTimeline(BOUNCE, 8);
    const mapped = inspectMachine(afterLine(b, 5)).swiotlb;
    assert.ok(mapped);
    const run = mapped.pools[0].runs.find((r) => !r.free);
    assert.ok(run);
    assert.equal(run.origAddr, '0x180000000');
    assert.equal(run.dir, 'DMA_BIDIRECTIONAL');
    assert.equal(run.count, 4, '8K = four 2K slots');
    assert.equal(run.inSync, true);
    assert.equal(mapped.used, 4);
    const changed = inspectMachine(afterLine(b, 6)).swiotlb;
    assert.equal(changed?.pools[0].runs.find((r) => !r.free)?.inSync, false, 'the device wrote the bounce slot, not yet copied back');
    assert.equal(Buffer.from(readCpuBytes(afterLine(b, 6), 0x1_8000_0000n, 3) ?? []).toString(), 'far');
    const m = afterLine(b, 7);
    assert.equal(Buffer.from(readCpuBytes(m, 0x1_8000_0000n, 3) ?? []).toString(), 'dev', 'unmap copied the bounce back');
    assert.equal(readCpuBytes(m, 0x10n, 4), undefined, 'outside RAM');
    assert.equal(inspectMachine(afterLine(b, 7)).swiotlb?.used, 0);
  });
});
