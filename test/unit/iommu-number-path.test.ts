// The number path of a map/unmap (dma-iommu -> iommu core -> io-pgtable with
// addresses as numbers) against the kernel-shaped bigint path it shortcuts:
// the same random driver runs on two identical machines, one with the number
// path and one without, and must give the same DMA addresses, trace events,
// kernel log, mapped ranges and page-table descriptors after every step.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Machine } from '../../src/engine/machine';
import { DEFAULT_PLATFORM } from '../../src/engine/platform';
import type { Device } from '../../src/engine/device';
import { dmaMapPhys, dmaUnmapPhys } from '../../src/engine/dma-mapping/dma-mapping';
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE, type DmaDirection } from '../../src/engine/dma-mapping/dma-direction';
import { dmaDomain, iommuDmaNumberPath, iommuDmaUnmapPhys } from '../../src/engine/dma-mapping/dma-iommu';
import { iommuIovaToPhys, iommuIovaToPhysN, iommuMap, iommuMapN, iommuPagingDomainAlloc, iommuUnmapFast, iommuUnmapFastN } from '../../src/engine/iommu/iommu-core';
import type { IommuDomain } from '../../src/engine/iommu/iommu-domain';
import { ArmLpaeIoPgtable } from '../../src/engine/io-pgtable/arm-lpae';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/engine/io-pgtable/types';
import { DMA_MAPPING_ERROR } from '../../src/engine/u64';

interface Setup {
  granule: bigint;
  coherent: boolean;
  untrusted: boolean;
  swiotlb: bigint;
}

const SETUPS: Setup[] = [
  { granule: 4096n, coherent: true, untrusted: false, swiotlb: 0n },
  { granule: 4096n, coherent: false, untrusted: false, swiotlb: 4n << 20n },
  { granule: 4096n, coherent: true, untrusted: true, swiotlb: 4n << 20n },
  { granule: 16384n, coherent: true, untrusted: false, swiotlb: 0n },
  { granule: 65536n, coherent: true, untrusted: false, swiotlb: 0n },
];

function build(s: Setup): { m: Machine; dev: Device; bufs: bigint[] } {
  const m = new Machine({ ...DEFAULT_PLATFORM, pageSize: s.granule, memory: [{ start: 0x8000_0000n, end: 0x1_8000_0000n }], swiotlb: s.swiotlb });
  m.addIommu({ name: 'smmu0', kind: 'arm-smmu-v3', granule: s.granule, ias: 48, oas: 48 }, 1);
  const dev = m.addDevice({ name: 'nvme0', bus: 'pci', busId: '0000:01:00.0', iommus: ['smmu0'], coherent: s.coherent, untrusted: s.untrusted, dmaMask: 64, defaultDomain: ['dma'] }, 2);
  const bufs: bigint[] = [];
  for (let i = 0; i < 4; i++) {
    const b = m.allocPages(2, `buf${i}`);
    assert.ok(b);
    bufs.push(b.phys);
  }
  return { m, dev, bufs };
}

const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

/** Everything a user can see of the two machines: events, log, mapped ranges, descriptors. */
function state(m: Machine, domain: IommuDomain): string {
  const ops = domain.ops;
  assert.ok(ops instanceof ArmLpaeIoPgtable);
  return json({ events: m.trace.events, ranges: domain.mapped.list(), count: domain.mapped.size, tables: ops.tables() });
}

/**
 * The slow machine's page table walks as the kernel does (lpaeMap, initPte,
 * lpaeUnmap with bigint descriptors): without the halves memory its number
 * walks are off, so the fast machine's are checked against the kernel's.
 */
function kernelShaped(domain: IommuDomain): void {
  const ops = domain.ops;
  assert.ok(ops instanceof ArmLpaeIoPgtable);
  (ops as unknown as { halvesMem: unknown }).halvesMem = null;
}

/** What `f` returned, or the error it threw (a kernel BUG the emulator raises), as text. */
function outcome(f: () => unknown): string {
  try {
    return json(f());
  } catch (e) {
    return `threw ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** outcome(f) with the number path on (fast) or off. */
function withPath(on: boolean, f: () => unknown): string {
  iommuDmaNumberPath.enabled = on;
  try {
    return outcome(f);
  } finally {
    iommuDmaNumberPath.enabled = true;
  }
}

type Step =
  | { op: 'map'; buf: number; offset: number; size: number; dir: number }
  | { op: 'unmap'; pick: number }
  | { op: 'unmap-unknown'; page: number };

const DIRS: DmaDirection[] = [DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL];

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('map' as const), buf: fc.nat(3), offset: fc.constantFrom(0, 0, 0, 64, 4096, 8192), size: fc.constantFrom(4096, 4096, 4096, 16384, 65536, 100, 8192), dir: fc.nat(2) }),
  fc.record({ op: fc.constant('unmap' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('unmap-unknown' as const), page: fc.nat(64) }),
);

describe('iommu number path: dma_map_phys/dma_unmap_phys as the bigint path does them', () => {
  it('gives the same addresses, events, log, ranges and descriptors on any driver run', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SETUPS), fc.array(step, { minLength: 1, maxLength: 40 }), (setup, steps) => {
        const fast = build(setup);
        const slow = build(setup);
        const fastDomain = dmaDomain(fast.dev);
        const slowDomain = dmaDomain(slow.dev);
        assert.ok(fastDomain && slowDomain);
        kernelShaped(slowDomain);
        const live: { dma: bigint; size: bigint; dir: DmaDirection }[] = [];
        for (const s of steps) {
          if (s.op === 'map') {
            const dir = DIRS[s.dir];
            const phys = (b: { bufs: bigint[] }): bigint => b.bufs[s.buf] + BigInt(s.offset);
            const a = withPath(true, () => dmaMapPhys(fast.m, fast.dev, phys(fast), BigInt(s.size), dir, 0));
            const b = withPath(false, () => dmaMapPhys(slow.m, slow.dev, phys(slow), BigInt(s.size), dir, 0));
            assert.equal(a, b);
            if (a.startsWith('threw')) continue;
            const dma = BigInt((JSON.parse(a) as string).slice(0, -1));
            if (dma !== DMA_MAPPING_ERROR) live.push({ dma, size: BigInt(s.size), dir });
          } else if (s.op === 'unmap') {
            if (live.length === 0) continue;
            const [u] = live.splice(s.pick % live.length, 1);
            assert.equal(withPath(true, () => dmaUnmapPhys(fast.m, fast.dev, u.dma, u.size, u.dir, 0)), withPath(false, () => dmaUnmapPhys(slow.m, slow.dev, u.dma, u.size, u.dir, 0)));
          } else {
            // Below dma-mapping's record check: an IOVA with nothing (or something else) mapped.
            const iova: bigint = fastDomain.apertureEnd - BigInt(s.page) * setup.granule - setup.granule + 1n;
            if (live.some((l) => l.dma === iova)) continue;
            assert.equal(withPath(true, () => iommuDmaUnmapPhys(fast.m, fast.dev, iova, setup.granule, DMA_TO_DEVICE, 0)), withPath(false, () => iommuDmaUnmapPhys(slow.m, slow.dev, iova, setup.granule, DMA_TO_DEVICE, 0)));
          }
          assert.equal(state(fast.m, fastDomain), state(slow.m, slowDomain));
        }
      }),
      { numRuns: 150 },
    );
  });
});

type CoreStep = { op: 'map'; page: number; phys: number; pages: number; prot: number } | { op: 'unmap'; page: number; pages: number } | { op: 'lookup'; page: number; off: number };

const coreStep: fc.Arbitrary<CoreStep> = fc.oneof(
  fc.record({ op: fc.constant('map' as const), page: fc.nat(1100), phys: fc.nat(2048), pages: fc.constantFrom(1, 1, 1, 2, 512), prot: fc.constantFrom(IOMMU_READ, IOMMU_WRITE, IOMMU_READ | IOMMU_WRITE, 0) }),
  fc.record({ op: fc.constant('unmap' as const), page: fc.nat(1100), pages: fc.constantFrom(1, 1, 2, 512) }),
  fc.record({ op: fc.constant('lookup' as const), page: fc.nat(1100), off: fc.nat(4095) }),
);

describe('iommu number path: iommu_map/iommu_unmap_fast/iova_to_phys with numbers', () => {
  it('write the same descriptors, ranges, events and log as the bigint calls (live leaves, tables in the way, unaligned, huge pages)', () => {
    fc.assert(
      fc.property(fc.array(coreStep, { minLength: 1, maxLength: 60 }), (steps) => {
        const made = [0, 1].map(() => {
          const m = new Machine({ ...DEFAULT_PLATFORM, memory: [{ start: 0x8000_0000n, end: 0x1_8000_0000n }], swiotlb: 0n });
          m.addIommu({ name: 'smmu0', kind: 'arm-smmu-v3', granule: 4096n, ias: 48, oas: 48 }, 1);
          const dev = m.addDevice({ name: 'gpu0', bus: 'pci', busId: '0000:02:00.0', iommus: ['smmu0'], dmaMask: 64, defaultDomain: ['dma'] }, 2);
          const d = iommuPagingDomainAlloc(m, dev, 'd', false);
          assert.ok(typeof d !== 'number');
          return { m, d };
        });
        const [fast, slow] = made;
        kernelShaped(slow.d);
        // 4 KiB pages from 0x4000_0000 (a 2 MiB block at page 512), physical pages from 0x9000_0000.
        const iovaOf = (page: number): number => 0x4000_0000 + page * 4096;
        for (const s of steps) {
          if (s.op === 'map') {
            const iova = iovaOf(s.page);
            const phys = 0x9000_0000 + (s.pages === 512 ? 0 : s.phys * 4096);
            const size = s.pages * 4096;
            const a = outcome(() => iommuMapN(fast.m, fast.d, BigInt(iova), iova, BigInt(phys), phys, BigInt(size), size, s.prot));
            assert.equal(a, outcome(() => iommuMap(slow.m, slow.d, BigInt(iova), BigInt(phys), BigInt(size), s.prot)));
          } else if (s.op === 'unmap') {
            const iova = iovaOf(s.page);
            const size = s.pages * 4096;
            assert.equal(outcome(() => iommuUnmapFastN(fast.m, fast.d, BigInt(iova), iova, BigInt(size), size)), outcome(() => iommuUnmapFast(slow.m, slow.d, BigInt(iova), BigInt(size))));
          } else {
            const iova = iovaOf(s.page) + s.off;
            assert.equal(BigInt(iommuIovaToPhysN(fast.d, iova)), iommuIovaToPhys(slow.d, BigInt(iova)));
          }
          assert.equal(state(fast.m, fast.d), state(slow.m, slow.d));
        }
      }),
      { numRuns: 200 },
    );
  });
});
