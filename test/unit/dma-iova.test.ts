// The two-step IOVA API (dma_iova_try_alloc / link / sync / unlink /
// destroy / free) on the engine: IOVAs, bounce counts, bytes the device
// sees, faults, and the misuse reports with their numbers.

import { strict as assert } from 'node:assert';
import { Machine } from '../../src/engine/machine';
import { DEFAULT_PLATFORM, type PlatformConfig } from '../../src/engine/platform';
import type { DeviceConfig } from '../../src/engine/device';
import type { IommuConfig } from '../../src/engine/iommu/iommu-kinds';
import {
  DMA_IOVA_USE_SWIOTLB, dmaIovaDestroy, dmaIovaFree, dmaIovaLink, dmaIovaPending, dmaIovaSize, dmaIovaSync, dmaIovaTryAlloc, dmaIovaUnlink, dmaUseIova, type DmaIovaState,
} from '../../src/engine/dma-mapping/dma-iova';
import { DMA_ATTR_SKIP_CPU_SYNC, DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from '../../src/engine/dma-mapping/dma-direction';
import { dmaDomain } from '../../src/engine/dma-mapping/dma-iommu';
import { swiotlbTblMapSingle } from '../../src/engine/dma-mapping/swiotlb-glue';
import { devRead, devWrite, probeDma } from '../../src/engine/device-access';
import { EINVAL, EIO, ENOMEM } from '../../src/engine/errno';
import { DMA_MAPPING_ERROR } from '../../src/engine/u64';
import type { FieldValue, TraceEvent } from '../../src/engine/trace/recorder';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
/** A trace field as a number, whether the event carries a bigint or a "0x..." string. */
const num = (v: FieldValue | undefined): bigint => BigInt(typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' ? v : -1);

function machine(p: Partial<PlatformConfig> = {}): Machine {
  return new Machine({ ...DEFAULT_PLATFORM, ...p });
}

function withDevice(iommu: IommuConfig | null, dev: Omit<DeviceConfig, 'iommus' | 'bus' | 'busId' | 'name'> & Partial<DeviceConfig>, p: Partial<PlatformConfig> = {}) {
  const m = machine(p);
  if (iommu) m.addIommu(iommu, 1);
  const d = m.addDevice({ name: 'dev0', bus: 'pci', busId: '0000:05:00.0', iommus: iommu ? [iommu.name] : [], dmaMask: 64, ...dev }, 2);
  return { m, d };
}

/** Scenario 02's machine: an untrusted PCI device behind an SMMUv3 with NVMe's min_align_mask. */
function thunderbolt(p: Partial<PlatformConfig> = {}) {
  return withDevice({ name: 'smmu0', kind: 'arm-smmu-v3', granule: 4096n, ias: 48, oas: 48 }, { untrusted: true, coherent: true, minAlignMask: 0xfffn }, p);
}

function checks(m: Machine, id: string) {
  return m.trace.checks.filter((c) => c.id === id);
}

function events(m: Machine, name: string): TraceEvent[] {
  return m.trace.events.filter((e) => e.kind !== 'return' && e.name === name);
}

/** The return events of a traced kernel function: `ret` and what it learnt on the way. */
function returns(m: Machine, name: string): TraceEvent[] {
  return m.trace.events.filter((e) => e.kind === 'return' && e.name === name);
}

describe('engine: dma_iova_try_alloc', () => {
  it('reserves iova_align(size + pad), 32-bit first for PCI, and keeps phys\'s offset in addr', () => {
    const { m, d } = thunderbolt();
    const st = dmaIovaTryAlloc(m, d, 0x8010_0800n, 0x2000n);
    assert.equal(dmaUseIova(st), true);
    // 0x2800 -> 3 granules, alloc_iova_fast rounds to 4 and aligns to 4: 0xffffc000, plus the 0x800 pad.
    assert.equal(st.addr, 0xffffc800n);
    assert.equal(st.__size, 0x2000n);
    assert.deepEqual(returns(m, 'alloc_iova_fast').map((e) => num(e.fields.ret)), [0xffffcn]);
    const st2 = dmaIovaTryAlloc(m, d, 0x8020_0800n, 0x3000n);
    assert.equal(st2.addr, 0xffff8800n);
    assert.equal(dmaDomain(d)?.iovaLinks?.states.length, 2);
  });

  it('returns a zeroed state when the device does not use dma-iommu, for size 0 and for bit 63', () => {
    const direct = withDevice(null, {});
    const s0 = dmaIovaTryAlloc(direct.m, direct.d, 0x8000_0000n, 0x1000n);
    assert.equal(dmaUseIova(s0), false);
    assert.equal(s0.addr, 0n);

    const { m, d } = thunderbolt();
    const z = dmaIovaTryAlloc(m, d, 0n, 0n);
    assert.equal(dmaUseIova(z), false);
    assert.match(checks(m, 'iova-try-alloc-warn')[0].message, /size 0/);
    assert.ok(m.trace.log.some((l) => l.text.includes('WARN_ON_ONCE(!size)')));
    const big = dmaIovaTryAlloc(m, d, 0n, DMA_IOVA_USE_SWIOTLB | 0x1000n);
    assert.equal(dmaUseIova(big), false);
    assert.equal(checks(m, 'iova-try-alloc-warn').length, 2);
    assert.equal(events(m, 'alloc_iova_fast').length, 0, 'nothing was allocated');
  });

  it('does not use the API on an identity default domain', () => {
    const { m, d } = withDevice({ name: 'smmu0', kind: 'arm-smmu-v3' }, { defaultDomain: ['identity'] });
    assert.equal(dmaUseIova(dmaIovaTryAlloc(m, d, 0n, 0x1000n)), false);
  });
});

describe('engine: dma_iova_link on an untrusted device (scenario 02)', () => {
  function linked() {
    const t = thunderbolt();
    const buf = t.m.physBuffer(0x8010_0800n, 0x2000n, 'buf');
    t.m.cpuWrite(buf.phys, bytes('hello'));
    t.m.cpuWrite(buf.phys + 0x1f00n, bytes('tail'));
    const st = dmaIovaTryAlloc(t.m, t.d, buf.phys, 0x2000n);
    const ret = dmaIovaLink(t.m, t.d, st, buf.phys, 0n, 0x2000n, DMA_TO_DEVICE, 0);
    return { ...t, buf, st, ret };
  }

  it('bounces only the partial head and tail granules and links the middle in place', () => {
    const { m, st, ret } = linked();
    assert.equal(ret, 0);
    const bounced = events(m, 'swiotlb:swiotlb_bounced');
    assert.deepEqual(bounced.map((e) => [num(e.fields.dev_addr), num(e.fields.size)]), [[0x8010_0800n, 2048n], [0x8010_2000n, 2048n]]);
    assert.deepEqual(events(m, 'iommu:map').map((e) => num(e.fields.iova)), [0xffffc000n, 0xffffd000n, 0xffffe000n]);
    assert.equal(st.__size & DMA_IOVA_USE_SWIOTLB, DMA_IOVA_USE_SWIOTLB);
    assert.equal(dmaIovaSize(st), 0x2000n);
    const recs = m.mappings.records.filter((r) => r.kind === 'iova-link');
    assert.deepEqual(recs.map((r) => [r.dma, r.size, r.bounce !== null]), [[0xffffc800n, 0x800n, true], [0xffffd000n, 0x1000n, false], [0xffffe000n, 0x800n, true]]);
    assert.equal(m.mappings.findByDma(0xffffd123n)?.bounce, null);
    assert.equal(m.debug.pendingEntries().length, 0, 'dma-debug has no hooks for this API');
  });

  it('does no IOTLB sync until dma_iova_sync, then the device reads the bounced bytes', () => {
    const { m, d, st } = linked();
    assert.equal(events(m, 'engine:iotlb_inv').length, 0);
    assert.equal(dmaDomain(d)?.iovaLinks?.unsynced.length, 3);
    assert.equal(dmaIovaSync(m, d, st, 0n, 0x2000n), 0);
    assert.equal(dmaDomain(d)?.iovaLinks?.unsynced.length, 0);
    assert.equal(text(devRead(m, d, st.addr, 5, null).bytes), 'hello');
    assert.equal(text(devRead(m, d, st.addr + 0x1f00n, 4, null).bytes), 'tail');
    assert.equal(devRead(m, d, st.addr - 0x1000n, 4, null).faulted, true);
    assert.equal(m.trace.checks.length, 0);
  });

  it('fails with -EIO and a WARN when a non-first link starts inside a granule', () => {
    const { m, d } = thunderbolt();
    const st2 = dmaIovaTryAlloc(m, d, 0x8020_0800n, 0x3000n);
    assert.equal(dmaIovaLink(m, d, st2, 0x8020_1800n, 0x1000n, 0x800n, DMA_TO_DEVICE, 0), -EIO);
    const c = checks(m, 'iova-link-unaligned');
    assert.equal(c.length, 1);
    assert.match(c[0].message, /offset 0x1000: phys 0x80201800 starts 0x800 into its 4096-byte granule/);
    assert.equal(events(m, 'iommu:map').length, 0);
  });

  it('destroy unlinks through the slow path, releases both bounce slots, frees the IOVA and leaves nothing pending', () => {
    const { m, d, st } = linked();
    dmaIovaSync(m, d, st, 0n, 0x2000n);
    dmaIovaDestroy(m, d, st, 0x2000n, DMA_TO_DEVICE, 0);
    assert.deepEqual(events(m, 'engine:swiotlb_unmap').map((e) => num(e.fields.tlb_addr)), [0xfc00_0800n, 0xfc00_1000n]);
    assert.deepEqual(events(m, 'iommu:unmap').map((e) => [num(e.fields.iova), num(e.fields.unmapped_size)]), [[0xffffc000n, 0x3000n]]);
    assert.equal(num(events(m, 'free_iova_fast')[0].fields.size), 3n);
    assert.equal(m.swiotlb?.used, 0);
    assert.equal(devRead(m, d, 0xffffc800n, 4, null).faulted, true);
    assert.deepEqual(dmaIovaPending(m.allDomains()), []);
    assert.equal([...m.mappings.live.values()].length, 0);
  });
});

describe('engine: linked but not synced', () => {
  it('faults on virtio-iommu (needs iotlb_sync_map) until dma_iova_sync, and translate() only probes', () => {
    const { m, d } = withDevice({ name: 'vio0', kind: 'virtio-iommu', granule: 4096n }, {});
    const buf = m.allocPages(2, 'buf');
    assert.ok(buf);
    m.cpuWrite(buf.phys, bytes('abcd'));
    const st = dmaIovaTryAlloc(m, d, 0n, 0x10000n);
    assert.equal(st.addr, 0xffff0000n);
    assert.equal(dmaIovaLink(m, d, st, buf.phys, 0n, 0x4000n, DMA_TO_DEVICE, 0), 0);
    const probe = probeDma(m, d, st.addr, null, 'read');
    assert.match(probe.fault ?? '', /linked but not synced/);
    assert.equal(m.trace.checks.length, 0, 'a probe reports nothing');
    const r = devRead(m, d, st.addr + 0x3000n, 4, null);
    assert.equal(r.faulted, true);
    const c = checks(m, 'iova-not-synced');
    assert.equal(c[0].severity, 'error');
    assert.match(c[0].message, /accessed IOVA 0xffff3000, linked by dma_iova_link .* virtio-iommu needs iotlb_sync_map/);
    assert.equal(dmaIovaSync(m, d, st, 0n, 0x4000n), 0);
    assert.deepEqual(events(m, 'engine:iotlb_sync_map').map((e) => [num(e.fields.iova), num(e.fields.size)]), [[0xffff0000n, 0x4000n]]);
    assert.equal(text(devRead(m, d, st.addr, 4, null).bytes), 'abcd');
  });

  it('only warns on an SMMUv3, whose walker sees the new entry anyway', () => {
    const { m, d } = withDevice({ name: 'smmu0', kind: 'arm-smmu-v3' }, {});
    const buf = m.allocPages(0, 'buf');
    assert.ok(buf);
    m.cpuWrite(buf.phys, bytes('ok'));
    const st = dmaIovaTryAlloc(m, d, 0n, 0x1000n);
    dmaIovaLink(m, d, st, buf.phys, 0n, 0x1000n, DMA_TO_DEVICE, 0);
    const r = devRead(m, d, st.addr, 2, null);
    assert.equal(r.faulted, false);
    assert.equal(text(r.bytes), 'ok');
    assert.equal(checks(m, 'iova-not-synced')[0].severity, 'warning');
  });
});

describe('engine: two-step API misuse reports', () => {
  function trusted() {
    const t = withDevice({ name: 'smmu0', kind: 'arm-smmu-v3' }, {});
    const buf = t.m.allocPages(4, 'buf');
    assert.ok(buf);
    return { ...t, buf };
  }

  it('reports phys and offset that are not aligned to each other; the map then fails -EINVAL', () => {
    const { m, d, buf } = trusted();
    const st = dmaIovaTryAlloc(m, d, 0n, 0x4000n);
    assert.equal(dmaIovaLink(m, d, st, buf.phys, 0x800n, 0x1000n, DMA_TO_DEVICE, 0), -EINVAL);
    assert.match(checks(m, 'iova-link-misaligned')[0].message, /phys 0x[0-9a-f]+ is 0x0 into its 4096-byte granule but its IOVA 0xffffc800 \(state.addr \+ offset 0x800\) is 0x800 into one/);
    assert.equal(checks(m, 'iommu-unaligned').length, 1);
    assert.equal(st.links.length, 0);
  });

  it('reports a link past the reservation', () => {
    const { m, d, buf } = trusted();
    const st = dmaIovaTryAlloc(m, d, 0n, 0x4000n);
    assert.equal(dmaIovaLink(m, d, st, buf.phys, 0x3000n, 0x2000n, DMA_TO_DEVICE, 0), 0);
    assert.match(checks(m, 'iova-link-out-of-range')[0].message, /\[0x3000, 0x5000\) runs past the 0x4000 bytes .* IOVA \[0x100000000, 0x100001000\)/);
  });

  it('reports unlinks of never-linked ranges, and dir/attrs that differ from the link; the IOVA stays reserved', () => {
    const { m, d, buf } = trusted();
    const st = dmaIovaTryAlloc(m, d, 0n, 0x10000n);
    dmaIovaLink(m, d, st, buf.phys, 0n, 0x4000n, DMA_TO_DEVICE, 0);
    dmaIovaUnlink(m, d, st, 0x4000n, 0x1000n, DMA_TO_DEVICE, 0);
    assert.match(checks(m, 'iova-unlink-not-linked')[0].message, /covers \[0x4000, 0x5000\), which was never linked \(linked: \[0x0, 0x4000\)\)/);
    dmaIovaUnlink(m, d, st, 0n, 0x4000n, DMA_FROM_DEVICE, DMA_ATTR_SKIP_CPU_SYNC);
    const mm = checks(m, 'iova-unlink-mismatch');
    assert.deepEqual(mm.map((c) => c.severity), ['error', 'warning']);
    assert.match(mm[0].message, /with DMA_FROM_DEVICE over \[0x0, 0x4000\), which dma_iova_link mapped with DMA_TO_DEVICE/);
    assert.match(mm[1].message, /attrs \(SKIP_CPU_SYNC\) differ .* \(none\)/);
    assert.equal(st.links.length, 0);
    assert.deepEqual(dmaIovaPending(m.allDomains()), ['dma_iova state 0xffff0000+0x10000 (line 0) still reserved']);
    // The reservation is reusable: the same IOVA maps again.
    assert.equal(dmaIovaLink(m, d, st, buf.phys, 0n, 0x1000n, DMA_TO_DEVICE, 0), 0);
    assert.equal(num(events(m, 'iommu:map').at(-1)?.fields.iova), 0xffff0000n);
  });

  it('a partial unlink keeps the rest of the link mapped and recorded', () => {
    const { m, d, buf } = trusted();
    const st = dmaIovaTryAlloc(m, d, 0n, 0x4000n);
    dmaIovaLink(m, d, st, buf.phys, 0n, 0x4000n, DMA_BIDIRECTIONAL, 0);
    dmaIovaSync(m, d, st, 0n, 0x4000n);
    dmaIovaUnlink(m, d, st, 0x1000n, 0x1000n, DMA_BIDIRECTIONAL, 0);
    assert.deepEqual(st.links.map((l) => [l.offset, l.size, l.phys - buf.phys]), [[0n, 0x1000n, 0n], [0x2000n, 0x2000n, 0x2000n]]);
    assert.deepEqual([...m.mappings.live.values()].map((r) => r.dma), [st.addr, st.addr + 0x2000n]);
    assert.equal(devRead(m, d, st.addr + 0x1000n, 1, null).faulted, true);
    assert.equal(devRead(m, d, st.addr + 0x2000n, 1, null).faulted, false);
    assert.equal(m.trace.checks.length, 0);
  });

  it('destroy with a short mapped_len frees too little IOVA: the rest stays allocated until the rcache is flushed', () => {
    const { m, d, buf } = trusted();
    const st = dmaIovaTryAlloc(m, d, 0n, 0x10000n);
    dmaIovaLink(m, d, st, buf.phys, 0n, 0x1000n, DMA_TO_DEVICE, 0);
    dmaIovaDestroy(m, d, st, 0x1000n, DMA_TO_DEVICE, 0);
    const c = checks(m, 'iova-destroy-leak');
    assert.equal(c[0].severity, 'warning');
    assert.match(c[0].message, /frees 0x1000 bytes of IOVA at 0xffff0000, .* not the 0x10000 bytes .* order-0 entry .* 16-granule node \[0xffff0000, 0x100000000\), so 0xf000 bytes stay allocated/);
    assert.deepEqual(returns(m, 'free_iova_fast').map((e) => [num(m.trace.events[e.match].fields.size), e.fields.dest]), [[1n, 'rcache']]);
    assert.deepEqual(dmaIovaPending(m.allDomains()), ['dma_iova state 0xffff0000+0x10000 (line 0): 0xf000 bytes of IOVA left allocated by dma_iova_destroy (line 0)']);
    // Flushing this CPU's rcache returns the pfn, which erases the whole node.
    dmaDomain(d)?.iovad?.freeCpuCachedIovas(0);
    assert.deepEqual(dmaIovaPending(m.allDomains()), []);
  });

  it('destroy freeing 33+ granules bypasses the rcache, so the short size only earns a note', () => {
    const { m, d } = trusted();
    const big = m.allocPages(7, 'big');
    assert.ok(big);
    const st = dmaIovaTryAlloc(m, d, 0n, 0x80000n);
    dmaIovaLink(m, d, st, big.phys, 0n, 0x40000n, DMA_TO_DEVICE, 0);
    dmaIovaDestroy(m, d, st, 0x40000n, DMA_TO_DEVICE, 0);
    const c = checks(m, 'iova-destroy-size');
    assert.equal(c[0].severity, 'info');
    assert.match(c[0].message, /64 granules bypass the rcache, so free_iova\(\) drops the whole 128-granule node/);
    assert.deepEqual(dmaIovaPending(m.allDomains()), []);
  });

  it('destroy with a mapped_len past the reservation frees IOVA the state never owned', () => {
    const { m, d, buf } = trusted();
    const st = dmaIovaTryAlloc(m, d, 0n, 0x1000n);
    dmaIovaLink(m, d, st, buf.phys, 0n, 0x2000n, DMA_TO_DEVICE, 0);
    dmaIovaDestroy(m, d, st, 0x2000n, DMA_TO_DEVICE, 0);
    assert.match(checks(m, 'iova-destroy-size')[0].message, /frees 0x2000 bytes .* not the 0x1000 .* \[0x100000000, 0x100001000\) was never the state's/);
  });

  it('destroy that leaves links beyond mapped_len mapped, and free with links, are reported and pending', () => {
    const { m, d, buf } = trusted();
    const st = dmaIovaTryAlloc(m, d, 0n, 0x4000n);
    dmaIovaLink(m, d, st, buf.phys, 0n, 0x2000n, DMA_TO_DEVICE, 0);
    dmaIovaLink(m, d, st, buf.phys + 0x2000n, 0x2000n, 0x2000n, DMA_TO_DEVICE, 0);
    dmaIovaDestroy(m, d, st, 0x2000n, DMA_TO_DEVICE, 0);
    assert.match(checks(m, 'iova-destroy-mapped-len')[0].message, /leaves \[0x2000, 0x4000\) linked/);
    // mapped_len also frees only 2 of the 4 reserved granules.
    assert.match(checks(m, 'iova-destroy-leak')[0].message, /order-1 entry .* so 0x2000 bytes stay allocated/);
    assert.deepEqual(dmaIovaPending(m.allDomains()), [
      'dma_iova state 0xffffc000+0x4000 (line 0) has [0x2000, 0x4000) still linked',
      'dma_iova state 0xffffc000+0x4000 (line 0): 0x2000 bytes of IOVA left allocated by dma_iova_destroy (line 0)',
    ]);

    const st2 = dmaIovaTryAlloc(m, d, 0n, 0x1000n);
    dmaIovaLink(m, d, st2, buf.phys, 0n, 0x1000n, DMA_TO_DEVICE, 0);
    dmaIovaFree(m, d, st2);
    assert.match(checks(m, 'iova-free-linked')[0].message, /\[0x0, 0x1000\) still linked/);
  });

  it('reports any use of a state after destroy or free, and of one try_alloc never set up', () => {
    const { m, d, buf } = trusted();
    const st = dmaIovaTryAlloc(m, d, 0n, 0x1000n);
    dmaIovaFree(m, d, st);
    assert.equal(dmaIovaLink(m, d, st, buf.phys, 0n, 0x1000n, DMA_TO_DEVICE, 0), 0, 'the kernel maps with the stale state');
    assert.match(checks(m, 'iova-state-use-after-free')[0].message, /dma_iova_link uses the dma_iova_state of line 0 after dma_iova_free \(line 0\) released its IOVA \[0xfffff000, 0x100000000\)/);
    assert.deepEqual(dmaIovaPending(m.allDomains()), ['dma_iova state 0xfffff000+0x1000 (line 0) has [0x0, 0x1000) still linked']);
    const direct = withDevice(null, {});
    const z = dmaIovaTryAlloc(direct.m, direct.d, 0n, 0x1000n);
    assert.equal(dmaIovaLink(direct.m, direct.d, z, 0x8000_0000n, 0n, 0x1000n, DMA_TO_DEVICE, 0), -EINVAL);
    assert.match(checks(direct.m, 'iova-state-unused')[0].message, /dma_use_iova\(\) is false/);
  });

  it('the slow unlink gives up at the first hole with a WARN instead of looping (the v5 bug)', () => {
    const { m, d } = thunderbolt();
    const buf = m.physBuffer(0x8010_0800n, 0x800n, 'buf');
    const st = dmaIovaTryAlloc(m, d, buf.phys, 0x4000n);
    assert.equal(dmaIovaLink(m, d, st, buf.phys, 0n, 0x800n, DMA_TO_DEVICE, 0), 0);
    dmaIovaUnlink(m, d, st, 0x800n, 0x2000n, DMA_TO_DEVICE, 0);
    // 0x4800 bytes take 8 granules at 0xffff8000: the hole starts right after the bounced head.
    assert.equal(st.addr, 0xffff8800n);
    assert.equal(m.trace.log.filter((l) => l.text.includes('WARN_ON(!phys) at IOVA 0xffff9000')).length, 1);
    assert.equal(checks(m, 'iova-unlink-not-linked').length, 1);
  });

  it('a destroy over a hole reports the kernel BUG it would hit instead of crashing', () => {
    const { m, d, buf } = trusted();
    const st = dmaIovaTryAlloc(m, d, 0n, 0x4000n);
    dmaIovaLink(m, d, st, buf.phys, 0n, 0x1000n, DMA_TO_DEVICE, 0);
    dmaIovaLink(m, d, st, buf.phys + 0x3000n, 0x3000n, 0x1000n, DMA_TO_DEVICE, 0);
    assert.doesNotThrow(() => dmaIovaDestroy(m, d, st, 0x4000n, DMA_TO_DEVICE, 0));
    assert.match(checks(m, 'kernel-bug')[0].message, /BUG_ON\(!pgsizes\).*\[0xffffc000, 0x100000000\)/);
  });
});

describe('engine: two-step API teardown paths', () => {
  it('destroy on a flush-queue domain queues the IOVA and leaves the IOTLB stale until the queue flushes', () => {
    const { m, d } = withDevice({ name: 'vtd0', kind: 'intel-vtd' }, {});
    const buf = m.allocPages(2, 'buf');
    assert.ok(buf);
    const st = dmaIovaTryAlloc(m, d, 0n, 0x4000n);
    dmaIovaLink(m, d, st, buf.phys, 0n, 0x4000n, DMA_BIDIRECTIONAL, 0);
    dmaIovaSync(m, d, st, 0n, 0x4000n);
    devWrite(m, d, st.addr, bytes('zz'), null);
    dmaIovaDestroy(m, d, st, 0x4000n, DMA_BIDIRECTIONAL, 0);
    assert.equal(events(m, 'queue_iova').length, 1);
    assert.equal(events(m, 'engine:iotlb_inv').length, 0);
    assert.equal(devRead(m, d, st.addr, 2, null).faulted, false);
    assert.equal(checks(m, 'dmascope-use-after-unmap').length, 1);
    m.advanceTime(20);
    assert.equal(devRead(m, d, st.addr, 2, null).faulted, true);
  });

  it('on a non-coherent device links clean the cache and unlinks invalidate it, unless SKIP_CPU_SYNC', () => {
    const { m, d } = withDevice({ name: 'smmu0', kind: 'arm-smmu-v3' }, { bus: 'platform', busId: 'soc:dma', coherent: false });
    const buf = m.allocPages(0, 'buf');
    assert.ok(buf);
    const st = dmaIovaTryAlloc(m, d, 0n, 0x1000n);
    dmaIovaLink(m, d, st, buf.phys, 0n, 0x1000n, DMA_FROM_DEVICE, 0);
    assert.equal(num(events(m, 'engine:arch_sync_dma_for_device')[0].fields.phys), buf.phys);
    dmaIovaSync(m, d, st, 0n, 0x1000n);
    devWrite(m, d, st.addr, bytes('fresh'), null);
    dmaIovaUnlink(m, d, st, 0n, 0x1000n, DMA_FROM_DEVICE, 0);
    assert.equal(events(m, 'engine:arch_sync_dma_for_cpu').length, 1);
    assert.equal(text(m.cpuRead(buf.phys, 5)), 'fresh');
    assert.equal(checks(m, 'stale-cpu-read').length, 0);

    dmaIovaLink(m, d, st, buf.phys, 0n, 0x1000n, DMA_FROM_DEVICE, 0);
    dmaIovaSync(m, d, st, 0n, 0x1000n);
    devWrite(m, d, st.addr, bytes('newer'), null);
    dmaIovaDestroy(m, d, st, 0x1000n, DMA_FROM_DEVICE, DMA_ATTR_SKIP_CPU_SYNC);
    assert.equal(checks(m, 'iova-unlink-mismatch')[0].severity, 'warning');
    m.cpuRead(buf.phys, 5);
    assert.equal(checks(m, 'stale-cpu-read').length, 1);
  });

  it('a failed tail bounce at a non-zero offset unwinds from offset 0, as v6.18 does', () => {
    const { m, d } = thunderbolt({ swiotlb: 1n << 20n });
    const buf = m.physBuffer(0x8010_0000n, 0x4000n, 'buf');
    m.cpuWrite(buf.phys, bytes('first'));
    const st: DmaIovaState = dmaIovaTryAlloc(m, d, buf.phys, 0x4000n);
    assert.equal(dmaIovaLink(m, d, st, buf.phys, 0n, 0x1000n, DMA_TO_DEVICE, 0), 0);
    dmaIovaSync(m, d, st, 0n, 0x1000n);
    // Fill the pool so the next bounce fails.
    let fills = 0;
    while (swiotlbTblMapSingle(m, d, 0x8020_0000n, 0x800n, 0xfffn, DMA_TO_DEVICE, 0, 0x8020_0000n) !== DMA_MAPPING_ERROR) fills++;
    assert.equal(fills, 256);
    assert.equal(dmaIovaLink(m, d, st, buf.phys + 0x2000n, 0x2000n, 0x1800n, DMA_TO_DEVICE, 0), -ENOMEM);
    assert.match(checks(m, 'iova-link-unwind')[0].message, /offset 0x2000 failed with -ENOMEM after mapping 0x1000 bytes, .* dma_iova_unlink\(state, 0, 0x1000\): .* unmaps IOVA \[0xffffc000, 0xffffd000\) .* leaves this link's \[0x2000, 0x3000\) mapped/);
    // The unwind took down the first link and left this one's middle granule mapped.
    assert.equal(devRead(m, d, st.addr, 5, null).faulted, true);
    assert.deepEqual(st.links.map((l) => [l.offset, l.size]), [[0x2000n, 0x1000n]]);
  });
});
