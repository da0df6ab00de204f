import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { IOVA_ANCHOR, IovaDomain, iovaRcacheRange } from '../../src/engine/iova/iova';
import { IOVA_MAG_SIZE, orderBase2 } from '../../src/engine/iova/iova-rcache';

const LIMIT32 = 0xfffff; // DMA_BIT_MASK(32) >> 12
const LIMIT48 = 0xfffffffff; // DMA_BIT_MASK(48) >> 12

function fresh(ncpus = 1): IovaDomain {
  return new IovaDomain(4096n, 1, ncpus);
}

function pow2ceil(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Tree nodes must be sorted and disjoint. */
function assertTreeSane(d: IovaDomain): void {
  const r = d.ranges();
  for (let i = 0; i < r.length; i++) {
    assert.ok(r[i].pfnLo <= r[i].pfnHi);
    if (i > 0) assert.ok(r[i - 1].pfnHi < r[i].pfnLo, `nodes ${i - 1} and ${i} overlap or are out of order`);
  }
}

/** A prototype-preserving deep clone, like the machine's snapshot for step-back. */
function deepClone<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x: unknown) => deepClone(x)) as T;
  const out = Object.create(Object.getPrototypeOf(v) as object) as Record<string, unknown>;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = deepClone(x);
  return out as T;
}

describe('iova: IovaDomain (drivers/iommu/iova.c)', () => {
  describe('init_iova_domain', () => {
    it('derives shift, dma_32bit_pfn and max32_alloc_size', () => {
      const d = fresh();
      assert.equal(d.shift, 12);
      assert.equal(d.startPfn, 1);
      assert.equal(d.dma32bitPfn, 0x100000);
      assert.equal(d.max32AllocSize, 0x100000);
      assert.equal(d.cachedNodePfn, IOVA_ANCHOR);
      assert.equal(d.cached32NodePfn, IOVA_ANCHOR);
      assert.equal(d.nodeCount, 0);
      const d64k = new IovaDomain(65536n, 1, 1, 65536n);
      assert.equal(d64k.dma32bitPfn, 0x10000);
    });

    it('BUGs on a granule above PAGE_SIZE or not a power of two', () => {
      assert.throws(() => new IovaDomain(65536n, 1, 1, 4096n), /kernel BUG/);
      assert.throws(() => new IovaDomain(12288n, 1, 1, 65536n), /kernel BUG/);
    });

    it('iova.h helpers', () => {
      const d = fresh();
      assert.equal(d.iovaOffset(0x12345678n), 0x678n);
      assert.equal(d.iovaAlign(0x1001n), 0x2000n);
      assert.equal(d.iovaAlign(0x1000n), 0x1000n);
      assert.equal(d.iovaAlignDown(0x1fffn), 0x1000n);
      assert.equal(d.iovaPfn(0xfffff000n), 0xfffff);
      assert.equal(d.iovaDmaAddr(0xffff8), 0xffff8000n);
      assert.equal(d.iovaMask(), 0xfffn);
      assert.equal(iovaRcacheRange(), 128n * 1024n);
    });

    it('order_base_2', () => {
      assert.deepEqual([1, 2, 3, 4, 5, 31, 32, 33, 64].map(orderBase2), [0, 1, 2, 2, 3, 5, 5, 6, 6]);
      assert.equal(orderBase2(2 ** 40 + 1), 41);
    });
  });

  describe('alloc_iova_fast / free_iova_fast', () => {
    it('allocates top-down below 4 GiB: 1 -> 0xfffff, 4 -> 0xffff8, 1 -> 0xffff7', () => {
      const d = fresh();
      assert.equal(d.allocIovaFast(1, LIMIT32, true), 0xfffff);
      assert.equal(d.lastAllocSource, 'tree');
      assert.equal(d.allocIovaFast(4, LIMIT32, true), 0xffff8);
      assert.equal(d.allocIovaFast(1, LIMIT32, true), 0xffff7);
      assert.equal(d.cached32NodePfn, 0xffff7);
      assert.deepEqual(d.findIova(0xffffa), { pfnLo: 0xffff8, pfnHi: 0xffffb });
    });

    it('rounds sizes below 32 up to a power of two, but not 33', () => {
      const d = fresh();
      const p3 = d.allocIovaFast(3, LIMIT32, false);
      assert.deepEqual(d.findIova(p3), { pfnLo: p3, pfnHi: p3 + 3 }); // 4 granules
      const p33 = d.allocIovaFast(33, LIMIT32, false);
      assert.equal(p33 % 64, 0, '33 granules are 64-aligned');
      assert.deepEqual(d.findIova(p33), { pfnLo: p33, pfnHi: p33 + 32 }); // length stays 33
    });

    it('reuses a freed range from the rcache, LIFO, and frees >= 33 to the tree', () => {
      const d = fresh();
      const a = d.allocIovaFast(1, LIMIT32, true);
      d.allocIovaFast(4, LIMIT32, true);
      d.allocIovaFast(1, LIMIT32, true);
      d.freeIovaFast(a, 1);
      assert.equal(d.lastFreeDest, 'rcache');
      assert.ok(d.ranges().some((r) => r.pfnLo === a && r.cached), 'cached range stays in the tree');
      assert.equal(d.allocIovaFast(1, LIMIT32, true), a);
      assert.equal(d.lastAllocSource, 'rcache');

      const b = d.allocIovaFast(33, LIMIT32, true);
      assert.equal(b, 0xfffc0);
      const before = d.nodeCount;
      d.freeIovaFast(b, 33);
      assert.equal(d.lastFreeDest, 'tree');
      assert.equal(d.nodeCount, before - 1);
      assert.equal(d.findIova(b), null);
    });

    it('does not hand out a cached pfn above the limit', () => {
      const d = fresh();
      const a = d.allocIovaFast(1, LIMIT32, false);
      d.freeIovaFast(a, 1);
      const b = d.allocIovaFast(1, 0xffff0, false);
      assert.equal(d.lastAllocSource, 'tree');
      assert.ok(b <= 0xffff0);
      assert.equal(d.allocIovaFast(1, LIMIT32, false), a); // still cached
    });

    it('keeps per-CPU magazines apart', () => {
      const d = fresh(2);
      const a = d.allocIovaFast(2, LIMIT32, false, 1);
      d.freeIovaFast(a, 2, 1);
      assert.notEqual(d.allocIovaFast(2, LIMIT32, false, 0), a);
      assert.equal(d.lastAllocSource, 'tree');
      assert.equal(d.allocIovaFast(2, LIMIT32, false, 1), a);
      assert.equal(d.lastAllocSource, 'rcache');
      assert.equal(d.freeCpuCachedIovas(1), 0);
    });

    it('retires full magazines to the depot; depotWork trims to num_online_cpus', () => {
      const d = fresh(1);
      const n = 4 * IOVA_MAG_SIZE;
      const pfns: number[] = [];
      for (let i = 0; i < n; i++) pfns.push(d.allocIovaFast(1, LIMIT32, false));
      for (const p of pfns) d.freeIovaFast(p, 1);
      // loaded + prev hold 127 each and two full magazines went to the depot.
      let s = d.rcacheStats()[0];
      assert.deepEqual(s.cpus, [{ loaded: IOVA_MAG_SIZE, prev: IOVA_MAG_SIZE }]);
      assert.equal(s.depotMagazines, 2);
      assert.equal(s.cachedRanges, n);
      assert.ok(d.depotWorkPending());
      assert.equal(d.nodeCount, n);
      assert.equal(d.depotWork(), IOVA_MAG_SIZE);
      s = d.rcacheStats()[0];
      assert.equal(s.depotMagazines, 1);
      assert.equal(d.nodeCount, n - IOVA_MAG_SIZE);
      assert.ok(!d.depotWorkPending());
      assert.equal(d.ranges().filter((r) => r.cached).length, n - IOVA_MAG_SIZE);
    });

    it('flushes every cache and retries when the tree is full and flush_rcache is set', () => {
      // 64 granules below 4 GiB: pfns 0xfffc0..0xfffff.
      const d = new IovaDomain(4096n, 0xfffc0, 1);
      const got: number[] = [];
      for (;;) {
        const p = d.allocIovaFast(16, LIMIT32, false);
        if (p === 0) break;
        got.push(p);
      }
      assert.equal(got.length, 4);
      assert.equal(d.lastAllocSource, 'fail');
      assert.equal(d.max32AllocSize, 16);
      d.freeIovaFast(got[0], 16); // cached, not returned to the tree
      assert.equal(d.max32AllocSize, 16);
      assert.equal(d.allocIovaFast(8, LIMIT32, false), 0); // size 8 < 16: searched, no room
      assert.equal(d.max32AllocSize, 8);
      assert.equal(d.allocIovaFast(8, LIMIT32, true), got[0] + 8);
      assert.ok(d.lastFlushRan);
      assert.equal(d.lastFlushed, 1);
      assert.equal(d.lastAllocSource, 'tree');
    });
  });

  describe('alloc_iova / free_iova / reserve_iova', () => {
    it('exhaustion sets max32_alloc_size; a tree free below dma_32bit_pfn resets it', () => {
      const d = new IovaDomain(4096n, 0xfff00, 1); // 256 granules under 4 GiB
      const a = d.allocIova(128, LIMIT32, false);
      const b = d.allocIova(128, LIMIT32, false);
      assert.deepEqual([a?.pfnLo, b?.pfnLo], [0xfff80, 0xfff00]);
      assert.equal(d.allocIova(2, LIMIT32, false), null);
      assert.equal(d.max32AllocSize, 2);
      // Fast fail: the request is not even searched.
      assert.equal(d.allocIova(5, LIMIT32, false), null);
      // Freeing a range above 4 GiB does not reset it.
      const hiRange = d.allocIova(1, LIMIT48, false);
      assert.equal(hiRange?.pfnLo, LIMIT48);
      d.freeIova(LIMIT48);
      assert.equal(d.max32AllocSize, 2);
      assert.ok(d.freeIova(0xfff85));
      assert.equal(d.max32AllocSize, d.dma32bitPfn);
      assert.deepEqual(d.allocIova(128, LIMIT32, true), { pfnLo: 0xfff80, pfnHi: 0xfffff });
    });

    it('a failure under a 64-bit limit also sets max32_alloc_size (as iova.c does)', () => {
      const d = new IovaDomain(4096n, 1, 1);
      assert.equal(d.allocIova(2 ** 40, LIMIT48, true), null);
      assert.equal(d.max32AllocSize, 2 ** 40);
    });

    it('retries in the gap above the cached node', () => {
      const d = new IovaDomain(4096n, 0x7ff00, 1);
      // A lower limit leaves cached32_node far below 4 GiB ...
      assert.equal(d.allocIova(16, 0x7ffff, true)?.pfnLo, 0x7fff0);
      assert.equal(d.allocIova(0xf0, LIMIT32, false)?.pfnLo, 0x7ff00);
      assert.equal(d.cached32NodePfn, 0x7ff00);
      // ... so the walk down from it finds nothing, and only the retry pass above it succeeds.
      assert.deepEqual(d.allocIova(16, LIMIT32, true), { pfnLo: 0xffff0, pfnHi: 0xfffff });
      assert.equal(d.cached32NodePfn, 0xffff0);
    });

    it('reserve_iova stretches overlapped nodes down and adds the tail', () => {
      const d = fresh();
      assert.deepEqual(d.reserveIova(0x100, 0x1ff), { pfnLo: 0x100, pfnHi: 0x1ff });
      assert.deepEqual(d.reserveIova(0x300, 0x3ff), { pfnLo: 0x300, pfnHi: 0x3ff });
      // Covers both and the gaps: first node grows down to 0x80, the second to 0x200, tail 0x400..0x4ff added.
      assert.deepEqual(d.reserveIova(0x80, 0x4ff), { pfnLo: 0x400, pfnHi: 0x4ff });
      assert.deepEqual(
        d.ranges().map((r) => [r.pfnLo, r.pfnHi]),
        [
          [0x80, 0x1ff],
          [0x200, 0x3ff],
          [0x400, 0x4ff],
        ],
      );
      // Fully inside an existing node: that node is returned and nothing changes.
      assert.deepEqual(d.reserveIova(0x90, 0xa0), { pfnLo: 0x80, pfnHi: 0x1ff });
      assert.equal(d.reserveIova(2 ** 52, 2 ** 52), null);
      assert.equal(d.warnings.length, 1);
    });

    it('allocations never land in a reserved range', () => {
      const d = fresh();
      d.reserveIova(0xfe000, 0xfefff);
      d.allocIova(0x1000, LIMIT32, true);
      const p = d.allocIova(0x10, LIMIT32, true)!;
      assert.ok(p.pfnHi < 0xfe000);
    });

    it('put_iova_domain empties the tree and the caches', () => {
      const d = fresh();
      const a = d.allocIovaFast(1, LIMIT32, false);
      d.freeIovaFast(a, 1);
      d.putIovaDomain();
      assert.equal(d.nodeCount, 0);
      assert.deepEqual(d.rcacheStats(), []);
      assert.throws(() => d.allocIovaFast(1, LIMIT32, false), /put_iova_domain/);
    });
  });

  describe('properties', () => {
    type Op = { kind: 'alloc'; size: number; wide: boolean; flush: boolean; cpu: number } | { kind: 'free'; pick: number };
    const sizeArb = fc.oneof(
      fc.constantFrom(1, 2, 3, 4, 8, 16, 32),
      fc.integer({ min: 5, max: 64 }),
      fc.integer({ min: 100, max: 3000 }),
    );
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('alloc' as const), size: sizeArb, wide: fc.boolean(), flush: fc.boolean(), cpu: fc.integer({ min: 0, max: 1 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
    );

    it('live allocations are disjoint, aligned, within [start_pfn, limit], and the tree accounts for them', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0xf0000, max: 0xffe00 }), fc.array(opArb, { maxLength: 300 }), (startPfn, ops) => {
          const d = new IovaDomain(4096n, startPfn, 2);
          const live: { pfn: number; size: number; len: number }[] = [];
          for (const op of ops) {
            if (op.kind === 'alloc') {
              const limit = op.wide ? LIMIT48 : LIMIT32;
              const pfn = d.allocIovaFast(op.size, limit, op.flush, op.cpu);
              if (pfn === 0) {
                assert.equal(d.lastAllocSource, 'fail');
                continue;
              }
              const len = op.size < 32 ? pow2ceil(op.size) : op.size;
              assert.ok(pfn >= startPfn && pfn + len - 1 <= limit, 'inside [start_pfn, limit]');
              assert.equal(pfn % pow2ceil(op.size), 0, 'size-aligned');
              for (const l of live) assert.ok(pfn + len <= l.pfn || l.pfn + l.len <= pfn, 'no overlap');
              live.push({ pfn, size: op.size, len });
            } else if (live.length > 0) {
              const i = op.pick % live.length;
              const l = live[i];
              live[i] = live[live.length - 1];
              live.pop();
              d.freeIovaFast(l.pfn, l.size, op.pick % 2);
            }
          }
          assertTreeSane(d);
          const ranges = d.ranges();
          assert.equal(ranges.filter((r) => !r.cached).length, live.length);
          const cached = d.rcacheStats().reduce((n, s) => n + s.cachedRanges, 0);
          assert.equal(ranges.length, live.length + cached);
          for (const l of live) assert.deepEqual(d.findIova(l.pfn), { pfnLo: l.pfn, pfnHi: l.pfn + l.len - 1 });
        }),
        { numRuns: 150 },
      );
    });

    it('exhaustion returns 0 and a tree free below dma_32bit_pfn lets the same request through', () => {
      fc.assert(
        fc.property(fc.integer({ min: 33, max: 200 }), fc.integer({ min: 8, max: 40 }), (size, room) => {
          const d = new IovaDomain(4096n, 0x100000 - size * room, 1);
          const got: number[] = [];
          for (let p = d.allocIovaFast(size, LIMIT32, true); p !== 0; p = d.allocIovaFast(size, LIMIT32, true)) got.push(p);
          assert.ok(got.length > 0);
          assert.equal(d.max32AllocSize, size);
          const victim = got[got.length >> 1];
          d.freeIovaFast(victim, size); // >= 33 granules: goes back to the tree
          assert.equal(d.lastFreeDest, 'tree');
          assert.equal(d.max32AllocSize, d.dma32bitPfn);
          assert.equal(d.allocIovaFast(size, LIMIT32, true), victim);
        }),
        { numRuns: 100 },
      );
    });

    it('freeing the newest allocation and allocating the same size again gives it back', () => {
      fc.assert(
        fc.property(fc.array(sizeArb, { minLength: 1, maxLength: 60 }), fc.boolean(), (sizes, fast) => {
          const d = fresh();
          let last = 0;
          let lastSize = 1;
          for (const s of sizes) {
            last = fast ? d.allocIovaFast(s, LIMIT32, false) : d.allocIova(s, LIMIT32, true)!.pfnLo;
            lastSize = s;
          }
          if (fast) d.freeIovaFast(last, lastSize);
          else d.freeIova(last);
          const again = fast ? d.allocIovaFast(lastSize, LIMIT32, false) : d.allocIova(lastSize, LIMIT32, true)!.pfnLo;
          assert.equal(again, last);
        }),
        { numRuns: 200 },
      );
    });

    it('a prototype-preserving deep clone (debugger snapshot) evolves identically', () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 200 }), fc.integer({ min: 0, max: 199 }), (ops, cut) => {
          const d = new IovaDomain(4096n, 0xff000, 2);
          const live: { pfn: number; size: number }[] = [];
          let snap: IovaDomain | null = null;
          let snapLive: { pfn: number; size: number }[] = [];
          const run = (dom: IovaDomain, lv: { pfn: number; size: number }[], op: Op): number => {
            if (op.kind === 'alloc') {
              const p = dom.allocIovaFast(op.size, op.wide ? LIMIT48 : LIMIT32, op.flush, op.cpu);
              if (p !== 0) lv.push({ pfn: p, size: op.size });
              return p;
            }
            if (lv.length === 0) return -1;
            const i = op.pick % lv.length;
            const l = lv[i];
            lv[i] = lv[lv.length - 1];
            lv.pop();
            dom.freeIovaFast(l.pfn, l.size, op.pick % 2);
            return l.pfn;
          };
          const trail: number[] = [];
          ops.forEach((op, i) => {
            if (i === cut % ops.length) {
              snap = deepClone(d);
              snapLive = live.map((l) => ({ ...l }));
            }
            const r = run(d, live, op);
            if (snap !== null) trail.push(r);
          });
          const replay: number[] = [];
          ops.slice(cut % ops.length).forEach((op) => replay.push(run(snap as unknown as IovaDomain, snapLive, op)));
          assert.deepEqual(replay, trail);
          assert.deepEqual((snap as unknown as IovaDomain).ranges(), d.ranges());
        }),
        { numRuns: 100 },
      );
    });
  });

  // The rate is a figure of `npm run bench` (iova_allocs_per_s), not a timed test: here, what makes it fast.
  it('a warm rcache answers alloc/free pairs with the IOVA just freed, never the tree', () => {
    const d = fresh();
    const sizes = [1, 2, 4, 8, 16, 32];
    const warm = new Map<number, number>();
    for (const s of sizes) {
      const pfn = d.allocIovaFast(s, LIMIT32, false);
      d.freeIovaFast(pfn, s);
      warm.set(s, pfn);
    }
    const tree = d.ranges();
    for (let i = 0; i < 3000; i++) {
      const s = sizes[i % 6];
      const pfn = d.allocIovaFast(s, LIMIT32, false);
      assert.equal(d.lastAllocSource, 'rcache', `pair ${i}, ${s} pages`);
      assert.equal(pfn, warm.get(s), `pair ${i}, ${s} pages: the IOVA the last free of this size left in the rcache`);
      d.freeIovaFast(pfn, s);
    }
    assert.deepEqual(d.ranges(), tree, 'the IOVA tree never changed');
  });
});
