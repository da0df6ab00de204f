import { strict as assert } from 'assert';
import fc from 'fast-check';
import { EEXIST, EFAULT, EINVAL, ENOMEM, KernelError } from '../../src/engine/errno';
import { AmdV1IoPgtable, IOMMU_PTE_PR, PM_ADDR_MASK, pmLevelSize } from '../../src/engine/io-pgtable/amd-v1';
import { AppleDartIoPgtable } from '../../src/engine/io-pgtable/apple-dart';
import { allocIoPgtableOps, defaultPgsizeBitmap, IoPgtableAllocConfig, IoPgtableFmt } from '../../src/engine/io-pgtable/formats';
import { GenericIoPgtable, RadixIoPgtable } from '../../src/engine/io-pgtable/generic-pt';
import {
  DescriptorFetch, IOMMU_READ, IOMMU_WRITE, IoPgtableOps, PgtableHooks, TableAllocator, WalkResult,
} from '../../src/engine/io-pgtable/types';
import { VtdFirstStageIoPgtable } from '../../src/engine/io-pgtable/vtd-first-stage';
import { VtdSecondStageIoPgtable } from '../../src/engine/io-pgtable/vtd-second-stage';
import { PhysicalMemory } from '../../src/engine/memory/physmem';
import { cloneState } from '../../src/engine/snapshot';

const K = 1n << 10n;
const M = 1n << 20n;
const G = 1n << 30n;
const RW = IOMMU_READ | IOMMU_WRITE;

/** Bump allocator for table pages that tracks what is live, for leak checks. */
class TestTables implements TableAllocator {
  private next = 0x8_0000_0000n;
  readonly live = new Map<bigint, number>();

  constructor(private readonly mem: PhysicalMemory) {}

  allocTable(bytes: number): bigint {
    const b = BigInt(bytes);
    this.next = (this.next + b - 1n) & ~(b - 1n);
    const addr = this.next;
    this.next += b;
    this.mem.fill(addr, bytes, 0);
    this.live.set(addr, bytes);
    return addr;
  }

  freeTable(addr: bigint, bytes: number): void {
    assert.equal(this.live.get(addr), bytes, `free of a table not allocated: 0x${addr.toString(16)}`);
    this.live.delete(addr);
  }
}

interface Rig {
  mem: PhysicalMemory;
  tables: TestTables;
  warnings: string[];
  hooks: PgtableHooks;
}

function rig(): Rig {
  const mem = new PhysicalMemory([{ start: 0n, end: 1n << 52n }]);
  const tables = new TestTables(mem);
  const warnings: string[] = [];
  return { mem, tables, warnings, hooks: { mem, alloc: tables, warn: (f, w) => warnings.push(`${f}: ${w}`) } };
}

/** __iommu_map's loop: formats may map less than asked (DART stops at a table's end). */
function mapAll(ops: IoPgtableOps, iova: bigint, paddr: bigint, pgsize: bigint, count: number, prot: number): number {
  let done = 0n;
  const size = pgsize * BigInt(count);
  while (done < size) {
    const left = Number((size - done) / pgsize);
    const r = ops.mapPages(iova + done, paddr + done, pgsize, left, prot);
    done += r.mapped;
    if (r.ret) return r.ret;
    if (!r.mapped) return -EINVAL;
  }
  return 0;
}

/** __iommu_unmap's loop. */
function unmapAll(ops: IoPgtableOps, iova: bigint, pgsize: bigint, count: number): bigint {
  const size = pgsize * BigInt(count);
  let done = 0n;
  while (done < size) {
    const left = (size - done + pgsize - 1n) / pgsize;
    const n = ops.unmapPages(iova + done, pgsize, Number(left));
    if (!n) break;
    done += n;
  }
  return done;
}

// ---- reference model ----

interface Mapping {
  iova: bigint;
  size: bigint;
  pgsize: bigint;
  count: number;
  phys: bigint;
  prot: number;
}

interface FormatCase {
  title: string;
  fmt: IoPgtableFmt;
  cfg: IoPgtableAllocConfig;
  /** Page sizes the property test maps with. */
  sizes: bigint[];
  iovaBase: bigint;
  window: bigint;
  physBase: bigint;
  /** Walk levels run downwards (VT-d, AMD, DART) or upwards (generic, Arm). */
  descending: boolean;
  /** What the hardware grants for IOMMU_* prot. */
  perms(prot: number): { read: boolean; write: boolean };
}

const exact = (prot: number): { read: boolean; write: boolean } => ({ read: (prot & IOMMU_READ) !== 0, write: (prot & IOMMU_WRITE) !== 0 });
// x86 paging has no write-only: present means readable.
const x86 = (prot: number): { read: boolean; write: boolean } => ({ read: true, write: (prot & IOMMU_WRITE) !== 0 });
const armS1 = x86;

function cfg(granule: bigint, ias: number, oas: number, extra: Partial<IoPgtableAllocConfig> = {}): IoPgtableAllocConfig {
  return { granule, ias, oas, pageSize: 4n * K, ...extra };
}

const CASES: FormatCase[] = [
  { title: 'vtd-first aw 48', fmt: 'vtd-first', cfg: cfg(4n * K, 48, 52), sizes: [4n * K, 2n * M, G], iovaBase: (1n << 47n) - 4n * G, window: 4n * G, physBase: 0xf_ff00_0000_0000n, descending: true, perms: x86 },
  { title: 'vtd-first aw 57', fmt: 'vtd-first', cfg: cfg(4n * K, 57, 52), sizes: [4n * K, 2n * M, G], iovaBase: (1n << 56n) - 4n * G, window: 4n * G, physBase: 0xf_ff00_0000_0000n, descending: true, perms: x86 },
  { title: 'vtd-second aw 48', fmt: 'vtd-second', cfg: cfg(4n * K, 48, 52), sizes: [4n * K, 2n * M, G], iovaBase: (1n << 48n) - 4n * G, window: 4n * G, physBase: 0xf_ff00_0000_0000n, descending: true, perms: exact },
  { title: 'vtd-second aw 57', fmt: 'vtd-second', cfg: cfg(4n * K, 57, 52), sizes: [4n * K, 2n * M, G], iovaBase: (1n << 57n) - 4n * G, window: 4n * G, physBase: 0xf_ff00_0000_0000n, descending: true, perms: exact },
  { title: 'vtd-second aw 39', fmt: 'vtd-second', cfg: cfg(4n * K, 39, 52), sizes: [4n * K, 2n * M, G], iovaBase: (1n << 39n) - 4n * G, window: 4n * G, physBase: 0x12_3400_0000n, descending: true, perms: exact },
  { title: 'amd-v1 above 2^39', fmt: 'amd-v1', cfg: cfg(4n * K, 52, 52), sizes: [4n * K, 8n * K, 64n * K, M, 2n * M, 4n * M, G], iovaBase: 0x7f_0000_0000n, window: 4n * G, physBase: 0xf_fe00_0000_0000n, descending: true, perms: exact },
  { title: 'amd-v1 low, growing to 2^60', fmt: 'amd-v1', cfg: cfg(4n * K, 52, 52), sizes: [4n * K, 16n * K, 2n * M, 32n * M], iovaBase: 0n, window: 1n << 61n, physBase: 0x1_0000_0000n, descending: true, perms: exact },
  { title: 'apple-dart 16K ias 32 (DART1)', fmt: 'apple-dart', cfg: cfg(16n * K, 32, 36), sizes: [16n * K], iovaBase: 0n, window: 1n << 32n, physBase: 0xc_0000_0000n, descending: true, perms: exact },
  { title: 'apple-dart 16K ias 32 (DART2)', fmt: 'apple-dart', cfg: cfg(16n * K, 32, 42), sizes: [16n * K], iovaBase: 0n, window: 1n << 32n, physBase: 0x3f0_0000_0000n, descending: true, perms: exact },
  { title: 'apple-dart 4K ias 32 (4 TTBRs)', fmt: 'apple-dart', cfg: cfg(4n * K, 32, 36), sizes: [4n * K], iovaBase: 0n, window: 1n << 32n, physBase: 0xc_0000_0000n, descending: true, perms: exact },
  { title: 'apple-dart 4K ias 36 (3 levels)', fmt: 'apple-dart', cfg: cfg(4n * K, 36, 36), sizes: [4n * K], iovaBase: 0n, window: 1n << 36n, physBase: 0xc_0000_0000n, descending: true, perms: exact },
  { title: 'generic 4K, 2 levels, ias 32', fmt: 'generic', cfg: cfg(4n * K, 32, 48, { levels: 2 }), sizes: [4n * K], iovaBase: 0n, window: 1n << 32n, physBase: 0xff_0000_0000n, descending: false, perms: exact },
  { title: 'generic 16K, ias 36', fmt: 'generic', cfg: cfg(16n * K, 36, 48), sizes: [16n * K], iovaBase: 0n, window: 1n << 36n, physBase: 0xff_0000_0000n, descending: false, perms: exact },
  { title: 'generic 64K, 3 levels, ias 48', fmt: 'generic', cfg: cfg(64n * K, 48, 52), sizes: [64n * K], iovaBase: (1n << 48n) - (1n << 40n), window: 1n << 40n, physBase: 0xf_0000_0000_0000n, descending: false, perms: exact },
  { title: 'generic 4K with 2M/1G blocks, ias 39', fmt: 'generic', cfg: cfg(4n * K, 39, 48, { pgsizeBitmap: 4n * K | 2n * M | G }), sizes: [4n * K, 2n * M, G], iovaBase: 0n, window: 1n << 39n, physBase: 0xff_0000_0000n, descending: false, perms: exact },
  { title: 'arm-lpae-s1 4K', fmt: 'arm-lpae-s1', cfg: cfg(4n * K, 48, 48), sizes: [4n * K, 2n * M, G], iovaBase: (1n << 48n) - 4n * G, window: 4n * G, physBase: 0xff00_0000_0000n, descending: false, perms: armS1 },
  { title: 'arm-lpae-s2 16K', fmt: 'arm-lpae-s2', cfg: cfg(16n * K, 40, 40, { pageSize: 16n * K }), sizes: [16n * K, 32n * M], iovaBase: 0n, window: 1n << 40n, physBase: 0xf0_0000_0000n, descending: false, perms: exact },
];

type Op =
  | { kind: 'map'; slot: bigint; sizeIdx: number; pages: number; physSlot: number; prot: number }
  | { kind: 'unmap'; which: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('map' as const), slot: fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }), sizeIdx: fc.nat(8), pages: fc.integer({ min: 1, max: 40 }), physSlot: fc.nat(4096), prot: fc.constantFrom(IOMMU_READ, IOMMU_WRITE, RW) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unmap' as const), which: fc.nat() }) },
);

/** Slots near each other collide, so tables get shared and reused; some land far apart. */
function placeMapping(c: FormatCase, op: Extract<Op, { kind: 'map' }>): Mapping | undefined {
  const pgsize = c.sizes[op.sizeIdx % c.sizes.length];
  const slots = c.window / pgsize;
  if (slots < 1n) return undefined;
  const near = op.slot & 0xffn;
  const slot = (op.slot & 0x100n ? op.slot >> 9n : near) % slots;
  // Big pages: few of them; DART pages: enough to cross a leaf table's end sometimes.
  const maxCount = pgsize >= G ? 2 : pgsize >= 2n * M ? 3 : c.fmt === 'apple-dart' ? 2100 : 40;
  let count = c.fmt === 'apple-dart' && op.pages > 35 ? maxCount - op.pages : Math.min(op.pages, maxCount);
  if (BigInt(count) > slots - slot) count = Number(slots - slot);
  if (count < 1) return undefined;
  const iova = c.iovaBase + slot * pgsize;
  // Keep the output below 2^oas: physBase is aligned to the largest size used.
  const physSlots = ((1n << BigInt(c.cfg.oas)) - c.physBase) / pgsize - BigInt(count);
  if (physSlots < 1n) return undefined;
  const phys = c.physBase + (BigInt(op.physSlot) % physSlots) * pgsize;
  return { iova, size: pgsize * BigInt(count), pgsize, count, phys, prot: op.prot };
}

function overlaps(live: Mapping[], iova: bigint, size: bigint): boolean {
  return live.some((m) => iova < m.iova + m.size && m.iova < iova + size);
}

function covered(live: Mapping[], va: bigint): Mapping | undefined {
  return live.find((m) => va >= m.iova && va < m.iova + m.size);
}

function checkWalkShape(c: FormatCase, ops: IoPgtableOps, w: WalkResult): void {
  assert.equal(w.accesses, w.steps.length, 'one access per descriptor read');
  for (let i = 1; i < w.steps.length; i++) {
    const step = c.descending ? -1 : 1;
    assert.equal(w.steps[i].level, w.steps[i - 1].level + step, 'levels advance one at a time');
    assert.equal(w.steps[i].descAddr, w.steps[i].table + BigInt(w.steps[i].index) * 8n);
  }
  if (w.steps.length && c.descending && c.fmt !== 'apple-dart') assert.equal(w.steps[0].level, ops.levels, 'walk starts at the root level');
}

function checkModel(c: FormatCase, ops: IoPgtableOps, live: Mapping[], probes: bigint[]): void {
  for (const m of live) {
    const want = c.perms(m.prot);
    for (const off of [0n, m.size - 1n, (m.size / 2n) | 0x18n]) {
      if (off >= m.size) continue;
      const va = m.iova + off;
      const w = ops.walk(va);
      assert.equal(w.fault, undefined, `walk of mapped 0x${va.toString(16)} faulted: ${JSON.stringify(w.fault)}`);
      assert.equal(w.phys, m.phys + off, `phys of 0x${va.toString(16)}`);
      assert.equal(w.read, want.read, 'read permission');
      assert.equal(w.write, want.write, 'write permission');
      assert.ok(w.pageSize !== undefined && w.pageSize >= c.cfg.granule && w.pageSize <= (m.pgsize > w.pageSize ? m.pgsize : w.pageSize));
      checkWalkShape(c, ops, w);
      assert.equal(ops.iovaToPhys(va), m.phys + off, `iova_to_phys of 0x${va.toString(16)}`);
    }
  }
  for (const va of probes) {
    if (va < c.iovaBase || va >= c.iovaBase + c.window || covered(live, va)) continue;
    const w = ops.walk(va);
    assert.ok(w.fault, `walk of unmapped 0x${va.toString(16)} translated to 0x${w.phys?.toString(16)}`);
    assert.equal(ops.iovaToPhys(va), 0n);
    if (w.fault.reason === 'address-size' && ops instanceof AmdV1IoPgtable) {
      // Beyond what the current number of levels covers: nothing is read.
      assert.ok(va > pmLevelSize(ops.levels));
      assert.deepEqual([w.fault.level, w.steps.length], [ops.levels, 0]);
      continue;
    }
    assert.equal(w.fault.reason, 'translation');
    assert.equal(w.fault.level, w.steps[w.steps.length - 1].level, 'fault is at the level of the last read');
    checkWalkShape(c, ops, w);
  }
}

describe('io-pgtable formats', () => {
  describe('map/unmap/walk round trips against a reference model', () => {
    for (const c of CASES) {
      it(c.title, () => {
        fc.assert(
          fc.property(fc.array(opArb, { minLength: 1, maxLength: 14 }), fc.array(fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }), { maxLength: 8 }), (opList, extraProbes) => {
            const r = rig();
            const ops = allocIoPgtableOps(c.fmt, c.cfg, r.hooks);
            const live: Mapping[] = [];
            const probes: bigint[] = [];
            for (const op of opList) {
              if (op.kind === 'map') {
                const m = placeMapping(c, op);
                if (!m || overlaps(live, m.iova, m.size)) continue;
                const ret = mapAll(ops, m.iova, m.phys, m.pgsize, m.count, m.prot);
                assert.equal(ret, 0, `map ${JSON.stringify({ iova: m.iova.toString(16), size: m.size.toString(16) })}: ${ret} ${r.warnings.join('; ')}`);
                live.push(m);
                probes.push(m.iova - c.cfg.granule, m.iova + m.size, m.iova + m.size + 2n * M, m.iova - G);
              } else if (live.length) {
                const [m] = live.splice(op.which % live.length, 1);
                assert.equal(unmapAll(ops, m.iova, m.pgsize, m.count), m.size, 'unmapped what was mapped');
                probes.push(m.iova, m.iova + m.size - 1n);
              }
            }
            for (const p of extraProbes) probes.push(c.iovaBase + (p % c.window));
            checkModel(c, ops, live, probes);
            assert.deepEqual(r.warnings, [], 'conflict-free sequences raise no WARN');

            // Unmap the rest, then nothing translates and free() returns every table.
            for (const m of live.splice(0)) assert.equal(unmapAll(ops, m.iova, m.pgsize, m.count), m.size);
            checkModel(c, ops, [], probes);
            if (ops instanceof RadixIoPgtable) {
              assert.deepEqual(ops.tablePages().map((t) => t.addr).sort(), [...r.tables.live.keys()].sort(), 'owned tables are the live ones');
            }
            ops.free();
            assert.equal(r.tables.live.size, 0, 'no table leaked after free()');
          }),
          { numRuns: 40 },
        );
      });
    }
  });

  describe('VT-d first stage', () => {
    it('reads 4 descriptors for a 4K page, 3 for a 2M superpage, 2 for 1G', () => {
      const r = rig();
      const ops = new VtdFirstStageIoPgtable({ aw: 48 }, r.hooks);
      assert.equal(ops.levels, 4);
      assert.deepEqual(ops.mapPages(0x1000n, 0x8_0000_1000n, 4n * K, 1, RW), { mapped: 4n * K, ret: 0 });
      assert.deepEqual(ops.mapPages(0x4020_0000n, 0x9_0020_0000n, 2n * M, 1, RW), { mapped: 2n * M, ret: 0 });
      assert.deepEqual(ops.mapPages(0x80_0000_0000n, 0x40_0000_0000n, G, 1, IOMMU_READ), { mapped: G, ret: 0 });
      const w4k = ops.walk(0x1234n);
      assert.equal(w4k.accesses, 4);
      assert.deepEqual(w4k.steps.map((s) => s.level), [4, 3, 2, 1]);
      assert.equal(w4k.phys, 0x8_0000_1234n);
      const w2m = ops.walk(0x4020_0000n + 0x1_2345n);
      assert.equal(w2m.accesses, 3);
      assert.equal(w2m.leafLevel, 2);
      assert.equal(w2m.pageSize, 2n * M);
      assert.equal(w2m.phys, 0x9_0021_2345n);
      const w1g = ops.walk(0x80_1234_5678n);
      assert.equal(w1g.accesses, 2);
      assert.equal(w1g.pageSize, G);
      assert.equal(w1g.write, false);
      assert.equal(w1g.read, true);
    });

    it('promotes a 4K-page map to superpages where iova, phys and length allow (__domain_mapping)', () => {
      const r = rig();
      const ops = new VtdFirstStageIoPgtable({ aw: 48 }, r.hooks);
      // 1 page before a 2M boundary, then 512 pages that fill it, then one more.
      assert.equal(ops.mapPages(0x1ff000n, 0x3ff000n, 4n * K, 514, RW).ret, 0);
      assert.equal(ops.walk(0x1ff000n).leafLevel, 1);
      assert.equal(ops.walk(0x200000n).leafLevel, 2);
      assert.equal(ops.walk(0x3fffffn).phys, 0x5fffffn);
      assert.equal(ops.walk(0x400000n).leafLevel, 1);
    });

    it('reads 5 descriptors with aw 57', () => {
      const r = rig();
      const ops = new VtdFirstStageIoPgtable({ aw: 57 }, r.hooks);
      assert.equal(ops.levels, 5);
      const iova = (1n << 55n) + 0x1000n;
      assert.equal(ops.mapPages(iova, 0x1000n, 4n * K, 1, RW).ret, 0);
      const w = ops.walk(iova + 8n);
      assert.equal(w.accesses, 5);
      assert.deepEqual(w.steps.map((s) => s.level), [5, 4, 3, 2, 1]);
      assert.equal(w.phys, 0x1008n);
    });

    it('faults with address-size at or above the canonical aperture 2^(aw-1)', () => {
      const r = rig();
      const ops = new VtdFirstStageIoPgtable({ aw: 48 }, r.hooks);
      const top = 1n << 47n;
      assert.equal(ops.mapPages(top - 4n * K, 0x5000n, 4n * K, 1, RW).ret, 0);
      assert.equal(ops.walk(top - 1n).phys, 0x5fffn);
      const w = ops.walk(top);
      assert.deepEqual(w.fault, { level: 4, reason: 'address-size', stage: 1 });
      assert.equal(w.accesses, 0);
      // intel_iommu_map only checks 2^gaw: the PTE is written but the hardware never uses it.
      assert.equal(ops.mapPages(top, 0x6000n, 4n * K, 1, RW).ret, 0);
      assert.equal(ops.iovaToPhys(top), 0x6000n);
      assert.equal(ops.walk(top).fault?.reason, 'address-size');
      assert.equal(ops.mapPages((1n << 48n) - 4n * K, 0x7000n, 4n * K, 2, RW).ret, -EFAULT);
      assert.match(r.warnings[0], /iommu width \(48\) is not sufficient/);
    });

    it('presets accessed and dirty bits and decodes U/S and R/W', () => {
      const r = rig();
      const ops = new VtdFirstStageIoPgtable({ aw: 48 }, r.hooks);
      ops.mapPages(0x1000n, 0x2000n, 4n * K, 1, RW);
      ops.mapPages(0x3000n, 0x4000n, 4n * K, 1, IOMMU_READ);
      ops.mapPages(0x5000n, 0x6000n, 4n * K, 1, IOMMU_WRITE);
      const rw = ops.walk(0x1000n);
      assert.equal(rw.steps[3].desc, 0x2000n | 0x67n); // P RW US A D
      assert.equal(rw.steps[0].desc & 0xfffn, 0x27n); // P RW US A
      assert.equal(ops.walk(0x3000n).steps[3].desc, 0x4000n | 0x25n); // P US A
      const wo = ops.walk(0x5000n);
      assert.deepEqual([wo.read, wo.write], [true, true]);
      // Clearing U/S in the leaf removes all access.
      r.mem.writeU64(rw.steps[3].descAddr, rw.steps[3].desc & ~4n);
      const nu = ops.walk(0x1000n);
      assert.deepEqual([nu.read, nu.write], [false, false]);
    });

    it('faults at the level of the first empty entry', () => {
      const r = rig();
      const ops = new VtdFirstStageIoPgtable({ aw: 48 }, r.hooks);
      const x = 0x12_3456_7000n;
      let w = ops.walk(x);
      assert.deepEqual(w.fault, { level: 4, reason: 'translation', stage: 1 });
      assert.equal(w.accesses, 1);
      ops.mapPages(x, 0x1000n, 4n * K, 1, RW);
      assert.equal(ops.walk(x + 4n * K).fault?.level, 1);
      assert.equal(ops.walk(x + 4n * K).accesses, 4);
      assert.equal(ops.walk(x + 2n * M).fault?.level, 2);
      assert.equal(ops.walk(x + G).fault?.level, 3);
      w = ops.walk(x + 512n * G);
      assert.equal(w.fault?.level, 4);
      assert.equal(w.accesses, 1);
    });
  });

  describe('VT-d second stage', () => {
    it('grants write-only and read-only as mapped, aperture 2^aw', () => {
      const r = rig();
      const ops = new VtdSecondStageIoPgtable({ aw: 48 }, r.hooks);
      ops.mapPages(0x1000n, 0x2000n, 4n * K, 1, IOMMU_WRITE);
      ops.mapPages(0x3000n, 0x4000n, 4n * K, 1, IOMMU_READ);
      const wo = ops.walk(0x1000n);
      assert.deepEqual([wo.read, wo.write], [false, true]);
      assert.equal(wo.steps[3].desc, 0x2002n);
      assert.equal(wo.steps[2].desc & 0xfffn, 3n);
      const ro = ops.walk(0x3000n);
      assert.deepEqual([ro.read, ro.write], [true, false]);
      assert.equal(ops.walk(1n << 47n).fault?.reason, 'translation');
      assert.deepEqual(ops.walk(1n << 48n).fault, { level: 4, reason: 'address-size', stage: 1 });
    });

    it('superpage leaves set bit 7 and read 3 descriptors on 4 levels, 4 on 5 levels', () => {
      for (const [aw, reads] of [[48, 3], [57, 4]] as const) {
        const r = rig();
        const ops = new VtdSecondStageIoPgtable({ aw }, r.hooks);
        ops.mapPages(0x20_0000n, 0x4020_0000n, 2n * M, 1, RW);
        const w = ops.walk(0x20_0000n);
        assert.equal(w.accesses, reads);
        assert.equal(w.steps[w.steps.length - 1].desc, 0x4020_0000n | 0x83n);
      }
    });

    it('warns and keeps the old PTE when a 4K PTE is already set', () => {
      const r = rig();
      const ops = new VtdSecondStageIoPgtable({ aw: 48 }, r.hooks);
      ops.mapPages(0x1000n, 0x2000n, 4n * K, 1, RW);
      assert.equal(ops.mapPages(0x1000n, 0x9000n, 4n * K, 1, RW).ret, 0);
      assert.match(r.warnings[0], /^__domain_mapping: ERROR: DMA PTE for vPFN 0x1 already set \(to 2003 not 9003\)/);
      assert.equal(ops.iovaToPhys(0x1000n), 0x2000n);
    });

    it('unmapping part of a superpage unmaps all of it (intel_iommu_unmap grows the size)', () => {
      const r = rig();
      const ops = new VtdSecondStageIoPgtable({ aw: 48 }, r.hooks);
      ops.mapPages(0x20_0000n, 0x4020_0000n, 2n * M, 1, RW);
      assert.equal(ops.unmapPages(0x20_0000n, 4n * K, 1), 2n * M);
      assert.equal(ops.walk(0x3f_f000n).fault?.level, 2);
    });

    it('a superpage over emptied 4K tables frees them (switch_to_super_page)', () => {
      const r = rig();
      const ops = new VtdSecondStageIoPgtable({ aw: 48 }, r.hooks);
      ops.mapPages(0x20_1000n, 0x1000n, 4n * K, 1, RW);
      const withTable = r.tables.live.size;
      assert.equal(ops.unmapPages(0x20_1000n, 4n * K, 1), 4n * K);
      assert.equal(r.tables.live.size, withTable, 'unmap keeps the level-1 table');
      ops.mapPages(0x20_0000n, 0x4020_0000n, 2n * M, 1, RW);
      assert.equal(r.tables.live.size, withTable - 1, 'the level-1 table went away');
      assert.equal(ops.walk(0x20_1000n).leafLevel, 2);
    });
  });

  describe('AMD v1', () => {
    it('grows from 3 levels on demand up to 6, keeping earlier mappings', () => {
      const r = rig();
      const ops = new AmdV1IoPgtable({ ias: 52, oas: 52 }, r.hooks);
      assert.equal(ops.levels, 3);
      ops.mapPages(0x1000n, 0x5000n, 4n * K, 1, RW);
      const root3 = ops.root;
      assert.equal(ops.walk(0x1000n).accesses, 3);
      assert.deepEqual(ops.walk(1n << 39n).fault, { level: 3, reason: 'address-size', stage: 1 });

      assert.equal(ops.mapPages(1n << 39n, 0x6000n, 4n * K, 1, RW).ret, 0);
      assert.equal(ops.levels, 4);
      assert.notEqual(ops.root, root3);
      const pde = r.mem.readU64(ops.root);
      assert.equal(pde & PM_ADDR_MASK, root3, 'entry 0 of the new root is the old root');
      assert.equal((pde >> 9n) & 7n, 3n, 'NextLevel 3');
      assert.equal(pde & IOMMU_PTE_PR, 1n);
      const low = ops.walk(0x1000n);
      assert.equal(low.accesses, 4);
      assert.deepEqual(low.steps.map((s) => s.level), [4, 3, 2, 1]);
      assert.equal(low.phys, 0x5000n);

      assert.equal(ops.mapPages(1n << 60n, 0x7000n, 4n * K, 1, IOMMU_READ).ret, 0);
      assert.equal(ops.levels, 6);
      const hi = ops.walk((1n << 60n) + 0x123n);
      assert.equal(hi.accesses, 6);
      assert.equal(hi.phys, 0x7123n);
      assert.deepEqual([hi.read, hi.write], [true, false]);
      assert.equal(ops.walk(0x1000n).phys, 0x5000n);
      assert.equal(ops.walk((1n << 63n) + 0x1000n).fault?.level, 6);
      ops.free();
      assert.equal(r.tables.live.size, 0);
    });

    it('faults at the level of the first empty entry', () => {
      const r = rig();
      const ops = new AmdV1IoPgtable({ ias: 52, oas: 52 }, r.hooks);
      const x = 0x812_3456_7000n; // above 2^39: needs 4 levels
      assert.equal(ops.mapPages(x, 0x1000n, 4n * K, 1, RW).ret, 0);
      assert.equal(ops.levels, 4);
      assert.deepEqual(ops.walk(x + 4n * K).fault, { level: 1, reason: 'translation', stage: 1 });
      assert.equal(ops.walk(x + 2n * M).fault?.level, 2);
      assert.equal(ops.walk(x + G).fault?.level, 3);
      const w = ops.walk(x + 512n * G);
      assert.deepEqual([w.fault?.level, w.accesses], [4, 1]);
    });

    it('survives a snapshot: the clone grows and maps independently', () => {
      const r = rig();
      const ops = new AmdV1IoPgtable({ ias: 52, oas: 52 }, r.hooks);
      ops.mapPages(0x1000n, 0x2000n, 4n * K, 1, RW);
      const copy = cloneState(ops);
      assert.ok(copy instanceof AmdV1IoPgtable);
      assert.equal(copy.mapPages(1n << 50n, 0x3000n, 4n * K, 1, RW).ret, 0);
      assert.equal(copy.levels, 5);
      assert.equal(copy.walk((1n << 50n) + 4n).phys, 0x3004n);
      assert.equal(ops.levels, 3);
      assert.equal(ops.walk(0x1004n).phys, 0x2004n);
      assert.equal(ops.walk(1n << 50n).fault?.reason, 'address-size');
    });

    it('stops growing at amd_iommu_hpt_level', () => {
      const r = rig();
      const ops = new AmdV1IoPgtable({ ias: 48, oas: 52, maxLevel: 4 }, r.hooks);
      assert.equal(ops.mapPages(1n << 48n, 0x1000n, 4n * K, 1, RW).ret, -ENOMEM);
      assert.match(r.warnings[0], /increase_address_space/);
      assert.equal(ops.levels, 4);
    });

    it('a large page level grows the table too (1G needs mode 3, 512G-level sizes need 4)', () => {
      const r = rig();
      const ops = new AmdV1IoPgtable({ ias: 52, oas: 52 }, r.hooks);
      assert.equal(ops.mapPages(0n, 0n, 1024n * G, 1, RW).ret, 0);
      assert.equal(ops.levels, 4);
      const w = ops.walk(0x1234n);
      assert.equal(w.pageSize, 1024n * G);
      assert.equal(w.accesses, 1);
    });

    it('maps non-natural sizes as replicated NextLevel-7 PTEs and unmaps them whole', () => {
      const r = rig();
      const ops = new AmdV1IoPgtable({ ias: 52, oas: 52 }, r.hooks);
      assert.equal(ops.mapPages(0x10_0000n, 0x4_0010_0000n, 64n * K, 1, RW).ret, 0);
      const w = ops.walk(0x10_9abcn);
      assert.equal(w.accesses, 3);
      assert.equal(w.pageSize, 64n * K);
      assert.equal(w.phys, 0x4_0010_9abcn);
      const leaf = w.steps[2];
      assert.equal((leaf.desc >> 9n) & 7n, 7n);
      // 16 copies; 0x..7000 is 64K with the size's bit 15 clear below bits 12-14 set.
      for (let i = 0; i < 16; i++) assert.equal(r.mem.readU64(leaf.table + BigInt(0x100 + i) * 8n), leaf.desc);
      assert.equal(leaf.desc & PM_ADDR_MASK, 0x4_0010_7000n);
      assert.equal(ops.iovaToPhys(0x10_fff0n), 0x4_0010_fff0n);
      assert.equal(ops.unmapPages(0x10_4000n, 4n * K, 1), 64n * K);
      assert.equal(ops.walk(0x10_0000n).fault?.level, 1);
    });

    it('overwrites an existing mapping and replacing a table frees it', () => {
      const r = rig();
      const ops = new AmdV1IoPgtable({ ias: 52, oas: 52 }, r.hooks);
      ops.mapPages(0x1000n, 0x2000n, 4n * K, 1, RW);
      assert.equal(ops.mapPages(0x1000n, 0x9000n, 4n * K, 1, IOMMU_READ).ret, 0);
      assert.equal(ops.iovaToPhys(0x1000n), 0x9000n);
      const before = r.tables.live.size;
      assert.equal(ops.mapPages(0n, 0x4000_0000n, 2n * M, 1, RW).ret, 0);
      assert.equal(r.tables.live.size, before - 1);
      assert.equal(ops.walk(0x1000n).phys, 0x4000_1000n);
      assert.deepEqual(r.warnings, []);
    });
  });

  describe('Apple DART', () => {
    it('16K granule, ias 32: one TTBR, 2 table levels of 2048 entries, DART1 descriptors', () => {
      const r = rig();
      const ops = new AppleDartIoPgtable({ granule: 16n * K, ias: 32, oas: 36 }, r.hooks);
      assert.equal(ops.levels, 2);
      assert.equal(ops.ttbr.length, 1);
      assert.equal(r.tables.live.get(ops.root), 16384);
      assert.equal(ops.mapPages(0xfff0_0000n, 0x8_1234_4000n, 16n * K, 1, IOMMU_READ).ret, 0);
      const w = ops.walk(0xfff0_0abcn);
      assert.equal(w.accesses, 2);
      assert.deepEqual(w.steps.map((s) => s.level), [2, 1]);
      assert.equal(w.steps[0].index, 0xfff0_0000 >>> 25);
      assert.equal(w.steps[1].index, (0xfff0_0000 >>> 14) & 2047);
      // VALID | SP_DIS | NO_WRITE | subpage end 0xfff | PA
      assert.equal(w.steps[1].desc, 0x8_1234_4000n | 1n | 2n | (1n << 7n) | (0xfffn << 40n));
      assert.deepEqual([w.read, w.write, w.phys], [true, false, 0x8_1234_4abcn]);
      assert.deepEqual(ops.walk(1n << 32n).fault, { level: 2, reason: 'address-size', stage: 1 });
    });

    it('faults at level 2 without a leaf table and at level 1 inside one', () => {
      const r = rig();
      const ops = new AppleDartIoPgtable({ granule: 16n * K, ias: 32, oas: 36 }, r.hooks);
      ops.mapPages(0x200_0000n, 0x8_0000_0000n, 16n * K, 1, RW);
      assert.deepEqual(ops.walk(0x200_4000n).fault, { level: 1, reason: 'translation', stage: 1 });
      assert.equal(ops.walk(0x200_4000n).accesses, 2);
      assert.deepEqual(ops.walk(0x400_0000n).fault, { level: 2, reason: 'translation', stage: 1 });
      assert.equal(ops.walk(0x400_0000n).accesses, 1);
    });

    it('DART2 shifts the address right by 4 and marks NO_CACHE', () => {
      const r = rig();
      const ops = new AppleDartIoPgtable({ granule: 16n * K, ias: 32, oas: 42 }, r.hooks);
      assert.equal(ops.fmt, 'APPLE_DART2');
      ops.mapPages(0x4000n, 0x3ff_0000_4000n, 16n * K, 1, IOMMU_WRITE);
      const w = ops.walk(0x4000n);
      assert.equal(w.steps[1].desc, (0x3ff_0000_4000n >> 4n) | 1n | 2n | (1n << 3n) | (0xfffn << 40n));
      assert.deepEqual([w.read, w.write, w.phys], [false, true, 0x3ff_0000_4000n]);
    });

    it('4K granule, ias 32: the top two bits pick one of 4 TTBRs', () => {
      const r = rig();
      const ops = new AppleDartIoPgtable({ granule: 4n * K, ias: 32, oas: 36 }, r.hooks);
      assert.equal(ops.ttbr.length, 4);
      ops.mapPages(0xc000_1000n, 0x1000n, 4n * K, 1, RW);
      const w = ops.walk(0xc000_1000n);
      assert.equal(w.steps[0].table, ops.ttbr[3]);
      assert.equal(w.phys, 0x1000n);
      assert.equal(ops.walk(0x4000_1000n).steps[0].table, ops.ttbr[1]);
    });

    it('maps to the end of a leaf table per call, refuses live entries, unmaps up to a hole', () => {
      const r = rig();
      const ops = new AppleDartIoPgtable({ granule: 16n * K, ias: 32, oas: 36 }, r.hooks);
      assert.deepEqual(ops.mapPages(0n, 0x8_0000_0000n, 16n * K, 2049, RW), { mapped: 2048n * 16n * K, ret: 0 });
      assert.deepEqual(ops.mapPages(16n * K, 0x1000_0000n, 16n * K, 1, RW), { mapped: 0n, ret: -EEXIST });
      assert.match(r.warnings[0], /dart_init_pte/);
      assert.equal(ops.unmapPages(2046n * 16n * K, 16n * K, 5), 2n * 16n * K);
      assert.equal(ops.unmapPages(0n, 16n * K, 1), 16n * K);
      assert.equal(ops.unmapPages(0n, 16n * K, 1), 0n);
      assert.match(r.warnings[r.warnings.length - 1], /WARN_ON\(!pte\)/);
    });

    it('rejects configurations the kernel refuses', () => {
      const r = rig();
      assert.throws(() => new AppleDartIoPgtable({ granule: 16n * K, ias: 32, oas: 48 }, r.hooks), KernelError);
      assert.throws(() => new AppleDartIoPgtable({ granule: 64n * K, ias: 32, oas: 36 }, r.hooks), KernelError);
      assert.throws(() => new AppleDartIoPgtable({ granule: 16n * K, ias: 42, oas: 36 }, r.hooks), KernelError);
    });
  });

  describe('generic', () => {
    it('2 levels of 4K with ias 32: a 16K root, 2 reads per walk, documented bits', () => {
      const r = rig();
      const ops = new GenericIoPgtable({ granule: 4n * K, ias: 32, oas: 40, levels: 2 }, r.hooks);
      assert.equal(ops.levels, 2);
      assert.equal(ops.rootBits, 11);
      assert.equal(r.tables.live.get(ops.root), 16384);
      ops.mapPages(0xffff_f000n, 0x12_3456_7000n, 4n * K, 1, IOMMU_READ);
      const w = ops.walk(0xffff_f123n);
      assert.equal(w.accesses, 2);
      assert.deepEqual(w.steps.map((s) => s.level), [1, 2]);
      assert.equal(w.steps[0].index, 2047);
      assert.equal(w.steps[1].desc, 0x12_3456_7000n | 1n | 4n);
      assert.deepEqual([w.read, w.write, w.phys], [true, false, 0x12_3456_7123n]);
      assert.deepEqual(ops.walk(1n << 32n).fault, { level: 1, reason: 'address-size', stage: 1 });
      assert.deepEqual(ops.walk(0x1000n).fault, { level: 1, reason: 'translation', stage: 1 });
      assert.deepEqual(ops.walk(0xffff_e000n).fault, { level: 2, reason: 'translation', stage: 1 });
      assert.equal(ops.mapPages(0xffff_f000n, 0n, 4n * K, 1, RW).ret, -EEXIST);
    });

    it('blocks read fewer descriptors', () => {
      const r = rig();
      const ops = new GenericIoPgtable({ granule: 4n * K, ias: 39, oas: 48, pgsizeBitmap: 4n * K | 2n * M | G }, r.hooks);
      ops.mapPages(2n * M, 4n * M, 2n * M, 1, RW);
      ops.mapPages(G, 2n * G, G, 1, RW);
      assert.equal(ops.walk(2n * M + 5n).accesses, 2);
      assert.equal(ops.walk(G + 5n).accesses, 1);
      assert.equal(ops.unmapPages(2n * M, 4n * K, 1), 0n, 'partial block unmap is refused');
    });

    it('rejects levels that cannot cover ias', () => {
      const r = rig();
      assert.throws(() => new GenericIoPgtable({ granule: 4n * K, ias: 48, oas: 48, levels: 2 }, r.hooks), KernelError);
    });
  });

  describe('nested descriptor fetches', () => {
    /** A stand-in stage-2 walk of 4 reads for every stage-1 descriptor. */
    function nestedFetch(mem: PhysicalMemory, failAt?: number): DescriptorFetch {
      let n = 0;
      return (descAddr) => {
        const nested: WalkResult = { steps: [], phys: descAddr, accesses: 4 };
        if (++n === failAt) return { fault: { steps: [], fault: { level: 2, reason: 'translation', stage: 2 }, accesses: 3 } };
        return { value: mem.readU64(descAddr), nested };
      };
    }

    it('counts each stage-1 read plus its stage-2 walk', () => {
      const r = rig();
      const ops = new VtdFirstStageIoPgtable({ aw: 48 }, r.hooks);
      ops.mapPages(0x1000n, 0x2000n, 4n * K, 1, RW);
      const w = ops.walk(0x1000n, nestedFetch(r.mem));
      assert.equal(w.phys, 0x2000n);
      assert.equal(w.accesses, 4 * 5);
      assert.equal(w.steps[2].nested?.accesses, 4);
    });

    it('reports a stage-2 fault met while fetching a stage-1 descriptor', () => {
      const r = rig();
      const ops = new AmdV1IoPgtable({ ias: 52, oas: 52 }, r.hooks);
      ops.mapPages(0x1000n, 0x2000n, 4n * K, 1, RW);
      const w = ops.walk(0x1000n, nestedFetch(r.mem, 2));
      assert.deepEqual(w.fault, { level: 2, reason: 'translation', stage: 2 });
      assert.equal(w.steps.length, 1);
      assert.equal(w.accesses, 5 + 3);
    });
  });

  describe('allocIoPgtableOps', () => {
    it('builds every format with its default page sizes', () => {
      const want: [IoPgtableFmt, bigint, string, bigint][] = [
        ['arm-lpae-s1', 4n * K, 'arm-lpae ARM_64_LPAE_S1', 4n * K | 2n * M | G],
        ['arm-lpae-s2', 4n * K, 'arm-lpae ARM_64_LPAE_S2', 4n * K | 2n * M | G],
        ['vtd-first', 4n * K, 'vtd-first-stage', 4n * K | 2n * M | G],
        ['vtd-second', 4n * K, 'vtd-second-stage', 4n * K | 2n * M | G],
        ['amd-v1', 4n * K, 'amd-v1', (((1n << 52n) - 1n) & ~(4n * K - 1n)) ^ (512n * G)],
        ['apple-dart', 16n * K, 'apple-dart', 16n * K],
        ['generic', 4n * K, 'generic', 4n * K],
      ];
      for (const [fmt, granule, name, bitmap] of want) {
        const r = rig();
        assert.equal(defaultPgsizeBitmap(fmt, granule), bitmap, fmt);
        const ops = allocIoPgtableOps(fmt, cfg(granule, fmt === 'apple-dart' ? 32 : 48, fmt === 'apple-dart' ? 36 : 48), r.hooks);
        assert.equal(ops.name, name);
        if (fmt !== 'arm-lpae-s1' && fmt !== 'arm-lpae-s2') assert.equal(ops.cfg.pgsizeBitmap, bitmap, fmt);
        assert.equal(ops.mapPages(0x10_0000n, 0x20_0000n, granule, 1, RW).ret, 0, fmt);
        assert.equal(ops.walk(0x10_0010n).phys, 0x20_0010n, fmt);
        ops.free();
        assert.equal(r.tables.live.size, 0, fmt);
      }
    });

    it('refuses granules and level counts a format cannot have', () => {
      const r = rig();
      assert.throws(() => allocIoPgtableOps('vtd-first', cfg(16n * K, 48, 52), r.hooks), (e: unknown) => e instanceof KernelError && e.errno === EINVAL);
      assert.throws(() => allocIoPgtableOps('vtd-second', cfg(4n * K, 48, 52, { levels: 5 }), r.hooks), KernelError);
      assert.throws(() => allocIoPgtableOps('amd-v1', cfg(16n * K, 48, 52), r.hooks), KernelError);
      assert.equal(r.tables.live.size, 0);
      assert.equal(allocIoPgtableOps('vtd-second', cfg(4n * K, 57, 52, { levels: 5 }), r.hooks).levels, 5);
    });
  });
});
