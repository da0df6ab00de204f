// The acceptance scenarios' expectations, checked on the engine itself
// (no language in between): IOVAs, bytes, faults and messages.

import { strict as assert } from 'node:assert';
import { Machine } from '../../src/engine/machine';
import { DEFAULT_PLATFORM, type PlatformConfig } from '../../src/engine/platform';
import { dmaMapPhys, dmaMappingError, dmaSyncSingleForCpu, dmaSyncSingleForDevice, dmaUnmapPhys } from '../../src/engine/dma-mapping/dma-mapping';
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from '../../src/engine/dma-mapping/dma-direction';
import { devRead, devWrite, probeDma } from '../../src/engine/device-access';
import { iommuAttachDevice, iommuMap, iommuPagingDomainAlloc } from '../../src/engine/iommu/iommu-core';
import { IOMMU_READ } from '../../src/engine/io-pgtable/types';
import { DMA_MAPPING_ERROR } from '../../src/engine/u64';
import { cloneState } from '../../src/engine/snapshot';
import { PhysicalMemory } from '../../src/engine/memory/physmem';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function machine(p: Partial<PlatformConfig> = {}): Machine {
  return new Machine({ ...DEFAULT_PLATFORM, memory: [{ start: 0x8000_0000n, end: 0x2_0000_0000n }], ...p });
}

describe('engine: streaming DMA through dma-iommu (scenario 01)', () => {
  function setup() {
    const m = machine({ swiotlb: 0n });
    m.addIommu({ name: 'smmu0', kind: 'arm-smmu-v3', granule: 4096n, ias: 48, oas: 48 }, 1);
    const nvme = m.addDevice({ name: 'nvme0', bus: 'pci', busId: '0000:01:00.0', iommus: ['smmu0'], coherent: true, dmaMask: 64, defaultDomain: ['dma'] }, 2);
    return { m, nvme };
  }

  it('warns of granule exposure exactly when a page-aligned map reaches past the buffer holding it', () => {
    const { m, nvme } = setup();
    const page = m.allocPages(1, 'page');
    assert.ok(page);
    const exposures = (): string[] => m.trace.checks.filter((c) => c.id === 'granule-exposure').map((c) => c.message);
    dmaMapPhys(m, nvme, page.phys, 8192n, DMA_TO_DEVICE, 0); // the whole buffer: nothing exposed
    dmaMapPhys(m, nvme, page.phys + 4096n, 4096n, DMA_TO_DEVICE, 0); // its second page, up to its end
    assert.deepEqual(exposures(), []);
    // A smaller buffer in the same place, named later, is the one the address belongs to now.
    m.physBuffer(page.phys, 2048n, 'half');
    dmaMapPhys(m, nvme, page.phys, 4096n, DMA_TO_DEVICE, 0);
    assert.deepEqual(exposures(), [`mapping ${'0x' + page.phys.toString(16)}+4096 exposes 2048 bytes beyond the buffer to 0000:01:00.0: the IOMMU maps whole 4096-byte granules [${'0x' + page.phys.toString(16)}..${'0x' + (page.phys + 4096n).toString(16)})`]);
  });

  it('restores a snapshot whose mapping record is its ownership region as one object, so a sync after the restore moves both', () => {
    const fresh = setup();
    const taken = setup();
    for (const { m, nvme } of [fresh, taken]) {
      const buf = m.allocPages(0, 'buf');
      assert.ok(buf);
      assert.equal(dmaMapPhys(m, nvme, buf.phys, 4096n, DMA_FROM_DEVICE, 0), 0xfffff000n);
    }
    const restored = cloneState(cloneState(taken.m, { snapshot: true }));
    const nvme = restored.devices.get('nvme0');
    assert.ok(nvme);
    const rec = restored.mappings.live.get('nvme0@4294963200');
    assert.ok(rec);
    assert.equal(restored.ownership.regions[0], rec);
    dmaSyncSingleForCpu(fresh.m, fresh.nvme, 0xfffff000n, 4096n, DMA_FROM_DEVICE);
    dmaSyncSingleForCpu(restored, nvme, 0xfffff000n, 4096n, DMA_FROM_DEVICE);
    assert.equal(rec.owner, 'cpu');
    assert.deepEqual(restored.mappings.live.get('nvme0@4294963200'), fresh.m.mappings.live.get('nvme0@4294963200'));
  });

  it('allocates IOVAs top-down below 4 GiB first, rounding and aligning sizes', () => {
    const { m, nvme } = setup();
    const a = m.allocPages(0, 'a');
    const b = m.allocPages(2, 'b');
    assert.ok(a && b);
    const h1 = dmaMapPhys(m, nvme, a.phys, 4096n, DMA_TO_DEVICE, 0);
    assert.equal(h1, 0xfffff000n);
    assert.equal(dmaMappingError(m, nvme, h1), 0);
    assert.equal(dmaMapPhys(m, nvme, b.phys, 16384n, DMA_FROM_DEVICE, 0), 0xffff8000n);
    assert.equal(dmaMapPhys(m, nvme, a.phys + 0x100n, 0x200n, DMA_TO_DEVICE, 0), 0xffff7100n);
  });

  it('maps TO_DEVICE read-only, faults on write, and reuses a freed IOVA through the rcache', () => {
    const { m, nvme } = setup();
    const a = m.allocPages(0, 'a');
    assert.ok(a);
    m.cpuWrite(a.phys, bytes('hello'));
    const h1 = dmaMapPhys(m, nvme, a.phys, 4096n, DMA_TO_DEVICE, 0);
    assert.equal(text(devRead(m, nvme, h1, 5, null).bytes), 'hello');
    assert.equal(devWrite(m, nvme, h1, bytes('x'), null).faulted, true);
    assert.match(m.trace.faults[0].reason, /permission fault: write to 0xfffff000/);
    dmaUnmapPhys(m, nvme, h1, 4096n, DMA_TO_DEVICE, 0);
    assert.equal(devRead(m, nvme, h1, 4, null).faulted, true, 'strict unmap invalidates the IOTLB');
    assert.equal(dmaMapPhys(m, nvme, a.phys, 4096n, DMA_BIDIRECTIONAL, 0), 0xfffff000n);
  });

  it('a translation walks 4 levels cold and hits the IOTLB warm', () => {
    const { m, nvme } = setup();
    const a = m.allocPages(0, 'a');
    assert.ok(a);
    const h = dmaMapPhys(m, nvme, a.phys, 4096n, DMA_TO_DEVICE, 0);
    const cold = probeDma(m, nvme, h, null, null);
    assert.equal(cold.phys, a.phys);
    assert.equal(cold.accesses, 4);
    assert.equal(cold.iotlbHit, false);
    devRead(m, nvme, h, 1, null);
    const warm = probeDma(m, nvme, h, null, null);
    assert.equal(warm.iotlbHit, true);
    assert.equal(warm.accesses, 0);
  });
});

describe('engine: dma-debug findings (scenario 07)', () => {
  it('reports a different unmap size, a different direction and a double unmap with the kernel wording', () => {
    const m = machine({ swiotlb: 0n });
    m.addIommu({ name: 'smmu0', kind: 'arm-smmu-v3', granule: 4096n, ias: 48 }, 1);
    const eth = m.addDevice({ name: 'eth0', bus: 'pci', busId: '0000:02:00.0', iommus: ['smmu0'], dmaMask: 64, defaultDomain: ['dma'] }, 2);
    const a = m.allocPages(1, 'a');
    assert.ok(a);
    const h = dmaMapPhys(m, eth, a.phys, 0x800n, DMA_TO_DEVICE, 0);
    dmaUnmapPhys(m, eth, h, 0x400n, DMA_TO_DEVICE, 0);
    assert.ok(m.trace.checks.some((c) => c.message === 'DMA-API: eth0 0000:02:00.0: device driver frees DMA memory with different size [device address=0x00000000fffff000] [map size=2048 bytes] [unmap size=1024 bytes]'));
    const h2 = dmaMapPhys(m, eth, a.phys, 4096n, DMA_FROM_DEVICE, 0);
    dmaUnmapPhys(m, eth, h2, 4096n, DMA_TO_DEVICE, 0);
    assert.ok(m.trace.checks.some((c) => c.message.includes('with different direction') && c.message.includes('[mapped with DMA_FROM_DEVICE] [unmapped with DMA_TO_DEVICE]')));
    dmaUnmapPhys(m, eth, h2, 4096n, DMA_FROM_DEVICE, 0);
    assert.ok(m.trace.checks.some((c) => c.message.includes('device driver tries to free DMA memory it has not allocated')));
  });
});

describe('engine: 16K DART granule (scenarios 06 and 06b)', () => {
  it('on a 4K kernel the DART is in bypass and paging domains fail with -EINVAL', () => {
    const m = machine({ memory: [{ start: 0x8_0000_0000n, end: 0x9_0000_0000n }], swiotlb: 0n });
    m.addIommu({ name: 'dart0', kind: 'apple-dart', granule: 16384n, ias: 32 }, 1);
    const nvme = m.addDevice({ name: 'nvme0', bus: 'platform', busId: '27bcc0000.nvme', iommus: ['dart0'], dmaMask: 64 }, 2);
    const buf = m.physBuffer(0x8_02e6_5000n, 0x1000n, 'buf');
    assert.equal(dmaMapPhys(m, nvme, buf.phys, 0x1000n, DMA_TO_DEVICE, 0), 0x8_02e6_5000n);
    assert.equal(iommuPagingDomainAlloc(m, nvme, 'd', false), -22);
  });

  it('on a 16K kernel iommu_map refuses an unaligned paddr with the kernel message', () => {
    const m = machine({ pageSize: 16384n, memory: [{ start: 0x8_0000_0000n, end: 0x9_0000_0000n }], swiotlb: 0n });
    m.addIommu({ name: 'dart0', kind: 'apple-dart', granule: 16384n, ias: 32 }, 1);
    const nvme0 = m.addDevice({ name: 'nvme0', bus: 'platform', busId: '27bcc0000.nvme', iommus: ['dart0'], dmaMask: 64, defaultDomain: ['identity'] }, 2);
    const nvme1 = m.addDevice({ name: 'nvme1', bus: 'platform', busId: '27bcc4000.nvme', iommus: ['dart0'], dmaMask: 64, defaultDomain: ['dma'] }, 3);
    const d = iommuPagingDomainAlloc(m, nvme0, 'd', false);
    assert.ok(typeof d !== 'number');
    assert.equal(iommuAttachDevice(m, d, nvme0), 0);
    assert.equal(iommuMap(m, d, 0xbff40000n, 0x8_01a3_b000n, 0x4000n, IOMMU_READ), -22);
    assert.ok(m.trace.log.some((l) => l.text === 'iommu: unaligned: iova 0xbff40000 pa 0x0000000801a3b000 size 0x4000 min_pagesz 0x4000'));
    assert.equal(iommuMap(m, d, 0xbff40000n, 0x8_01a3_8000n, 0x4000n, IOMMU_READ), 0);
    const b = m.allocPages(0, 'b');
    assert.ok(b);
    assert.equal(dmaMapPhys(m, nvme1, b.phys + 0x1000n, 0x800n, DMA_TO_DEVICE, 0), 0xffffd000n);
  });
});

describe('engine: dma-direct and swiotlb (scenario 08)', () => {
  it('bounces what a 32-bit device cannot reach, copies by direction, and runs out with the kernel message', () => {
    const m = machine({ swiotlb: 4n << 20n, cpus: 4 });
    const old = m.addDevice({ name: 'old', bus: 'pci', busId: '0000:07:00.0', iommus: [], dmaMask: 32 }, 1);
    const hi = m.physBuffer(0x1_8000_0000n, 8192n, 'hi');
    m.cpuWrite(hi.phys, bytes('far'));
    const h = dmaMapPhys(m, old, hi.phys, 8192n, DMA_BIDIRECTIONAL, 0);
    assert.ok(h < 0x1_0000_0000n);
    assert.equal(m.mappings.findByDma(h)?.bounce, h);
    assert.equal(text(devRead(m, old, h, 3, null).bytes), 'far');
    devWrite(m, old, h + 4n, bytes('back'), null);
    dmaUnmapPhys(m, old, h, 8192n, DMA_BIDIRECTIONAL, 0);
    assert.equal(text(m.cpuRead(hi.phys + 4n, 4)), 'back');
    const big = m.physBuffer(0x1_9000_0000n, 4n << 20n, 'big');
    const hs: bigint[] = [];
    for (let i = 0n; i < 16n; i++) hs.push(dmaMapPhys(m, old, big.phys + i * 0x40000n, 0x40000n, DMA_TO_DEVICE, 0));
    assert.ok(hs.every((x) => x !== DMA_MAPPING_ERROR));
    assert.equal(dmaMapPhys(m, old, hi.phys, 4096n, DMA_TO_DEVICE, 0), DMA_MAPPING_ERROR);
    assert.ok(m.trace.log.some((l) => l.text === 'old 0000:07:00.0: swiotlb buffer is full (sz: 4096 bytes), total 2048 (slots), used 2048 (slots)'));
    for (const x of hs) dmaUnmapPhys(m, old, x, 0x40000n, DMA_TO_DEVICE, 0);
    assert.equal(m.debug.pendingEntries().length, 0);
    assert.equal(m.swiotlb?.used, 0);
  });
});

describe('engine: non-coherent device and the CPU cache (scenario 04, last part)', () => {
  it('the device sees stale data until sync_for_device, the CPU until sync_for_cpu', () => {
    const m = machine({ swiotlb: 0n });
    const cam = m.addDevice({ name: 'cam', bus: 'platform', busId: 'cam0', iommus: [], coherent: false, dmaMask: 64 }, 1);
    const cmd = m.allocPages(0, 'cmd');
    assert.ok(cmd);
    m.cpuWrite(cmd.phys, bytes('old'));
    const hc = dmaMapPhys(m, cam, cmd.phys, 4096n, DMA_TO_DEVICE, 0);
    m.cpuWrite(cmd.phys, bytes('new'));
    assert.ok(m.trace.checks.some((c) => c.id === 'cpu-access-device-owned' && c.message.includes('owned by the device')));
    assert.equal(text(devRead(m, cam, hc, 3, null).bytes), 'old');
    assert.ok(m.trace.checks.some((c) => c.id === 'stale-device-read'));
    dmaSyncSingleForDevice(m, cam, hc, 4096n, DMA_TO_DEVICE);
    assert.equal(text(devRead(m, cam, hc, 3, null).bytes), 'new');
    dmaUnmapPhys(m, cam, hc, 4096n, DMA_TO_DEVICE, 0);

    const frame = m.allocPages(0, 'frame');
    assert.ok(frame);
    const hf = dmaMapPhys(m, cam, frame.phys, 4096n, DMA_FROM_DEVICE, 0);
    devWrite(m, cam, hf, bytes('pixels'), null);
    const before = m.trace.checks.length;
    assert.notEqual(text(m.cpuRead(frame.phys, 6)), 'pixels');
    assert.ok(m.trace.checks.slice(before).some((c) => c.id === 'stale-cpu-read'));
    dmaSyncSingleForCpu(m, cam, hf, 4096n, DMA_FROM_DEVICE);
    assert.equal(text(m.cpuRead(frame.phys, 6)), 'pixels');
  });
});

describe('engine: snapshots', () => {
  it('a restored snapshot continues exactly like the original', () => {
    const m = machine({ swiotlb: 0n });
    m.addIommu({ name: 'smmu0', kind: 'arm-smmu-v3' }, 1);
    const dev = m.addDevice({ name: 'nvme0', bus: 'pci', busId: '0000:01:00.0', iommus: ['smmu0'], dmaMask: 64, defaultDomain: ['dma'] }, 2);
    const a = m.allocPages(0, 'a');
    assert.ok(a);
    dmaMapPhys(m, dev, a.phys, 4096n, DMA_TO_DEVICE, 0);
    const snap = m.snapshot();
    const next = dmaMapPhys(m, dev, a.phys, 4096n, DMA_TO_DEVICE, 0);
    const r = Machine.restore(snap, m.trace);
    const rdev = r.devices.get('nvme0');
    assert.ok(rdev);
    assert.equal(dmaMapPhys(r, rdev, a.phys, 4096n, DMA_TO_DEVICE, 0), next);
    assert.equal(r.trace.events.length, m.trace.events.length);
  });
});

describe('engine: snapshot of memory', () => {
  it('keeps the byte and 64-bit views of a frame aliased after a clone', () => {
    const mem = new PhysicalMemory([{ start: 0x8000_0000n, end: 0x9000_0000n }]);
    mem.writeU64(0x8000_1000n, 0x1122_3344_5566_7788n);
    const copy = cloneState(mem);
    copy.writeU64(0x8000_1008n, 0xaabbn);
    assert.equal(copy.read(0x8000_1008n, 2)[0], 0xbb);
    assert.equal(copy.read(0x8000_1000n, 1)[0], 0x88);
    assert.equal(mem.readU64(0x8000_1008n), 0n, 'the original is untouched');
  });
});

describe('engine: CONFIG_SWIOTLB_DYNAMIC', () => {
  it('a full pool hands out a transient pool below 4 GiB, freed at unmap', () => {
    const m = machine({ swiotlb: 1n << 20n, swiotlbDynamic: true, cpus: 1 });
    const old = m.addDevice({ name: 'old', bus: 'pci', busId: '0000:07:00.0', iommus: [], dmaMask: 32 }, 1);
    const big = m.physBuffer(0x1_9000_0000n, 2n << 20n, 'big');
    const hs: bigint[] = [];
    for (let i = 0n; i < 4n; i++) hs.push(dmaMapPhys(m, old, big.phys + i * 0x40000n, 0x40000n, DMA_TO_DEVICE, 0));
    const used = m.pages.used.length;
    const extra = dmaMapPhys(m, old, big.phys + 0x100000n, 0x40000n, DMA_TO_DEVICE, 0);
    assert.notEqual(extra, DMA_MAPPING_ERROR);
    assert.ok(extra < 0x1_0000_0000n);
    assert.ok(m.swiotlb?.isSwiotlbBuffer(extra));
    assert.equal(m.pages.used.length, used + 1, 'the transient pool came from the page allocator');
    dmaUnmapPhys(m, old, extra, 0x40000n, DMA_TO_DEVICE, 0);
    assert.equal(m.pages.used.length, used, 'and went back to it');
    for (const h of hs) dmaUnmapPhys(m, old, h, 0x40000n, DMA_TO_DEVICE, 0);
    assert.equal(m.swiotlb?.used, 0);
  });
});
