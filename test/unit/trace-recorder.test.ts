// The trace recorder's columnar store: whatever sequence of calls, returns and
// points is recorded, every event reads back as it was recorded (kind, name,
// fields, position, depth, match), repeated steps share one record, and a
// long loop's trace costs a few bytes an event.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { CLONE } from '../../src/engine/snapshot';
import { TraceRecorder, type Fields, type TraceEvent } from '../../src/engine/trace/recorder';
import { runScenario } from '../../src/lang/run';
import { ScenarioTimeline } from '../../src/lang/timeline';

type Op = { op: 'enter'; name: string; fields: Fields } | { op: 'leave'; ret?: bigint | number | string } | { op: 'emit'; name: string; fields: Fields } | { op: 'line'; line: number };

const fieldsArb: fc.Arbitrary<Fields> = fc.dictionary(fc.constantFrom('iova', 'size', 'device', 'dir', 'x'), fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer(), fc.constantFrom('TO_DEVICE', 'nvme0', ''), fc.boolean()), { maxKeys: 4 }).map((d) => ({ ...d }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('enter' as const), name: fc.constantFrom('dma_map_phys', 'iommu_map', 'alloc_iova_fast'), fields: fieldsArb }),
  fc.record({ op: fc.constant('leave' as const), ret: fc.option(fc.oneof(fc.bigInt({ min: 0n, max: 1n << 40n }), fc.integer(), fc.string()), { nil: undefined }) }),
  fc.record({ op: fc.constant('emit' as const), name: fc.constantFrom('iommu:map', 'engine:statement'), fields: fieldsArb }),
  fc.record({ op: fc.constant('line' as const), line: fc.integer({ min: 1, max: 5 }) }),
);

/** What the recorder must hold: events built as plain objects, matches patched at each return. */
function model(ops: Op[]): TraceEvent[] {
  const out: TraceEvent[] = [];
  const open: number[] = [];
  let line = 0;
  for (const o of ops) {
    if (o.op === 'line') line = o.line;
    else if (o.op === 'emit') out.push({ seq: out.length, kind: 'point', name: o.name, fields: o.fields, line, column: 1, depth: open.length, match: -1 });
    else if (o.op === 'enter') {
      open.push(out.length);
      out.push({ seq: out.length, kind: 'call', name: o.name, fields: o.fields, line, column: 1, depth: open.length - 1, match: -1 });
    } else if (open.length > 0) {
      const c = open.pop()!;
      out[c].match = out.length;
      out.push({ seq: out.length, kind: 'return', name: out[c].name, fields: o.ret === undefined ? {} : { ret: o.ret }, line, column: 1, depth: open.length, match: c });
    }
  }
  return out;
}

function record(ops: Op[]): TraceRecorder {
  const t = new TraceRecorder();
  t.column = 1;
  let depth = 0;
  for (const o of ops) {
    if (o.op === 'line') t.line = o.line;
    else if (o.op === 'emit') t.emit(o.name, o.fields);
    else if (o.op === 'enter') {
      t.enter(o.name, o.fields);
      depth++;
    } else if (depth > 0) {
      t.leave(o.ret);
      depth--;
    }
  }
  return t;
}

describe('trace recorder: columnar events', () => {
  it('reads back every event as recorded, for any sequence of calls, returns and points', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const t = record(ops);
        const want = model(ops);
        assert.equal(t.length, want.length);
        assert.deepEqual(t.events, want);
        for (let i = 0; i < want.length; i++) {
          assert.equal(t.nameAt(i), want[i].name);
          assert.equal(t.kindAt(i), want[i].kind);
          assert.equal(t.matchAt(i), want[i].match);
          assert.equal(t.depthAt(i), want[i].depth);
          assert.equal(t.lineAt(i), want[i].line);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a clone independent and a truncated trace exact', () => {
    const t = new TraceRecorder();
    t.line = 3;
    t.enter('iommu_map', { iova: 0xfffff000n, size: 4096 });
    t.emit('iommu:map', { iova: 0xfffff000n });
    t.leave(0);
    const copy = t[CLONE]();
    copy.emit('engine:printk', { text: 'only in the copy' });
    assert.equal(t.length, 3);
    assert.equal(copy.length, 4);
    assert.deepEqual(t.eventAt(0), { seq: 0, kind: 'call', name: 'iommu_map', fields: { iova: 0xfffff000n, size: 4096 }, line: 3, column: 0, depth: 0, match: 2 });
    assert.deepEqual(t.eventAt(2).fields, { ret: 0 });
    t.truncate(1);
    assert.equal(t.length, 1);
    assert.equal(t.nameAt(0), 'iommu_map');
  });

  it('stores rarely repeating events a record each, reads them back, and shares records again once they repeat', () => {
    const t = new TraceRecorder();
    for (let i = 0; i < 3000; i++) t.emit('engine:cpu_write', { phys: 0x8100_0000n + BigInt(i) * 4096n, len: 6 });
    let afterSwitch = 0;
    for (let i = 0; i < 20_000; i++) {
      t.emit('engine:cpu_write', { phys: 0x8100_0000n, len: 6 });
      if (i === 5000) afterSwitch = t.distinctRecords;
    }
    assert.equal(t.length, 23_000);
    assert.deepEqual(t.fieldsAt(2999), { phys: 0x8100_0000n + 2999n * 4096n, len: 6 });
    assert.deepEqual(t.fieldsAt(22_999), { phys: 0x8100_0000n, len: 6 });
    assert.deepEqual(t.eventAt(1234), { seq: 1234, kind: 'point', name: 'engine:cpu_write', fields: { phys: 0x8100_0000n + 1234n * 4096n, len: 6 }, line: 0, column: 0, depth: 0, match: -1 });
    // The unique phase costs a record an event (and so do up to 2,048 events after it, before lookups resume);
    // once the repeats are looked up again they add no record at all.
    assert.ok(afterSwitch >= 3000 && afterSwitch <= 3000 + 2048 + 128, `${afterSwitch} records`);
    assert.equal(t.distinctRecords, afterSwitch);
  });

  it('tells fields apart by value, type and key order', () => {
    const t = new TraceRecorder();
    t.emit('p', { a: 1, b: 2 });
    t.emit('p', { b: 2, a: 1 });
    t.emit('p', { a: 1n, b: 2 });
    t.emit('p', { a: '1', b: 2 });
    t.emit('p', { a: 1, b: 2 });
    assert.deepEqual(t.events.map((e) => Object.entries(e.fields)), [
      [['a', 1], ['b', 2]],
      [['b', 2], ['a', 1]],
      [['a', 1n], ['b', 2]],
      [['a', '1'], ['b', 2]],
      [['a', 1], ['b', 2]],
    ]);
  });

  it('stores a 20,000-iteration map/unmap loop as a handful of records, with the --json events as documented', () => {
    const header = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }
device nvme0 : pci "0000:01:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }
b = alloc_pages(0)
`;
    const loop = (n: number): string => `${header}for i in 0 .. ${n} {\n  h = dma_map_page(nvme0, b, 0, 4K, DMA_TO_DEVICE)\n  dma_mapping_error(nvme0, h)\n  dma_unmap_page(nvme0, h, 4K, DMA_TO_DEVICE)\n}\n`;
    const tl = new ScenarioTimeline(loop(20_000), Number.POSITIVE_INFINITY);
    const t = tl.trace;
    assert.ok(t.length > 20_000 * 20, `${t.length} events`);
    // The last iteration's map call: its return is its match, and the IOVA the rcache gave back each time.
    let map = -1;
    for (let i = t.length - 1; i >= 0 && map < 0; i--) if (t.nameAt(i) === 'dma_map_phys' && t.kindAt(i) === 'call') map = i;
    assert.equal(t.eventAt(t.matchAt(map)).fields.ret, 0xfffff000n);
    // Every iteration repeats the same steps: the records stay a handful, however long the loop.
    assert.ok(t.distinctRecords < 200, `${t.distinctRecords} records`);
    const json = runScenario(loop(2), 'x.dmas').events;
    const maps = json.filter((e) => e.name === 'dma_map_phys');
    assert.deepEqual(maps.map((e) => [e.kind, e.line, e.depth, json[e.match ?? -1]?.name]), [['call', 6, 0, 'dma_map_phys'], ['return', 6, 0, 'dma_map_phys'], ['call', 6, 0, 'dma_map_phys'], ['return', 6, 0, 'dma_map_phys']]);
    assert.deepEqual(maps[0].fields, { device: '0000:01:00.0', phys: '0x81001000', size: 4096, dir: 'TO_DEVICE' });
    assert.deepEqual(maps[3].fields, { ret: '0xfffff000' });
    assert.equal(maps[2].match, maps[3].seq);
  });
});
