// MappingRecords.liveOf, which the DMA sanitizer asks on every device access:
// its sorted per-device index must answer what a scan of every live mapping
// answers, across maps, unmaps and snapshot clones.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { MappingRecords, mappingKey, type MappingRecord } from '../../src/engine/dma-mapping/mapping-records';
import { CLONE } from '../../src/engine/snapshot';
import { DMA_FROM_DEVICE, DMA_TO_DEVICE } from '../../src/engine/dma-mapping/dma-direction';

type Op = { kind: 'map'; device: string; dma: bigint; size: bigint } | { kind: 'unmap'; device: string; dma: bigint } | { kind: 'clone' };

/** Every live mapping of `device` that contains addr. */
function containing(m: MappingRecords, device: string, addr: bigint): MappingRecord[] {
  return [...m.live.values()].filter((r) => r.device === device && addr >= r.dma && addr < r.dma + (r.size > 0n ? r.size : 1n));
}

const device = fc.constantFrom('nic', 'nvme');
const dma = fc.bigInt({ min: 0x1000n, max: 0x9000n });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('map' as const), device, dma, size: fc.bigInt({ min: 0n, max: 0x3000n }) }),
  fc.record({ kind: fc.constant('unmap' as const), device, dma }),
  fc.record({ kind: fc.constant('clone' as const) }),
);

describe('MappingRecords.liveOf', () => {
  it('finds a live mapping containing the address exactly when a scan finds one (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.array(fc.tuple(device, fc.bigInt({ min: 0n, max: 0xd000n })), { minLength: 1, maxLength: 20 }), (ops, probes) => {
        let m = new MappingRecords();
        for (const o of ops) {
          if (o.kind === 'map') m.add({ device: o.device, dma: o.dma, size: o.size, phys: 0x8000_0000n + o.dma, dir: DMA_TO_DEVICE, bounce: null, kind: 'single', line: 1 });
          else if (o.kind === 'unmap') m.end(o.device, o.dma, 2);
          else m = m[CLONE]();
          for (const [d, addr] of probes) {
            const hit = m.liveOf(d, addr);
            const all = containing(m, d, addr);
            if (all.length === 0) assert.equal(hit, undefined);
            else assert.ok(hit !== undefined && all.includes(hit), `${d} ${addr.toString(16)}`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('answers like a scan when asked only now and then: mappings made and ended between two asks, remaps of a live key and clones included (property)', () => {
    type Step = Op | { kind: 'probe'; device: string; addr: bigint };
    const step: fc.Arbitrary<Step> = fc.oneof(
      { arbitrary: op, weight: 4 },
      { arbitrary: fc.record({ kind: fc.constant('probe' as const), device, addr: fc.bigInt({ min: 0n, max: 0xd000n }) }), weight: 1 },
    );
    // Few addresses, so a key is mapped again while live and unmapped right after it was made.
    const few = fc.constantFrom(0x1000n, 0x2000n, 0x2800n, 0x5000n);
    const steps = fc.array(fc.oneof(step, fc.record({ kind: fc.constantFrom('map' as const), device, dma: few, size: fc.bigInt({ min: 0n, max: 0x3000n }) }), fc.record({ kind: fc.constant('unmap' as const), device, dma: few })), { maxLength: 80 });
    fc.assert(
      fc.property(steps, (ops) => {
        let m = new MappingRecords();
        for (const o of ops) {
          if (o.kind === 'map') m.add({ device: o.device, dma: o.dma, size: o.size, phys: 0x8000_0000n + o.dma, dir: DMA_TO_DEVICE, bounce: null, kind: 'single', line: 1 });
          else if (o.kind === 'unmap') m.end(o.device, o.dma, 2);
          else if (o.kind === 'clone') m = m[CLONE]();
          else {
            const hit = m.liveOf(o.device, o.addr);
            const all = containing(m, o.device, o.addr);
            if (all.length === 0) assert.equal(hit, undefined);
            else assert.ok(hit !== undefined && all.includes(hit), `${o.device} ${o.addr.toString(16)}`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('finds a live mapping made again at its key before anything asked, with its new size, and loses it at unmap', () => {
    const m = new MappingRecords();
    const map = (dma: bigint, size: bigint, line: number): void => void m.add({ device: 'nic', dma, size, phys: 0x8100_0000n, dir: DMA_TO_DEVICE, bounce: null, kind: 'single', line });
    map(0x5000n, 0x100n, 1);
    map(0x1000n, 0x100n, 2);
    map(0x1000n, 0x2000n, 3); // the same key, still live: replaced
    assert.equal(m.liveOf('nic', 0x2800n)?.line, 3);
    assert.equal(m.liveOf('nic', 0x5010n)?.line, 1);
    m.end('nic', 0x1000n, 4);
    assert.equal(m.liveOf('nic', 0x1000n), undefined);
    assert.equal(m.liveOf('nic', 0x5010n)?.line, 1);
  });

  it('answers a clone from the clone: an unmap in the original does not reach it', () => {
    const m = new MappingRecords();
    m.add({ device: 'nic', dma: 0xfffff000n, size: 64n, phys: 0x8100_0000n, dir: DMA_FROM_DEVICE, bounce: null, kind: 'single', line: 3 });
    const copy = m[CLONE]();
    m.end('nic', 0xfffff000n, 4);
    assert.equal(m.liveOf('nic', 0xfffff03fn), undefined);
    assert.equal(copy.liveOf('nic', 0xfffff03fn)?.line, 3);
    assert.equal(copy.liveOf('nic', 0xfffff040n), undefined);
  });
});

describe('MappingRecords.live', () => {
  it('lists the live mappings in the order a Map with deletes would, through remaps of the same address, many unmaps and clones (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        let m = new MappingRecords();
        let model = new Map<string, { device: string; dma: bigint; line: number }>();
        let line = 0;
        for (const o of ops) {
          line++;
          if (o.kind === 'map') {
            const rec = m.add({ device: o.device, dma: o.dma, size: o.size, phys: 0x8000_0000n + o.dma, dir: DMA_TO_DEVICE, bounce: null, kind: 'single', line });
            model.set(rec.key, { device: o.device, dma: o.dma, line });
            assert.equal(m.live.get(rec.key), rec);
          } else if (o.kind === 'unmap') {
            const ended = m.end(o.device, o.dma, line);
            assert.equal(ended?.line, model.get(`${o.device}@${o.dma}`)?.line);
            assert.equal(ended !== undefined, model.delete(`${o.device}@${o.dma}`));
          } else {
            m = m[CLONE]();
            model = new Map(model);
          }
          assert.equal(m.live.size, model.size);
          assert.deepEqual([...m.live.values()].map((r) => [r.device, r.dma, r.line]), [...model.values()].map((r) => [r.device, r.dma, r.line]));
          // Lookups by key (the last key is remembered: it must follow every map, unmap, dropped slot and clone).
          if (o.kind !== 'clone') {
            const key = mappingKey(o.device, o.dma);
            assert.equal(m.live.has(key), model.has(key));
            assert.equal(m.live.get(key)?.line, model.get(key)?.line);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('remaps an address in a loop with one live entry and keeps the order of one made in between', () => {
    const m = new MappingRecords();
    const map = (device: string, dma: bigint, line: number): void => void m.add({ device, dma, size: 4096n, phys: 0x8100_0000n, dir: DMA_TO_DEVICE, bounce: null, kind: 'single', line });
    for (let i = 1; i <= 1000; i++) {
      map('nvme', 0xfffff000n, i);
      m.end('nvme', 0xfffff000n, i);
    }
    map('nvme', 0xfffff000n, 2001);
    map('nic', 0xffffe000n, 2002);
    m.end('nvme', 0xfffff000n, 2003);
    map('nvme', 0xfffff000n, 2004);
    assert.deepEqual([...m.live.values()].map((r) => [r.device, r.line]), [['nic', 2002], ['nvme', 2004]]);
    assert.equal(m.ended.length, 1001);
  });
});

describe('MappingRecords.ended', () => {
  /** The ended list as plain records: trimmed back to 4,096 once it passes 8,192, as the kernel-facing lookups expect. */
  function model(ops: { device: string; dma: bigint; size: bigint; bounce: bigint | null; endLine: number | undefined }[]): MappingRecord[] {
    const ended: MappingRecord[] = [];
    ops.forEach((o, i) => {
      const rec: MappingRecord = { key: `${o.device}@${o.dma}`, device: o.device, dma: o.dma, size: o.size, phys: 0x8000_0000n + o.dma, dir: (i % 4) as 0 | 1 | 2 | 3, bounce: o.bounce, kind: (['single', 'sg', 'coherent', 'iova-link'] as const)[i % 4], line: i + 1, live: false };
      if (o.endLine !== undefined) rec.endLine = o.endLine;
      ended.push(rec);
      if (ended.length > 8192) ended.splice(0, ended.length - 4096);
    });
    return ended;
  }

  it('keeps and gives back what a list of ended records trimmed to 4,096 past 8,192 holds, clones included (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ device: fc.constantFrom('nic', 'nvme'), dma: fc.oneof(fc.bigInt({ min: 0x1000n, max: 0x9000n }), fc.constant((1n << 64n) + 5n)), size: fc.bigInt({ min: 0n, max: 0x3000n }), bounce: fc.option(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), endLine: fc.option(fc.nat(), { nil: undefined }) }), { minLength: 1, maxLength: 40 }),
        fc.oneof(fc.integer({ min: 1, max: 9000 }), fc.integer({ min: 9000, max: 12_000 })),
        fc.integer({ min: 0, max: 12_000 }),
        (kinds, count, cloneAt) => {
          const ops = Array.from({ length: count }, (_, i) => kinds[i % kinds.length]);
          let m = new MappingRecords();
          let snapshot: { m: MappingRecords; at: number } | undefined;
          ops.forEach((o, i) => {
            m.add({ device: o.device, dma: o.dma, size: o.size, phys: 0x8000_0000n + o.dma, dir: (i % 4) as 0 | 1 | 2 | 3, bounce: o.bounce, kind: (['single', 'sg', 'coherent', 'iova-link'] as const)[i % 4], line: i + 1 });
            m.end(o.device, o.dma, o.endLine);
            if (i === cloneAt) {
              snapshot = { m, at: i + 1 };
              m = m[CLONE]();
            }
          });
          const want = model(ops);
          assert.equal(m.ended.length, want.length);
          assert.deepEqual(m.records, want);
          for (const addr of [0x1000n, 0x4fffn, 0x9000n, (1n << 64n) + 5n]) {
            const hit = [...want].reverse().find((r) => addr >= r.dma && addr < r.dma + (r.size > 0n ? r.size : 1n));
            assert.deepEqual(m.findByDma(addr), hit);
          }
          if (snapshot) assert.deepEqual(snapshot.m.records, model(ops.slice(0, snapshot.at)));
        },
      ),
      { numRuns: 60 },
    );
  });
});
