import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PhysicalMemory } from '../../src/engine/memory/physmem';
import { cloneState } from '../../src/engine/snapshot';
import {
  DMA_ATTR_NO_WARN,
  DMA_ATTR_SKIP_CPU_SYNC,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_NONE,
  DMA_TO_DEVICE,
  INVALID_PHYS_ADDR,
  IO_TLB_SEGSIZE,
  IO_TLB_SIZE,
  IoTlbMem,
  SWIOTLB_MSG_ALLOC_ALIGN,
  type BounceCopier,
  type IoTlbMemConfig,
  type IoTlbPool,
  type SwiotlbDir,
  type SwiotlbMapOk,
  type SwiotlbMapRequest,
  type SwiotlbMapResult,
} from '../../src/engine/swiotlb/swiotlb';

// The oracle's pool: page aligned but not 8 KiB aligned.
const BASE = 0x7c00_1000n;
const NO_COPY: BounceCopier = { copy: () => undefined };
const DIR_NAME = ['BIDIRECTIONAL', 'TO_DEVICE', 'FROM_DEVICE', 'NONE'];

function newMem(over: Partial<IoTlbMemConfig> = {}): IoTlbMem {
  return new IoTlbMem({ base: BASE, nslabs: 2048, possibleCpus: 4, pageSize: 4096, ...over });
}

function req(over: Partial<SwiotlbMapRequest> = {}): SwiotlbMapRequest {
  return {
    orig: 0x1_8000_0000n,
    mappingSize: 512,
    allocAlignMask: 0n,
    minAlignMask: 0n,
    segBoundaryMask: 0xffff_ffffn,
    cpu: 0,
    dir: DMA_TO_DEVICE,
    attrs: 0,
    ...over,
  };
}

function ok(r: SwiotlbMapResult): SwiotlbMapOk {
  if (!r.ok) assert.fail(`map failed: ${r.message}`);
  return r;
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** Free-list invariant of every segment: list[i] is the free run from i to the segment end. */
function checkLists(pool: IoTlbPool, owned: Set<number>): void {
  for (let i = pool.nslabs - 1; i >= 0; i--) {
    if (owned.has(i)) {
      assert.equal(pool.list[i], 0, `slot ${i} is owned`);
      continue;
    }
    const lastInSeg = (i + 1) % IO_TLB_SEGSIZE === 0 || i + 1 === pool.nslabs;
    const want = lastInSeg || owned.has(i + 1) ? 1 : pool.list[i + 1] + 1;
    assert.equal(pool.list[i], want, `slot ${i} list`);
    assert.equal(pool.origAddr[i], INVALID_PHYS_ADDR);
  }
}

describe('swiotlb boot geometry (swiotlb_adjust_nareas, limit_nareas)', () => {
  it('gives 4 areas of 512 slots to swiotlb=2048 with 4 CPUs', () => {
    const mem = newMem();
    assert.equal(mem.defpool.nareas, 4);
    assert.equal(mem.defpool.areaNslabs, 512);
    assert.equal(mem.defpool.end, 0x7c40_1000n);
    assert.equal(mem.totalSlots, 2048);
    assert.deepEqual(mem.bootLog, ['software IO TLB: area num 4.']);
  });

  it('rounds CPUs and slabs to powers of two', () => {
    const mem = newMem({ nslabs: 3000, possibleCpus: 3 });
    assert.equal(mem.defpool.nareas, 4);
    assert.equal(mem.totalSlots, 4096);
    assert.deepEqual(mem.bootLog, [
      'software IO TLB: area num 4.',
      'software IO TLB: SWIOTLB bounce buffer size roundup to 8MB',
    ]);
  });

  it('gives every area at least one segment', () => {
    const mem = newMem({ nslabs: 128, possibleCpus: 8 });
    assert.equal(mem.totalSlots, 1024);
    assert.equal(mem.defpool.nareas, 8);
    assert.equal(mem.defpool.areaNslabs, 128);
  });

  it('starts every segment with a full free list', () => {
    const mem = newMem();
    checkLists(mem.defpool, new Set());
  });
});

describe('swiotlb_tbl_map_single slot choice', () => {
  it('searches from the area of the CPU and accounts nslots', () => {
    const mem = newMem();
    const a = ok(mem.mapSingle(req({ cpu: 3, mappingSize: 64 }), NO_COPY));
    assert.equal(a.index, 1536);
    assert.equal(a.area, 3);
    assert.equal(a.nslots, 1);
    assert.equal(a.tlbAddr, 0x7c30_1000n);
    assert.equal(mem.used, 1);
    assert.equal(mem.defpool.areas[3].index, 1);
    const b = ok(mem.mapSingle(req({ cpu: 7, mappingSize: 5000 }), NO_COPY));
    // 5000 bytes >= PAGE_SIZE with no masks: page aligned, size not rounded.
    assert.equal(b.allocSize, 5000);
    assert.equal(b.nslots, 3);
    assert.equal(b.tlbAddr & 0xfffn, 0n);
    assert.equal(mem.used, 4);
  });

  it('keeps the min_align_mask bits of the original (0x180000234 -> 0x...234)', () => {
    const mem = newMem();
    const r = ok(mem.mapSingle(req({ orig: 0x1_8000_0234n, mappingSize: 0x100, minAlignMask: 0xfffn }), NO_COPY));
    assert.equal(r.tlbAddr, 0x7c00_1234n);
    assert.equal(r.tlbAddr & 0xfffn, 0x234n);
    assert.equal(r.allocSize, 0x334);
  });

  it('puts whole padding slots in pad_slots when the offset exceeds a slot', () => {
    const mem = newMem();
    // 16 KiB allocation alignment lands on k = 6 (mod 8) for this base; offset 0xa40 needs one padding slot.
    const r = ok(
      mem.mapSingle(req({ orig: 0x1_8000_3a40n, mappingSize: 64, minAlignMask: 0xfffn, allocAlignMask: 0x3fffn }), NO_COPY),
    );
    assert.equal(r.allocSize, 0x4000);
    assert.equal(r.padSlots, 1);
    assert.equal(r.index % 8, 6);
    assert.equal(r.tlbAddr & 0xfffn, 0xa40n);
    assert.equal(r.tlbAddr, BASE + BigInt((r.index + 1) * IO_TLB_SIZE) + 0x240n);
    assert.deepEqual(r.warnings, [SWIOTLB_MSG_ALLOC_ALIGN]);
    const p = mem.defpool;
    assert.equal(p.padSlots[r.index + 1], 1);
    assert.equal(p.origAddr[r.index], INVALID_PHYS_ADDR);
    assert.equal(p.origAddr[r.index + 1], 0x1_8000_3a40n);
    assert.equal(p.origAddr[r.index + 2], 0x1_8000_4240n);
  });

  it('rounds the size up to alloc_align_mask + 1', () => {
    const mem = newMem();
    const r = ok(mem.mapSingle(req({ mappingSize: 512, allocAlignMask: 0xfffn }), NO_COPY));
    assert.equal(r.allocSize, 4096);
    assert.equal(r.nslots, 2);
    assert.deepEqual(r.warnings, []);
  });

  it('reports a full pool with the kernel message and changes nothing', () => {
    const mem = newMem();
    for (let i = 0; i < 16; i++) ok(mem.mapSingle(req({ orig: 0x1_9000_0000n + BigInt(i) * 0x40000n, mappingSize: 0x40000 }), NO_COPY));
    assert.equal(mem.used, 2048);
    const before = cloneState(mem);
    const r = mem.mapSingle(req({ orig: 0x1_9040_0000n, mappingSize: 4096 }), NO_COPY);
    assert.ok(!r.ok && r.reason === 'full');
    assert.equal(r.message, 'swiotlb buffer is full (sz: 4096 bytes), total 2048 (slots), used 2048 (slots)');
    assert.deepEqual([r.sz, r.total, r.used, r.printed], [4096, 2048, 2048, true]);
    assert.deepEqual(mem, before);
  });

  it('fails anything over 128 slots whatever the free space', () => {
    const mem = newMem();
    const r = mem.mapSingle(req({ mappingSize: IO_TLB_SEGSIZE * IO_TLB_SIZE + 1 }), NO_COPY);
    assert.ok(!r.ok && r.reason === 'full');
    assert.equal(r.message, 'swiotlb buffer is full (sz: 262145 bytes), total 2048 (slots), used 0 (slots)');
    ok(mem.mapSingle(req({ mappingSize: IO_TLB_SEGSIZE * IO_TLB_SIZE }), NO_COPY));
  });

  it('silences the message under DMA_ATTR_NO_WARN but still fails', () => {
    const mem = newMem();
    const r = mem.mapSingle(req({ mappingSize: 1 << 20, attrs: DMA_ATTR_NO_WARN }), NO_COPY);
    assert.ok(!r.ok && r.reason === 'full');
    assert.equal(r.printed, false);
  });

  it('respects the device segment boundary', () => {
    const mem = newMem();
    // 64 KiB boundary = 32 slots; the pool starts one page (2 slots) past a boundary,
    // so a 31-slot mapping cannot start before slot 30.
    const r = ok(mem.mapSingle(req({ mappingSize: 0xf800, segBoundaryMask: 0xffffn }), NO_COPY));
    assert.equal(r.index, 30);
    assert.equal(r.tlbAddr, 0x7c01_0000n);
    const wide = ok(newMem().mapSingle(req({ mappingSize: 0xf800 }), NO_COPY));
    assert.equal(wide.index, 0);
  });

  it('returns a BUG instead of mapping zero bytes', () => {
    const mem = newMem();
    const r = mem.mapSingle(req({ mappingSize: 0 }), NO_COPY);
    assert.ok(!r.ok && r.reason === 'bug');
    assert.equal(mem.used, 0);
  });
});

describe('swiotlb copies', () => {
  const ORIG = 0x1_8000_0100n;
  const LEN = 3000;
  const setup = (dir: SwiotlbDir): { mem: IoTlbMem; ram: PhysicalMemory; r: SwiotlbMapOk } => {
    const ram = new PhysicalMemory([
      { start: 0x7c00_0000n, end: 0x8000_0000n },
      { start: 0x1_8000_0000n, end: 0x1_9000_0000n },
    ]);
    ram.write(ORIG, bytes(LEN, 1));
    const mem = newMem();
    const r = ok(mem.mapSingle(req({ orig: ORIG, mappingSize: LEN, dir }), ram));
    return { mem, ram, r };
  };

  for (const dir of [DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL] as const) {
    it(`map copies orig -> bounce for ${DIR_NAME[dir]}`, () => {
      const { ram, r } = setup(dir);
      assert.deepEqual(r.copy, { from: ORIG, to: r.tlbAddr, len: LEN });
      assert.deepEqual(ram.read(r.tlbAddr, LEN), bytes(LEN, 1));
    });
  }

  const device = { minAlignMask: 0n };
  const table: [SwiotlbDir, boolean, boolean, boolean][] = [
    // dir, sync_for_device copies, sync_for_cpu copies, unmap copies back
    [DMA_TO_DEVICE, true, false, false],
    [DMA_FROM_DEVICE, false, true, true],
    [DMA_BIDIRECTIONAL, true, true, true],
  ];
  for (const [dir, forDevice, forCpu, atUnmap] of table) {
    it(`sync and unmap follow the copy table for ${DIR_NAME[dir]}`, () => {
      const { mem, ram, r } = setup(dir);
      ram.write(ORIG, bytes(LEN, 2));
      const d = mem.syncSingleForDevice(r.tlbAddr, LEN, dir, ram, device);
      assert.ok(d.ok);
      assert.equal(d.copy !== null, forDevice);
      assert.deepEqual(ram.read(r.tlbAddr, LEN), bytes(LEN, forDevice ? 2 : 1));

      ram.write(r.tlbAddr, bytes(LEN, 3));
      const c = mem.syncSingleForCpu(r.tlbAddr, LEN, dir, ram, device);
      assert.ok(c.ok);
      assert.equal(c.copy !== null, forCpu);
      assert.deepEqual(ram.read(ORIG, LEN), bytes(LEN, forCpu ? 3 : 2));

      ram.write(r.tlbAddr, bytes(LEN, 4));
      const u = mem.unmapSingle(r.tlbAddr, LEN, dir, 0, ram, device);
      assert.ok(u.ok && u.found);
      assert.equal(u.copy !== null, atUnmap);
      if (atUnmap) assert.deepEqual(u.copy, { from: r.tlbAddr, to: ORIG, len: LEN });
      assert.deepEqual(ram.read(ORIG, LEN), bytes(LEN, atUnmap ? 4 : forCpu ? 3 : 2));
      assert.deepEqual(u.freed, { index: r.index, nslots: r.nslots, area: r.area });
      assert.equal(mem.used, 0);
    });
  }

  it('skips the unmap copy under DMA_ATTR_SKIP_CPU_SYNC', () => {
    const { mem, ram, r } = setup(DMA_FROM_DEVICE);
    ram.write(r.tlbAddr, bytes(LEN, 9));
    const u = mem.unmapSingle(r.tlbAddr, LEN, DMA_FROM_DEVICE, DMA_ATTR_SKIP_CPU_SYNC, ram, device);
    assert.ok(u.ok);
    assert.equal(u.copy, null);
    assert.deepEqual(ram.read(ORIG, LEN), bytes(LEN, 1));
  });

  it('BUG()s on DMA_NONE syncs without copying', () => {
    const { mem, ram, r } = setup(DMA_BIDIRECTIONAL);
    const d = mem.syncSingleForDevice(r.tlbAddr, LEN, DMA_NONE, ram, device);
    assert.ok(!d.ok && d.reason === 'bug');
    assert.match(d.message, /BUG_ON\(dir != DMA_FROM_DEVICE\)/);
    const c = mem.syncSingleForCpu(r.tlbAddr, LEN, DMA_NONE, ram, device);
    assert.ok(!c.ok && c.reason === 'bug');
    assert.match(c.message, /BUG_ON\(dir != DMA_TO_DEVICE\)/);
  });

  it('syncs part of a mapping from the per-slot orig_addr', () => {
    const { mem, ram, r } = setup(DMA_BIDIRECTIONAL);
    ram.write(r.tlbAddr, new Uint8Array(LEN));
    ram.write(ORIG, bytes(LEN, 5));
    // 0x900 bytes in: the second slot, 0x100 bytes into it.
    const s = mem.syncSingleForDevice(r.tlbAddr + 0x900n, 0x80, DMA_TO_DEVICE, ram, device);
    assert.ok(s.ok);
    assert.deepEqual(s.copy, { from: ORIG + 0x900n, to: r.tlbAddr + 0x900n, len: 0x80 });
    const got = ram.read(r.tlbAddr, LEN);
    const want = new Uint8Array(LEN);
    want.set(bytes(LEN, 5).subarray(0x900, 0x980), 0x900);
    assert.deepEqual(got, want);
    assert.equal(mem.origAddr(r.tlbAddr + 0x900n, device), ORIG + 0x900n);
  });

  it('clips a sync past the allocation with the overflow warning', () => {
    const { mem, ram, r } = setup(DMA_BIDIRECTIONAL);
    const s = mem.syncSingleForCpu(r.tlbAddr + 100n, LEN, DMA_FROM_DEVICE, ram, device);
    assert.ok(s.ok);
    assert.deepEqual(s.warnings, [`Buffer overflow detected. Allocation size: ${LEN - 100}. Mapping size: ${LEN}.`]);
    assert.equal(s.copy?.len, LEN - 100);
  });

  it('ignores addresses outside every pool, as swiotlb_find_pool() does', () => {
    const { mem, ram } = setup(DMA_BIDIRECTIONAL);
    assert.equal(mem.isSwiotlbBuffer(ORIG), false);
    const u = mem.unmapSingle(ORIG, LEN, DMA_FROM_DEVICE, 0, ram, device);
    assert.ok(u.ok && !u.found);
    assert.equal(mem.used, 2);
  });
});

describe('swiotlb_release_slots', () => {
  it('frees by the min_align_mask the device has at unmap time', () => {
    const mem = newMem();
    const r = ok(mem.mapSingle(req({ orig: 0x1_8000_07f0n, mappingSize: 0x20, minAlignMask: 0xfffn }), NO_COPY));
    assert.equal(r.nslots, 2);
    // A device whose mask was cleared since the map frees one slot too few, like the kernel.
    const u = mem.unmapSingle(r.tlbAddr, 0x20, DMA_TO_DEVICE, 0, NO_COPY, { minAlignMask: 0n });
    assert.ok(u.ok);
    assert.deepEqual(u.freed, { index: r.index, nslots: 1, area: 0 });
    assert.equal(mem.used, 1);
  });
});

describe('swiotlb random sequences (property)', () => {
  type Op =
    | { kind: 'map'; cpu: number; orig: bigint; size: number; mam: bigint; aam: bigint; dir: SwiotlbDir }
    | { kind: 'unmap'; pick: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('map' as const),
        cpu: fc.nat(7),
        orig: fc.bigInt({ min: 0x1000n, max: 0xf_ffff_ffffn }),
        size: fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 270000 })),
        mam: fc.constantFrom(0n, 0xfffn, 0x7ffn, 0x3fffn),
        aam: fc.constantFrom(0n, 0x7ffn, 0xfffn, 0x3fffn),
        dir: fc.constantFrom(DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('unmap' as const), pick: fc.nat() }) },
  );

  it('keeps used equal to the live slots, never overlaps and restores every list', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), fc.constantFrom(1, 2, 4), (ops, cpus) => {
        const mem = newMem({ nslabs: 512, possibleCpus: cpus });
        const pool = mem.defpool;
        const live: { r: SwiotlbMapOk; size: number; dir: SwiotlbDir; mam: bigint }[] = [];
        const owned = new Set<number>();
        for (const op of ops) {
          if (op.kind === 'map') {
            const before = cloneState(mem);
            const r = mem.mapSingle(req({ orig: op.orig, mappingSize: op.size, minAlignMask: op.mam, allocAlignMask: op.aam, cpu: op.cpu, dir: op.dir }), NO_COPY);
            if (!r.ok) {
              assert.equal(r.reason, 'full');
              assert.deepEqual(mem, before);
              continue;
            }
            const last = r.index + r.nslots - 1;
            assert.ok(r.nslots <= IO_TLB_SEGSIZE);
            assert.equal(Math.floor(r.index / IO_TLB_SEGSIZE), Math.floor(last / IO_TLB_SEGSIZE), 'one segment');
            assert.equal(Math.floor(last / pool.areaNslabs), r.area, 'one area');
            for (let i = r.index; i <= last; i++) {
              assert.ok(!owned.has(i), `slot ${i} handed out twice`);
              owned.add(i);
            }
            const m = op.mam & 0xffff_ffffn;
            assert.equal(r.tlbAddr & m, op.orig & m, 'min_align_mask bits kept');
            const start = BASE + BigInt(r.index * IO_TLB_SIZE);
            assert.equal(start & op.aam, 0n, 'allocation aligned');
            live.push({ r, size: op.size, dir: op.dir, mam: op.mam });
          } else if (live.length > 0) {
            const [e] = live.splice(op.pick % live.length, 1);
            const u = mem.unmapSingle(e.r.tlbAddr, e.size, e.dir, 0, NO_COPY, { minAlignMask: e.mam });
            assert.ok(u.ok);
            assert.deepEqual(u.freed, { index: e.r.index, nslots: e.r.nslots, area: e.r.area });
            for (let i = e.r.index; i < e.r.index + e.r.nslots; i++) owned.delete(i);
          }
          assert.equal(mem.used, live.reduce((n, e) => n + e.r.nslots, 0));
          assert.equal(mem.poolsUsed(), mem.used);
          for (let a = 0; a < pool.nareas; a++) {
            let n = 0;
            for (const i of owned) if (Math.floor(i / pool.areaNslabs) === a) n++;
            assert.equal(pool.areas[a].used, n);
          }
        }
        checkLists(pool, owned);
        for (const e of live.splice(0)) mem.unmapSingle(e.r.tlbAddr, e.size, e.dir, 0, NO_COPY, { minAlignMask: e.mam });
        assert.equal(mem.used, 0);
        checkLists(pool, new Set());
        assert.ok(pool.padSlots.every((v) => v === 0) && pool.allocSize.every((v) => v === 0));
      }),
      { numRuns: 150 },
    );
  });
});

// The oracle generator's sequences (oracles/swiotlb/README.md), checked against
// the generator's summary counts from the real kernel code (sanity.txt),
// including S2, whose per-op data is kept back.
describe('swiotlb oracle sequences (summary counts)', () => {
  const MASK64 = (1n << 64n) - 1n;
  const SIZES = [64, 512, 1500, 2048, 4096, 8192, 16384, 65536, 262144];
  const W_SMALL = [20, 15, 15, 10, 15, 10, 7, 5, 3];
  const W_LARGE = [8, 8, 8, 8, 12, 14, 14, 16, 12];

  function run(seed: bigint, ncpus: number, nslabs: number, nops: number, weights: number[], scripted: boolean): string {
    let x = seed;
    const next = (): bigint => {
      x ^= x >> 12n;
      x = (x ^ (x << 25n)) & MASK64;
      x ^= x >> 27n;
      return (x * 0x2545f4914f6cdd1dn) & MASK64;
    };
    const below = (n: number): number => Number((next() >> 32n) % BigInt(n));
    const mem = newMem({ nslabs, possibleCpus: ncpus, debugFs: false });
    const live: { tlb: bigint; size: number; dir: SwiotlbDir; mam: bigint }[] = [];
    const s = { ops: 0, maps: 0, ok: 0, fail: 0, unmaps: 0, pad: 0, warns: 0, max: 0, copiesUnmap: 0, fallback: 0, wrapped: 0 };
    const map = (cpu: number, orig: bigint, size: number, mam: bigint, aam: bigint, dir: SwiotlbDir): SwiotlbMapResult => {
      s.ops++;
      s.maps++;
      const starts = mem.defpool.areas.map((a) => a.index);
      const r = mem.mapSingle(req({ orig, mappingSize: size, minAlignMask: mam, allocAlignMask: aam, cpu, dir }), NO_COPY);
      if (r.warnings.length) s.warns++;
      if (r.ok) {
        s.ok++;
        if (r.padSlots) s.pad++;
        if (r.area !== (cpu & (mem.defpool.nareas - 1))) s.fallback++;
        if (r.index - r.area * mem.defpool.areaNslabs < starts[r.area]) s.wrapped++;
        live.push({ tlb: r.tlbAddr, size, dir, mam });
      } else s.fail++;
      s.max = Math.max(s.max, mem.used);
      return r;
    };
    const unmap = (k: number): void => {
      s.ops++;
      s.unmaps++;
      const [e] = live.splice(k, 1);
      const u = mem.unmapSingle(e.tlb, e.size, e.dir, 0, NO_COPY, { minAlignMask: e.mam });
      if (u.ok && u.copy) s.copiesUnmap++;
    };
    if (scripted) {
      for (let i = 0; i < 16; i++) map(0, 0x1_9000_0000n + BigInt(i) * 0x40000n, 0x40000, 0n, 0n, DMA_TO_DEVICE);
      map(0, 0x1_9040_0000n, 4096, 0n, 0n, DMA_TO_DEVICE);
      for (let i = 0; i < 16; i++) unmap(0);
      map(0, 0x1_8000_0234n, 0x100, 0xfffn, 0n, DMA_TO_DEVICE);
    }
    for (let i = 0; i < nops; i++) {
      if (below(100) < 65 || live.length === 0) {
        const cpu = below(ncpus);
        const page = below(65536);
        const style = below(3);
        const low = style === 0 ? 0 : style === 1 ? below(4096) : below(64) * 64;
        const w = below(100);
        let k = 0;
        for (let c = weights[0]; c <= w; c += weights[++k]);
        const mam = below(2) ? 0xfffn : 0n;
        const aam = [0n, 0xfffn, 0x3fffn][below(3)];
        const dir = ([DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE] as const)[below(3)];
        map(cpu, 0x1_8000_0000n + BigInt(page) * 4096n + BigInt(low), SIZES[k], mam, aam, dir);
      } else unmap(below(live.length));
    }
    const mid = `live=${live.length} used=${mem.used}`;
    while (live.length) unmap(0);
    assert.equal(mem.used, 0);
    checkLists(mem.defpool, new Set());
    return (
      `${mid} ops=${s.ops} maps=${s.maps} ok=${s.ok} fail=${s.fail} unmaps=${s.unmaps} pad_maps=${s.pad} ` +
      `align_warns=${s.warns} max_used=${s.max} copies_unmap=${s.copiesUnmap} fallback_area=${s.fallback} wrapped_in_area=${s.wrapped}`
    );
  }

  it('S1 (2048 slots, 4 CPUs, seed 11)', () => {
    assert.equal(
      run(11n, 4, 2048, 5000, W_SMALL, false),
      'live=692 used=1976 ops=5692 maps=3290 ok=2402 fail=888 unmaps=2402 pad_maps=217 align_warns=1054 max_used=1979 copies_unmap=1604 fallback_area=348 wrapped_in_area=326',
    );
  });

  it('S2 (64 MiB, 2 CPUs, seed 12)', () => {
    assert.equal(
      run(12n, 2, 32768, 20000, W_LARGE, false),
      'live=3808 used=30459 ops=23808 maps=13062 ok=10746 fail=2316 unmaps=10746 pad_maps=1143 align_warns=4402 max_used=30636 copies_unmap=7142 fallback_area=427 wrapped_in_area=602',
    );
  });

  it('S3 (scripted fill, then seed 13)', () => {
    assert.equal(
      run(13n, 4, 2048, 2000, W_SMALL, true),
      'live=428 used=1901 ops=2462 maps=1302 ok=1160 fail=142 unmaps=1160 pad_maps=111 align_warns=425 max_used=2048 copies_unmap=754 fallback_area=133 wrapped_in_area=108',
    );
  });
});

describe('CONFIG_SWIOTLB_DYNAMIC', () => {
  const dev = { name: 'nvme0', minAlignMask: 0n };
  const fill = (mem: IoTlbMem): void => {
    for (let i = 0; i < 4; i++) ok(mem.mapSingle(req({ mappingSize: 0x40000, dev: dev.name, orig: 0x1_9000_0000n + BigInt(i) * 0x40000n }), NO_COPY));
  };

  it('maps into a transient pool when the pools are full and frees it at unmap', () => {
    const mem = newMem({ nslabs: 512, possibleCpus: 1, dynamic: true });
    fill(mem);
    const asked: number[] = [];
    const r = ok(
      mem.mapSingle(req({ mappingSize: 3000, dev: dev.name }), NO_COPY, (n) => {
        asked.push(n);
        return 0x9000_0000n;
      }),
    );
    assert.deepEqual(asked, [4096]);
    assert.equal(r.transient, true);
    assert.equal(r.tlbAddr, 0x9000_0000n);
    assert.equal(mem.dynAllocPending, true);
    assert.equal(mem.transientNslabs, 2);
    assert.equal(mem.totalUsed, 514);
    assert.equal(mem.totalSlots, 512);
    assert.ok(mem.isSwiotlbBuffer(r.tlbAddr, dev));
    assert.ok(!mem.isSwiotlbBuffer(r.tlbAddr, { name: 'other', minAlignMask: 0n }));
    assert.ok(!mem.isSwiotlbBuffer(BASE, { name: 'other', minAlignMask: 0n }), 'dma_uses_io_tlb is clear');
    assert.ok(mem.isSwiotlbBuffer(r.tlbAddr), 'the debugger view sees every device');

    const u = mem.unmapSingle(r.tlbAddr, 3000, DMA_TO_DEVICE, 0, NO_COPY, dev);
    assert.ok(u.ok);
    assert.deepEqual(u.releasedTransient, { start: 0x9000_0000n, bytes: 4096 });
    assert.equal(mem.transientPools.length, 0);
    assert.equal(mem.totalUsed, 512);
    assert.equal(mem.transientNslabs, 0);
  });

  it('fails when the page allocator has nothing, and hands back a transient pool it cannot use', () => {
    const mem = newMem({ nslabs: 512, possibleCpus: 1, dynamic: true });
    fill(mem);
    const none = mem.mapSingle(req({ mappingSize: 3000, dev: dev.name }), NO_COPY, () => null);
    assert.ok(!none.ok && none.reason === 'full' && none.growScheduled && none.releasedTransient === null);
    // Bit 11 of the original must survive, but a one-slot pool at a page boundary has it clear.
    const odd = mem.mapSingle(
      req({ orig: 0x1_8000_0900n, mappingSize: 0x100, minAlignMask: 0xfffn, dev: dev.name }),
      NO_COPY,
      () => 0x9000_0000n,
    );
    assert.ok(!odd.ok && odd.reason === 'full');
    assert.deepEqual(odd.releasedTransient, { start: 0x9000_0000n, bytes: 2048 });
    assert.equal(mem.transientPools.length, 0);
  });

  it('searches a grown pool first', () => {
    const mem = newMem({ nslabs: 512, possibleCpus: 2, dynamic: true });
    fill(mem);
    assert.equal(mem.growNslabs, 512);
    const pool = mem.growPool(0xa000_0000n);
    assert.equal(mem.pools[0], pool);
    assert.equal(mem.totalSlots, 1024);
    assert.equal(pool.nareas, 2);
    assert.equal(mem.dynAllocPending, false);
    const r = ok(mem.mapSingle(req({ mappingSize: 64, cpu: 1, dev: dev.name }), NO_COPY));
    assert.equal(r.poolStart, 0xa000_0000n);
    assert.equal(r.area, 1);
  });
});

describe('swiotlb inspection and snapshots', () => {
  it('describes the pool as runs of mappings and free slots', () => {
    const mem = newMem();
    const a = ok(mem.mapSingle(req({ orig: 0x1_8000_0000n, mappingSize: 5000 }), NO_COPY));
    const b = ok(mem.mapSingle(req({ orig: 0x1_8100_0a40n, mappingSize: 64, minAlignMask: 0xfffn, allocAlignMask: 0x3fffn }), NO_COPY));
    const runs = mem.slotRuns();
    assert.equal(runs.reduce((n, r) => n + r.count, 0), 2048);
    const used = runs.filter((r) => !r.free);
    assert.deepEqual(
      used.map((r) => [r.index, r.count, r.origAddr, r.padSlots, r.area]),
      [
        [a.index, a.nslots, 0x1_8000_0000n, 0, 0],
        [b.index, b.nslots, 0x1_8100_0a40n, 1, 0],
      ],
    );
    assert.equal(used[0].allocSize, 5000);
    const view = mem.inspect();
    assert.equal(view.used, a.nslots + b.nslots);
    assert.equal(view.pools[0].areas.length, 4);
  });

  it('snapshots with cloneState independently of later maps', () => {
    const mem = newMem();
    ok(mem.mapSingle(req(), NO_COPY));
    const snap = cloneState(mem);
    ok(mem.mapSingle(req({ mappingSize: 8192 }), NO_COPY));
    assert.equal(snap.used, 1);
    assert.equal(mem.used, 5);
    ok(snap.mapSingle(req({ mappingSize: 8192 }), NO_COPY));
    assert.equal(snap.used, 5);
    assert.deepEqual(snap.defpool.list, mem.defpool.list);
  });
});
