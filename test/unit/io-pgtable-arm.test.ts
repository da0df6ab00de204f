import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { EEXIST, EINVAL, ENOMEM, ERANGE, KernelError } from '../../src/engine/errno';
import { ArmLpaeConfig, ArmLpaeIoPgtable, armLpaeConcatMandatory } from '../../src/engine/io-pgtable/arm-lpae';
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE, PgtableHooks, WalkResult } from '../../src/engine/io-pgtable/types';
import { iommuMapPages, iommuPgsize, iommuUnmapPages } from '../../src/engine/iommu/iommu-pgsize';
import { PhysicalMemory } from '../../src/engine/memory/physmem';

const K = 1024n;
const M = K * K;
const G = M * K;
const RW = IOMMU_READ | IOMMU_WRITE;

type Ev =
  | { ev: 'alloc'; pa: bigint; bytes: number }
  | { ev: 'free'; pa: bigint; bytes: number }
  | { ev: 'flush_all' }
  | { ev: 'flush_walk'; iova: bigint; size: bigint; granule: bigint }
  | { ev: 'add_page'; iova: bigint; granule: bigint }
  | { ev: 'warn'; func: string; what: string };

/** Table pages from a bump allocator at 0x40000000 (as the oracle), with every callback logged. */
class Env {
  readonly mem = new PhysicalMemory([{ start: 0n, end: 1n << 52n }]);
  readonly events: Ev[] = [];
  readonly live = new Map<bigint, number>();
  next = 0x40000000n;
  failAllocs = false;
  readonly hooks: PgtableHooks;

  constructor() {
    this.hooks = {
      mem: this.mem,
      alloc: {
        allocTable: (bytes: number): bigint => {
          if (this.failAllocs) throw new KernelError(ENOMEM, 'out of memory');
          let size = 4096n;
          while (size < BigInt(bytes)) size <<= 1n;
          const pa = (this.next + size - 1n) & ~(size - 1n);
          this.next = pa + size;
          this.live.set(pa, bytes);
          this.events.push({ ev: 'alloc', pa, bytes });
          return pa;
        },
        freeTable: (pa: bigint, bytes: number): void => {
          assert.equal(this.live.get(pa), bytes, `free of ${pa.toString(16)} with the allocation's size`);
          this.live.delete(pa);
          this.events.push({ ev: 'free', pa, bytes });
        },
      },
      tlb: {
        tlbFlushAll: () => this.events.push({ ev: 'flush_all' }),
        tlbFlushWalk: (iova, size, granule) => this.events.push({ ev: 'flush_walk', iova, size, granule }),
        tlbAddPage: (iova, granule) => this.events.push({ ev: 'add_page', iova, granule }),
      },
      warn: (func, what) => this.events.push({ ev: 'warn', func, what }),
    };
  }

  take(): Ev[] {
    return this.events.splice(0);
  }

  pgtable(cfg: Partial<ArmLpaeConfig> = {}): ArmLpaeIoPgtable {
    return new ArmLpaeIoPgtable({ stage: 1, granule: 4n * K, ias: 48, oas: 48, pageSize: 4n * K, ...cfg }, this.hooks);
  }
}

describe('io-pgtable-arm: geometry and registers', () => {
  const cases: { name: string; cfg: Partial<ArmLpaeConfig>; levels: number; start: number; bpl: number; pgdBits: number; concat: boolean }[] = [
    { name: 'C1 S1 4K 48/48', cfg: { granule: 4n * K, ias: 48, oas: 48 }, levels: 4, start: 0, bpl: 9, pgdBits: 9, concat: false },
    { name: 'C2 S1 4K 39/48', cfg: { granule: 4n * K, ias: 39, oas: 48 }, levels: 3, start: 1, bpl: 9, pgdBits: 9, concat: false },
    { name: 'C3 S1 16K 48/48', cfg: { granule: 16n * K, ias: 48, oas: 48 }, levels: 4, start: 0, bpl: 11, pgdBits: 1, concat: false },
    { name: 'C4 S1 16K 36/48', cfg: { granule: 16n * K, ias: 36, oas: 48 }, levels: 2, start: 2, bpl: 11, pgdBits: 11, concat: false },
    { name: 'C5 S1 64K 48/48', cfg: { granule: 64n * K, ias: 48, oas: 48 }, levels: 3, start: 1, bpl: 13, pgdBits: 6, concat: false },
    { name: 'C6 S2 4K 40/40 (2 tables)', cfg: { stage: 2, granule: 4n * K, ias: 40, oas: 40 }, levels: 3, start: 1, bpl: 9, pgdBits: 10, concat: true },
    { name: 'C7 S2 4K 48/48', cfg: { stage: 2, granule: 4n * K, ias: 48, oas: 48 }, levels: 4, start: 0, bpl: 9, pgdBits: 9, concat: false },
    { name: 'S2 4K 42/42 (8 tables)', cfg: { stage: 2, granule: 4n * K, ias: 42, oas: 42 }, levels: 3, start: 1, bpl: 9, pgdBits: 12, concat: true },
    { name: 'S2 4K 40/48 (level 0 allowed since v6.15)', cfg: { stage: 2, granule: 4n * K, ias: 40, oas: 48 }, levels: 4, start: 0, bpl: 9, pgdBits: 1, concat: false },
    { name: 'S2 16K 48/48 (2 tables)', cfg: { stage: 2, granule: 16n * K, ias: 48, oas: 48 }, levels: 3, start: 1, bpl: 11, pgdBits: 12, concat: true },
    { name: 'S2 16K 40/40 (16 tables at level 2)', cfg: { stage: 2, granule: 16n * K, ias: 40, oas: 40 }, levels: 2, start: 2, bpl: 11, pgdBits: 15, concat: true },
    { name: 'S2 16K 36/40', cfg: { stage: 2, granule: 16n * K, ias: 36, oas: 40 }, levels: 2, start: 2, bpl: 11, pgdBits: 11, concat: false },
    { name: 'S1 4K 40/40 never concatenates', cfg: { stage: 1, granule: 4n * K, ias: 40, oas: 40 }, levels: 4, start: 0, bpl: 9, pgdBits: 1, concat: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const env = new Env();
      const p = env.pgtable(c.cfg);
      assert.equal(p.levels, c.levels);
      assert.equal(p.startLevel, c.start);
      assert.equal(p.bitsPerLevel, c.bpl);
      assert.equal(p.pgdBits, c.pgdBits);
      assert.equal(p.concatenated, c.concat);
      // The pgd request is max(pgd size, 64) (iommu_alloc_pages_node_sz rounds it to pages).
      const req = Number(8n << BigInt(c.pgdBits));
      assert.deepEqual(env.take(), [{ ev: 'alloc', pa: 0x40000000n, bytes: Math.max(req, 64) }]);
      assert.equal(p.root, 0x40000000n);
    });
  }

  it('stage-1 TCR and MAIR as the kernel computes them (MAIR sign-extends)', () => {
    const p = new Env().pgtable({ granule: 16n * K, ias: 36, oas: 48 });
    assert.deepEqual(p.cfg.armLpaeS1Cfg, {
      ttbr: 0x40000000n,
      tcr: { ips: 5, tg: 2, sh: 3, orgn: 1, irgn: 1, tsz: 28 },
      mair: 0xfffffffff404ff44n,
    });
    assert.equal(p.cfg.pgsizeBitmap, 0x2004000n);
  });

  it('stage-2 VTCR: SL0 from the start level, 4K granule offset by one', () => {
    const c7 = new Env().pgtable({ stage: 2, ias: 48, oas: 48 });
    assert.deepEqual(c7.cfg.armLpaeS2Cfg, { vttbr: 0x40000000n, vtcr: { ps: 5, tg: 0, sh: 3, orgn: 1, irgn: 1, sl: 2, tsz: 16 } });
    const c6 = new Env().pgtable({ stage: 2, ias: 40, oas: 40 });
    assert.deepEqual(c6.cfg.armLpaeS2Cfg?.vtcr, { ps: 2, tg: 0, sh: 3, orgn: 1, irgn: 1, sl: 1, tsz: 24 });
    assert.equal(c6.pgdSize, 8192n);
  });

  it('arm_lpae_concat_mandatory rules', () => {
    assert.equal(armLpaeConcatMandatory(4n * K, 0, 40, 40), true);
    assert.equal(armLpaeConcatMandatory(4n * K, 0, 42, 42), true);
    assert.equal(armLpaeConcatMandatory(4n * K, 0, 44, 44), false);
    assert.equal(armLpaeConcatMandatory(16n * K, 0, 48, 44), true);
    assert.equal(armLpaeConcatMandatory(16n * K, 0, 44, 48), true);
    assert.equal(armLpaeConcatMandatory(16n * K, 1, 40, 40), true);
    assert.equal(armLpaeConcatMandatory(16n * K, 1, 40, 42), false);
    assert.equal(armLpaeConcatMandatory(64n * K, 1, 48, 48), false);
  });

  it('refuses more than 16 concatenated tables with a WARN', () => {
    const env = new Env();
    assert.throws(() => env.pgtable({ stage: 2, ias: 48, oas: 42 }), (e: unknown) => e instanceof KernelError && e.errno === ENOMEM);
    assert.equal(env.take().filter((e) => e.ev === 'warn').length, 1);
  });

  it('arm_lpae_restrict_pgsizes picks the granule relative to PAGE_SIZE', () => {
    const all = 4n * K | 16n * K | 64n * K | 2n * M | 32n * M | 512n * M | G;
    assert.equal(new Env().pgtable({ pgsizeBitmap: all, pageSize: 16n * K }).granule, 16n * K);
    assert.equal(new Env().pgtable({ pgsizeBitmap: all, pageSize: 16n * K }).cfg.pgsizeBitmap, 16n * K | 32n * M);
    // No PAGE_SIZE support: the largest smaller granule, else the smallest larger one.
    assert.equal(new Env().pgtable({ pgsizeBitmap: 4n * K | 16n * K, pageSize: 64n * K }).granule, 16n * K);
    assert.equal(new Env().pgtable({ pgsizeBitmap: 16n * K | 64n * K, pageSize: 4n * K }).granule, 16n * K);
    // 64K with a 52-bit output adds the 4T level-1 block.
    assert.equal(new Env().pgtable({ granule: 64n * K, ias: 52, oas: 52 }).cfg.pgsizeBitmap, 64n * K | 512n * M | (1n << 42n));
    assert.throws(() => new Env().pgtable({ pgsizeBitmap: 2n * M }), KernelError);
  });
});

describe('io-pgtable-arm: descriptors', () => {
  it('stage-1 page for READ|WRITE matches the oracle (0xb347e5801e43)', () => {
    const env = new Env();
    const p = env.pgtable();
    env.take();
    const r = iommuMapPages(p, 0xfffc72807000n, 0xb347e5801000n, 0x9000n, RW);
    assert.equal(r.ret, 0);
    assert.deepEqual(r.chunks, [{ fn: 'map_pages', iova: 0xfffc72807000n, paddr: 0xb347e5801000n, pgsize: 0x1000n, count: 9, result: 0x9000n, ret: 0 }]);
    const w = p.walk(0xfffc72807000n);
    assert.deepEqual(w.steps.map((s) => [s.level, s.table, s.index, s.desc]), [
      [0, 0x40000000n, 511, 0x40001003n],
      [1, 0x40001000n, 497, 0x40002003n],
      [2, 0x40002000n, 404, 0x40003003n],
      [3, 0x40003000n, 7, 0xb347e5801e43n],
    ]);
    assert.equal(p.walk(0xfffc7280ffffn).steps[3]!.desc, 0xb347e5809e43n);
    assert.deepEqual(env.take().filter((e) => e.ev === 'alloc').map((e) => (e as { pa: bigint }).pa), [0x40001000n, 0x40002000n, 0x40003000n]);
  });

  it('prot bits: stage 1 AP/XN/ATTRINDX/SH, stage 2 HAP/MEMATTR', () => {
    const s1 = new Env().pgtable();
    const s2 = new Env().pgtable({ stage: 2 });
    const cases: [number, bigint, bigint][] = [
      [IOMMU_READ | IOMMU_NOEXEC, 0x60000000000ec0n, 0x60000000000654n],
      [RW, 0xe40n, 0x6d4n],
      [IOMMU_WRITE, 0xe40n, 0x694n],
      [RW | IOMMU_CACHE, 0xf44n, 0x7fcn],
      [RW | IOMMU_MMIO, 0xe48n, 0x6c4n],
      [IOMMU_READ | IOMMU_PRIV, 0xe80n, 0x654n],
    ];
    for (const [prot, d1, d2] of cases) {
      assert.equal(s1.protToPte(prot), d1, `S1 prot ${prot}`);
      assert.equal(s2.protToPte(prot), d2, `S2 prot ${prot}`);
    }
  });

  it('64K granule folds PA[51:48] into descriptor bits 15:12', () => {
    const p = new Env().pgtable({ granule: 64n * K, ias: 52, oas: 52 });
    const pa = 0xf123456780000n;
    assert.equal(iommuMapPages(p, 0x10000n, pa, 0x10000n, RW).ret, 0);
    const w = p.walk(0x10123n);
    assert.equal(w.steps.at(-1)!.desc & 0xf000n, 0xf000n);
    assert.equal(w.phys, pa + 0x123n);
    assert.equal(p.iovaToPhys(0x10123n), pa + 0x123n);
  });
});

describe('io-pgtable-arm: map, unmap and walk', () => {
  it('a 2M-aligned 2M map is one level-2 block; its walk reads 3 descriptors', () => {
    const env = new Env();
    const p = env.pgtable();
    const r = iommuMapPages(p, 0x40200000n, 0x80200000n, 2n * M, IOMMU_READ);
    assert.equal(r.ret, 0);
    assert.equal(r.chunks.length, 1);
    assert.equal(r.chunks[0]!.pgsize, 2n * M);
    const w = p.walk(0x40212345n);
    assert.equal(w.steps.length, 3);
    assert.equal(w.accesses, 3);
    assert.equal(w.leafLevel, 2);
    assert.equal(w.pageSize, 2n * M);
    assert.equal(w.phys, 0x80212345n);
    assert.equal(w.read, true);
    assert.equal(w.write, false);
    assert.equal(w.steps[2]!.desc & 3n, 1n);
    assert.equal(w.steps[2]!.descAddr, w.steps[2]!.table + BigInt(w.steps[2]!.index) * 8n);
  });

  it('refuses to unmap part of a block: WARN and 0 unmapped, the block stays', () => {
    const env = new Env();
    const p = env.pgtable();
    iommuMapPages(p, 0x200000n, 0x400000n, 2n * M, RW);
    env.take();
    const r = iommuUnmapPages(p, 0x201000n, 0x1000n);
    assert.equal(r.unmapped, 0n);
    assert.deepEqual(r.chunks, [{ fn: 'unmap_pages', iova: 0x201000n, pgsize: 0x1000n, count: 1, result: 0n }]);
    assert.deepEqual(env.take(), [{ ev: 'warn', func: '__arm_lpae_unmap', what: 'Unmap of a partial large IOPTE is not allowed' }]);
    assert.equal(p.iovaToPhys(0x201000n), 0x401000n);
  });

  it('iommu_unmap stops at the first chunk that unmaps nothing (a prefix is removed)', () => {
    const env = new Env();
    const p = env.pgtable();
    // 3 pages, a 2M block, 1 page (the oracle's kind D).
    const m = iommuMapPages(p, 0x1fd000n, 0x5fd000n, 0x204000n, RW);
    assert.deepEqual(m.chunks.map((c) => [c.pgsize, c.count]), [[0x1000n, 3], [0x200000n, 1], [0x1000n, 1]]);
    env.take();
    const r = iommuUnmapPages(p, 0x1fd000n, 0x12000n);
    assert.equal(r.unmapped, 0x3000n);
    assert.deepEqual(r.chunks.map((c) => [c.iova, c.pgsize, c.count, c.result]), [[0x1fd000n, 0x1000n, 18, 0x3000n], [0x200000n, 0x1000n, 15, 0n]]);
    assert.deepEqual(env.take().map((e) => e.ev), ['add_page', 'add_page', 'add_page', 'warn']);
    assert.equal(p.iovaToPhys(0x1fd000n), 0n);
    assert.equal(p.iovaToPhys(0x200000n), 0x600000n);
  });

  it('-EEXIST with a WARN when mapping over a live entry; the core unrolls what it mapped', () => {
    const env = new Env();
    const p = env.pgtable();
    assert.equal(iommuMapPages(p, 0x200000n, 0x9000n, 0x1000n, RW).ret, 0);
    env.take();
    // init_pte checks every entry before writing any: nothing of this chunk is mapped.
    assert.deepEqual(p.mapPages(0x1ff000n, 0x7ff000n, 0x1000n, 1, RW), { mapped: 0x1000n, ret: 0 });
    assert.equal(iommuUnmapPages(p, 0x1ff000n, 0x1000n).unmapped, 0x1000n);
    env.take();
    // The run crosses a table boundary: two map_pages calls, the second fails, the first is unrolled.
    const r = iommuMapPages(p, 0x1fe000n, 0x7fe000n, 0x3000n, RW);
    assert.equal(r.ret, -EEXIST);
    assert.equal(r.mapped, 0x2000n);
    assert.deepEqual(r.chunks.map((c) => [c.fn, c.iova, c.pgsize, c.count, c.result]), [
      ['map_pages', 0x1fe000n, 0x1000n, 3, 0x2000n],
      ['map_pages', 0x200000n, 0x1000n, 1, 0n],
      ['unmap_pages', 0x1fe000n, 0x1000n, 2, 0x2000n],
    ]);
    assert.equal(p.iovaToPhys(0x1fe000n), 0n);
    assert.equal(p.iovaToPhys(0x200000n), 0x9000n);
    const ev = env.take();
    assert.deepEqual(ev.find((e) => e.ev === 'warn'), { ev: 'warn', func: 'arm_lpae_init_pte', what: 'WARN_ON(!(data->iop.cfg.quirks & IO_PGTABLE_QUIRK_NO_WARN))' });
    assert.deepEqual(ev.filter((e) => e.ev === 'add_page').length, 2);
    // A block over a live block, and a table over a live block: both -EEXIST.
    iommuMapPages(p, 0x400000n, 0x400000n, 2n * M, RW);
    assert.equal(iommuMapPages(p, 0x400000n, 0x800000n, 2n * M, RW).ret, -EEXIST);
    assert.equal(iommuMapPages(p, 0x401000n, 0x801000n, 0x1000n, RW).ret, -EEXIST);
  });

  it('a block mapped over an empty table frees the subtree after flush_walk', () => {
    const env = new Env();
    const p = env.pgtable();
    iommuMapPages(p, 0x40000000n, 0x1000n, 0x1000n, RW); // level-2 and level-3 tables under this 1G
    const before = p.walk(0x40000000n);
    const l2 = before.steps[2]!.table;
    const l3 = before.steps[3]!.table;
    iommuUnmapPages(p, 0x40000000n, 0x1000n);
    env.take();
    const r = iommuMapPages(p, 0x40000000n, 0x80000000n, G, RW);
    assert.equal(r.ret, 0);
    assert.deepEqual(r.chunks.map((c) => c.pgsize), [G]);
    assert.deepEqual(env.take(), [
      { ev: 'flush_walk', iova: 0x40000000n, size: G, granule: 4096n },
      { ev: 'free', pa: l3, bytes: 4096 },
      { ev: 'free', pa: l2, bytes: 4096 },
    ]);
    const w = p.walk(0x40000000n);
    assert.equal(w.leafLevel, 1);
    assert.equal(w.steps.length, 2);
  });

  it('unmapping a whole table-sized range frees the table (flush_walk, free, add_page)', () => {
    const env = new Env();
    const p = env.pgtable();
    // paddr not 2M-aligned: 512 pages under one level-3 table.
    const m = iommuMapPages(p, 0x200000n, 0x301000n, 2n * M, RW);
    assert.deepEqual(m.chunks.map((c) => [c.pgsize, c.count]), [[0x1000n, 512]]);
    const l3 = p.walk(0x200000n).steps[3]!.table;
    env.take();
    const r = iommuUnmapPages(p, 0x200000n, 2n * M);
    assert.equal(r.unmapped, 2n * M);
    assert.deepEqual(r.chunks.map((c) => c.pgsize), [2n * M]);
    assert.deepEqual(env.take(), [
      { ev: 'flush_walk', iova: 0x200000n, size: 2n * M, granule: 4096n },
      { ev: 'free', pa: l3, bytes: 4096 },
      { ev: 'add_page', iova: 0x200000n, granule: 2n * M },
    ]);
    assert.equal(p.walk(0x200000n).fault?.level, 2);
  });

  it('free(): flush_all, then every table, children before parents, no leaks', () => {
    const env = new Env();
    const p = env.pgtable();
    iommuMapPages(p, 0x1000n, 0x1000n, 0x1000n, RW);
    iommuMapPages(p, 0xfffc00000000n, 0x1000n, 0x1000n, RW);
    env.take();
    p.free();
    const ev = env.take();
    assert.deepEqual(ev[0], { ev: 'flush_all' });
    assert.equal(ev.length, 1 + 7);
    assert.deepEqual(ev.at(-1), { ev: 'free', pa: 0x40000000n, bytes: 4096 });
    assert.equal(env.live.size, 0);
  });

  it('map_pages range and prot checks', () => {
    const env = new Env();
    const p = env.pgtable({ ias: 39 });
    env.take();
    assert.deepEqual(p.mapPages(1n << 39n, 0n, 0x1000n, 1, RW), { mapped: 0n, ret: -ERANGE });
    assert.deepEqual(p.mapPages(0n, 1n << 48n, 0x1000n, 1, RW), { mapped: 0n, ret: -ERANGE });
    assert.equal(env.take().length, 2);
    assert.deepEqual(p.mapPages(0n, 0n, 0x1000n, 1, IOMMU_NOEXEC), { mapped: 0n, ret: -EINVAL });
    assert.deepEqual(p.mapPages(0n, 0n, 0x2000n, 1, RW), { mapped: 0n, ret: -EINVAL });
    assert.equal(p.unmapPages(0n, 0x1000n, 0), 0n);
    // The kernel's iova_to_phys masks per level: bits above ias alias.
    iommuMapPages(p, 0x5000n, 0x7000n, 0x1000n, RW);
    assert.equal(p.iovaToPhys((1n << 39n) | 0x5004n), 0x7004n);
    assert.equal(p.walk((1n << 39n) | 0x5004n).fault?.reason, 'translation');
  });

  it('-ENOMEM when a table page cannot be allocated', () => {
    const env = new Env();
    const p = env.pgtable();
    env.failAllocs = true;
    assert.equal(iommuMapPages(p, 0x1000n, 0x1000n, 0x1000n, RW).ret, -ENOMEM);
  });

  it('concatenated stage-2 pgd: a run of blocks across the two tables is split at the table page', () => {
    const env = new Env();
    const p = env.pgtable({ stage: 2, ias: 40, oas: 40 });
    const r = iommuMapPages(p, 511n * G, 0x40000000n, 2n * G, IOMMU_WRITE);
    assert.equal(r.ret, 0);
    assert.deepEqual(r.chunks.map((c) => [c.iova, c.pgsize, c.count, c.result]), [
      [511n * G, G, 2, G],
      [512n * G, G, 1, G],
    ]);
    const a = p.walk(511n * G + 5n);
    const b = p.walk(512n * G + 5n);
    assert.deepEqual([a.steps[0]!.table, a.steps[0]!.index, a.leafLevel], [0x40000000n, 511, 1]);
    assert.deepEqual([b.steps[0]!.table, b.steps[0]!.index, b.steps[0]!.descAddr], [0x40000000n, 512, 0x40001000n]);
    assert.equal(b.phys, 0x80000005n);
    assert.deepEqual([b.read, b.write], [false, true]);
    // The last 1G of the IAS, as the kernel selftest does.
    assert.equal(iommuMapPages(p, (1n << 40n) - G, 0n, G, RW).ret, 0);
    assert.equal(p.iovaToPhys((1n << 40n) - 1n), G - 1n);
    assert.equal(iommuUnmapPages(p, (1n << 40n) - G, G).unmapped, G);
    assert.equal(p.walk((1n << 40n) - 1n).fault?.reason, 'translation');
    // Output above the 40-bit OAS is refused by map_pages and faults in a walk.
    assert.equal(iommuMapPages(p, 0n, 1n << 40n, 0x1000n, RW).ret, -ERANGE);
    env.mem.writeU64(p.root + 8n * 3n, (1n << 41n) | 0x441n);
    assert.equal(p.walk(3n * G).fault?.reason, 'address-size');
  });
});

describe('io-pgtable-arm: walk details', () => {
  it('decodes stage-1 and stage-2 permissions', () => {
    const s1 = new Env().pgtable();
    iommuMapPages(s1, 0x1000n, 0x1000n, 0x1000n, IOMMU_READ);
    iommuMapPages(s1, 0x2000n, 0x2000n, 0x1000n, IOMMU_WRITE);
    assert.deepEqual([s1.walk(0x1000n).read, s1.walk(0x1000n).write], [true, false]);
    assert.deepEqual([s1.walk(0x2000n).read, s1.walk(0x2000n).write], [true, true]);
    const s2 = new Env().pgtable({ stage: 2 });
    iommuMapPages(s2, 0x1000n, 0x1000n, 0x1000n, IOMMU_READ);
    iommuMapPages(s2, 0x2000n, 0x2000n, 0x1000n, IOMMU_WRITE);
    assert.deepEqual([s2.walk(0x1000n).read, s2.walk(0x1000n).write], [true, false]);
    assert.deepEqual([s2.walk(0x2000n).read, s2.walk(0x2000n).write], [false, true]);
    assert.equal(s2.walk(0x1000n).steps[0]!.stage, 2);
  });

  it('faults: invalid entry, missing access flag', () => {
    const env = new Env();
    const p = env.pgtable();
    const empty = p.walk(0x1000n);
    assert.deepEqual(empty.fault, { level: 0, reason: 'translation', stage: 1 });
    assert.equal(empty.steps.length, 1);
    assert.equal(empty.phys, undefined);
    iommuMapPages(p, 0x1000n, 0x1000n, 0x1000n, RW);
    const leaf = p.walk(0x1000n).steps[3]!;
    env.mem.writeU64(leaf.descAddr, leaf.desc & ~(1n << 10n));
    assert.equal(p.walk(0x1000n).fault?.reason, 'access');
    assert.deepEqual(p.walk(0x2000n).fault, { level: 3, reason: 'translation', stage: 1 });
  });

  it('counts nested stage-2 accesses of each descriptor fetch (24 for 4+4 with the final IPA walk)', () => {
    const env = new Env();
    const s1 = env.pgtable();
    iommuMapPages(s1, 0x1000n, 0x5000n, 0x1000n, RW);
    const nested: WalkResult = { steps: [], accesses: 4, phys: 0n };
    const w = s1.walk(0x1000n, (addr) => ({ value: env.mem.readU64(addr), nested }));
    assert.equal(w.steps.length, 4);
    assert.equal(w.accesses, 20);
    assert.equal(w.steps[1]!.nested, nested);
    assert.equal(w.accesses + 4, 24);
    const failed: WalkResult = { steps: [], accesses: 2, fault: { level: 2, reason: 'translation', stage: 2 } };
    let n = 0;
    const f = s1.walk(0x1000n, (addr) => (n++ < 2 ? { value: env.mem.readU64(addr), nested } : { fault: failed }));
    assert.deepEqual(f.fault, { level: 2, reason: 'translation', stage: 2 });
    assert.equal(f.steps.length, 2);
    assert.equal(f.accesses, 10 + 2);
  });
});

describe('iommu core splitting', () => {
  it('iommu_pgsize picks the largest usable size and stops before the next boundary', () => {
    const bm = 4n * K | 2n * M | G;
    assert.deepEqual(iommuPgsize(bm, 0x1fd000n, 0x5fd000n, 0x204000n), { pgsize: 0x1000n, count: 3 });
    assert.deepEqual(iommuPgsize(bm, 0x200000n, 0x600000n, 0x201000n), { pgsize: 2n * M, count: 1 });
    // iova and paddr offset differently inside 2M: no point stopping early.
    assert.deepEqual(iommuPgsize(bm, 0x1fd000n, 0x5fe000n, 0x204000n), { pgsize: 0x1000n, count: 0x204 });
    assert.deepEqual(iommuPgsize(bm, 0n, 0n, 3n * G), { pgsize: G, count: 3 });
  });

  it('rejects unaligned requests with the kernel messages', () => {
    const p = new Env().pgtable({ granule: 16n * K });
    const m = iommuMapPages(p, 0xfffff800n, 0x123456800n, 0x1000n, IOMMU_READ);
    assert.deepEqual(m, { ret: -EINVAL, mapped: 0n, chunks: [], message: 'unaligned: iova 0xfffff800 pa 0x0000000123456800 size 0x1000 min_pagesz 0x4000' });
    const u = iommuUnmapPages(p, 0xfffff800n, 0x1000n);
    assert.deepEqual(u, { unmapped: 0n, chunks: [], message: 'unaligned: iova 0xfffff800 size 0x1000 min_pagesz 0x4000' });
  });
});

// ------------------------------------------------------------ properties --

/** The reference model: page index in the window -> what it maps to. */
interface ModelPage {
  phys: bigint;
  prot: number;
}

const PROTS = [IOMMU_READ, IOMMU_WRITE, RW, IOMMU_READ | IOMMU_NOEXEC];

type Cmd =
  | { op: 'map'; kind: number; at: number; n: number; tail: number; physSeed: number; physOff: number; prot: number }
  | { op: 'unmap'; pick: number; whole: boolean; start: number; n: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({
    op: fc.constant('map' as const),
    kind: fc.integer({ min: 0, max: 3 }),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 9 }),
    tail: fc.integer({ min: 0, max: 5 }),
    physSeed: fc.nat(),
    physOff: fc.integer({ min: 1, max: 7 }),
    prot: fc.constantFrom(...PROTS),
  }),
  fc.record({ op: fc.constant('unmap' as const), pick: fc.nat(), whole: fc.boolean(), start: fc.nat(), n: fc.integer({ min: 1, max: 12 }) }),
);

/** Windows straddle the top of the IAS or a concatenated-pgd boundary where they can. */
const PROPERTY_CONFIGS: { name: string; cfg: Partial<ArmLpaeConfig>; base: bigint; slots: number; runs: number }[] = [
  { name: 'S1 4K 48/48', cfg: { granule: 4n * K, ias: 48, oas: 48 }, base: (1n << 48n) - 16n * M, slots: 8, runs: 40 },
  { name: 'S2 4K 40/40 concatenated', cfg: { stage: 2, granule: 4n * K, ias: 40, oas: 40 }, base: 512n * G - 8n * M, slots: 8, runs: 40 },
  { name: 'S1 16K 36/48', cfg: { granule: 16n * K, ias: 36, oas: 48 }, base: 0x40000000n, slots: 8, runs: 30 },
  { name: 'S2 16K 48/48 concatenated', cfg: { stage: 2, granule: 16n * K, ias: 48, oas: 48 }, base: (1n << 47n) - 128n * M, slots: 8, runs: 30 },
  { name: 'S1 64K 48/48', cfg: { granule: 64n * K, ias: 48, oas: 48 }, base: (1n << 48n) - 3n * 512n * M, slots: 3, runs: 15 },
  { name: 'S2 64K 42/42', cfg: { stage: 2, granule: 64n * K, ias: 42, oas: 42 }, base: 0x200000000n, slots: 3, runs: 15 },
];

const PARTIAL_MSG = 'Unmap of a partial large IOPTE is not allowed';

for (const pc of PROPERTY_CONFIGS) {
  describe(`io-pgtable-arm property: ${pc.name} against a page model`, () => {
    it('map/unmap/walk round trips', () => {
      fc.assert(
        fc.property(fc.array(cmdArb, { minLength: 1, maxLength: 20 }), (cmds) => {
          const env = new Env();
          const p = env.pgtable(pc.cfg);
          const gran = p.granule;
          const bitmap = p.cfg.pgsizeBitmap;
          const block = sizesOf(bitmap)[1]!;
          const span = BigInt(pc.slots) * block;
          const pages = Number(span / gran);
          const model = new Map<number, ModelPage>();
          const pageOf = (iova: bigint): number => Number((iova - pc.base) / gran);
          const pieces: { iova: bigint; size: bigint }[] = [];

          for (const c of cmds) {
            if (c.op === 'map') {
              let iova: bigint;
              let size: bigint;
              let phys = (BigInt(c.physSeed % 4096) * block) % (1n << BigInt(p.cfg.oas - 1));
              const slot = BigInt(c.at % pc.slots) * block;
              if (c.kind === 0) {
                // pages
                iova = pc.base + BigInt(c.at % pages) * gran;
                size = BigInt(c.n) * gran;
                phys += BigInt(c.at % pages) * gran;
              } else if (c.kind === 1) {
                // whole blocks
                iova = pc.base + slot;
                size = BigInt(1 + (c.n % 2)) * block;
              } else if (c.kind === 2) {
                // pages, block, pages
                iova = pc.base + slot - BigInt(c.n) * gran;
                size = block + BigInt(c.n + c.tail) * gran;
                phys += block - BigInt(c.n) * gran;
              } else {
                // paddr not aligned to the block: all pages
                iova = pc.base + slot;
                size = block;
                phys += BigInt(c.physOff) * gran;
              }
              if (iova < pc.base || iova + size > pc.base + span) continue;
              if (pieces.some((q) => iova < q.iova + q.size && q.iova < iova + size)) continue;
              const r = iommuMapPages(p, iova, phys, size, c.prot);
              assert.equal(r.ret, 0, `map ${iova.toString(16)}+${size.toString(16)}`);
              assert.equal(r.mapped, size);
              for (let o = 0n; o < size; o += gran) model.set(pageOf(iova + o), { phys: phys + o, prot: c.prot });
              pieces.push({ iova, size });
            } else {
              if (!pieces.length) continue;
              const idx = c.pick % pieces.length;
              const q = pieces[idx]!;
              const qPages = Number(q.size / gran);
              const st = c.whole ? 0 : c.start % qPages;
              const n = c.whole ? qPages : Math.min(c.n, qPages - st);
              const u = q.iova + BigInt(st) * gran;
              const us = BigInt(n) * gran;
              const warnsBefore = env.events.filter((e) => e.ev === 'warn').length;
              const r = iommuUnmapPages(p, u, us);
              if (c.whole) assert.equal(r.unmapped, us, 'a whole mapping always unmaps');
              assert.ok(r.unmapped <= us && r.unmapped % gran === 0n);
              const warns = env.events.filter((e): e is Extract<Ev, { ev: 'warn' }> => e.ev === 'warn').slice(warnsBefore);
              if (r.unmapped < us) {
                // Refused only because the next chunk would split a larger leaf.
                const stop = u + r.unmapped;
                const { pgsize } = iommuPgsize(bitmap, stop, stop, us - r.unmapped);
                const w = p.walk(stop);
                assert.ok(w.pageSize !== undefined && w.pageSize > pgsize, 'stopped inside a larger leaf');
                assert.deepEqual(warns.map((e) => e.what), [PARTIAL_MSG]);
              } else {
                assert.equal(warns.length, 0);
              }
              for (let o = 0n; o < r.unmapped; o += gran) model.delete(pageOf(u + o));
              // As the oracle's generator: remove [u, u + unmapped) from the piece.
              if (r.unmapped) {
                pieces.splice(idx, 1);
                if (u > q.iova) pieces.push({ iova: q.iova, size: u - q.iova });
                const end = u + r.unmapped;
                if (end < q.iova + q.size) pieces.push({ iova: end, size: q.iova + q.size - end });
              }
            }
            checkWindow(p, model, pc.base, span);
          }
          p.free();
          assert.equal(env.live.size, 0, 'every table freed');
        }),
        { numRuns: pc.runs, seed: 0x5eed },
      );
    });
  });
}

function sizesOf(bitmap: bigint): bigint[] {
  const out: bigint[] = [];
  for (let b = 0n; b < 64n; b++) if (bitmap & (1n << b)) out.push(1n << b);
  return out;
}

/** Walk the whole window leaf by leaf (holes by the invalid entry's reach) and compare with the model. */
function checkWindow(p: ArmLpaeIoPgtable, model: Map<number, ModelPage>, base: bigint, span: bigint): void {
  const gran = p.granule;
  const end = base + span;
  const pageOf = (iova: bigint): number => Number((iova - base) / gran);
  let addr = base;
  let seen = 0;
  while (addr < end) {
    const w = p.walk(addr);
    assert.equal(w.accesses, w.steps.length);
    if (w.fault) {
      assert.equal(w.fault.reason, 'translation');
      assert.equal(p.iovaToPhys(addr), 0n);
      const reach = p.blockSize(w.fault.level);
      const holeEnd = (addr & ~(reach - 1n)) + reach;
      for (let a = addr; a < holeEnd && a < end; a += gran) assert.equal(model.get(pageOf(a)), undefined, `page ${a.toString(16)} should be mapped`);
      addr = holeEnd;
      continue;
    }
    const size = w.pageSize!;
    const leafBase = addr & ~(size - 1n);
    const first = model.get(pageOf(leafBase));
    assert.ok(first, `leaf at ${leafBase.toString(16)} not in the model`);
    assert.equal(w.phys, first.phys + (addr - leafBase));
    assert.equal(p.iovaToPhys(addr + 0x123n), w.phys! + 0x123n);
    const wantRead = p.stage === 1 ? true : (first.prot & IOMMU_READ) !== 0;
    const wantWrite = p.stage === 1 ? (first.prot & IOMMU_WRITE) !== 0 || !(first.prot & IOMMU_READ) : (first.prot & IOMMU_WRITE) !== 0;
    assert.deepEqual([w.read, w.write], [wantRead, wantWrite]);
    for (let o = 0n; o < size; o += gran) {
      const m = model.get(pageOf(leafBase + o));
      assert.ok(m && m.phys === first.phys + o && m.prot === first.prot, `page ${(leafBase + o).toString(16)} inside a leaf`);
      seen++;
    }
    addr = leafBase + size;
  }
  assert.equal(seen, model.size, 'every model page is mapped by some leaf');
}
