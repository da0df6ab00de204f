// A debug step posts the IOVA map as the rows changed since the state the
// webview holds: the webview must rebuild exactly the model the host built,
// a step on a big domain must cost bytes, not megabytes, and a delta that
// does not fit (lost, reordered, hostile) must make the webview ask for the
// whole state, never throw or draw something else.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { manyMappingsMachine } from '../../src/bench/panel-bench';
import { inspectMachine } from '../../src/engine/inspect';
import type { MachineView, MappedRangeView } from '../../src/engine/inspect/types';
import { ScenarioTimeline } from '../../src/lang/timeline';
import { applyModelDelta, IovaMapStateReceiver, IovaMapStateSender, modelDelta, type IovaMapModelDelta } from '../../src/panels/iova-map-delta';
import { buildIovaMapModel, domainChoices, rangesOf, type IovaMapModel } from '../../src/panels/iova-map-model';
import { parseFromWebviewMessage, type IovaMapState, type IovaMapToWebview } from '../../src/protocol';

const SRC = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }
device eth0 : pci "0000:02:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }
device nvme0 : pci "0000:03:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }
b = kmalloc(100)
for i in 0 .. 12 { t = dma_map_single(eth0, b, 100, DMA_TO_DEVICE) }
c = alloc_pages(2)
h = dma_map_page(eth0, c, 0, 16K, DMA_BIDIRECTIONAL)
r = dma_map_page(nvme0, c, 0, 8K, DMA_FROM_DEVICE)
dma_unmap_page(eth0, h, 16K, DMA_BIDIRECTIONAL)
w = dma_map_page(eth0, c, 4K, 4K, DMA_FROM_DEVICE)
`;

/** Bytes a message takes: typed arrays by their size, the rest as JSON. */
function bytesOf(m: unknown): number {
  let typed = 0;
  const json = JSON.stringify(m, (_k, v: unknown) => {
    if (ArrayBuffer.isView(v)) { typed += v.byteLength; return 0; }
    return v;
  });
  return typed + json.length;
}

const stateOf = (model: IovaMapModel | null, event: number): IovaMapState => ({
  position: { source: 'debug', event, total: null, line: 1, backwards: false, statements: [], uri: 'file:///s.dmas' },
  domains: model ? [{ label: model.domain, mappings: model.ranges.count }] : [], model, compare: null,
});

/** Posted as postMessage would: a structured clone. */
const post = (m: IovaMapToWebview): IovaMapToWebview => structuredClone(m);

function domainOf(mappings: MappedRangeView[]): MachineView {
  const m = manyMappingsMachine(4);
  return { ...m, buffers: [], domains: [{ ...m.domains[0], mappings, iova: { ...m.domains[0].iova!, allocations: mappings.map((r) => ({ start: r.iova, last: `0x${(BigInt(r.iova) + BigInt(r.size) - 1n).toString(16)}`, pages: Number(BigInt(r.size) >> 12n), cached: r.line % 2 === 0 })) } }] };
}
const DOMAIN = 'default domain of nvme0';

describe('IOVA map: a step sends only what changed', () => {
  it('rebuilds in the webview exactly the model the host built, at every event of a run, with deltas after the first state', () => {
    const tl = new ScenarioTimeline(SRC);
    const sender = new IovaMapStateSender();
    const receiver = new IovaMapStateReceiver();
    const kinds: string[] = [];
    let domain = 'default domain of eth0';
    for (let e = 0; e < tl.trace.length; e++) {
      const m = tl.stateAt(e).machine;
      if (!m) continue;
      const view = inspectMachine(m);
      // Halfway through, the user picks nvme0's domain: that state goes whole.
      if (e === Math.floor(tl.trace.length * 0.8) && domainChoices(view).some((d) => d.label === 'default domain of nvme0')) domain = 'default domain of nvme0';
      const prev = tl.stateAt(e - 1).machine;
      const state = stateOf(buildIovaMapModel(view, domain, prev ? inspectMachine(prev) : null) ?? null, e);
      const msg = post(sender.next(state));
      kinds.push(msg.type);
      const got = receiver.receive(msg as Extract<IovaMapToWebview, { type: 'iovaMap/state' | 'iovaMap/delta' }>);
      assert.notEqual(got, 'resync', `event ${e}`);
      assert.deepStrictEqual(got, state, `event ${e}`);
    }
    assert.equal(kinds[0], 'iovaMap/state');
    assert.ok(kinds.filter((k) => k === 'iovaMap/delta').length > kinds.length / 2, kinds.join(' '));
    // A ready (reload) or resync posts the last state whole, and the next step is a delta from it.
    const whole = post(sender.whole()!);
    assert.equal(whole.type, 'iovaMap/state');
    const fresh = new IovaMapStateReceiver();
    assert.notEqual(fresh.receive(whole as Extract<IovaMapToWebview, { type: 'iovaMap/state' }>), 'resync');
  });

  it('posts one mapping added to 100,000 as a few kilobytes instead of megabytes, and the webview gets the same model', () => {
    const machine = manyMappingsMachine(100_000);
    const before = buildIovaMapModel(machine, DOMAIN)!;
    const d = machine.domains[0];
    const added = { iova: '0x10000000', phys: '0x8000000', size: '0x1000', prot: 'rw', line: 99 };
    const next = { ...machine, domains: [{ ...d, mappings: [...d.mappings, added], iova: { ...d.iova!, allocations: [...d.iova!.allocations, { start: '0x10000000', last: '0x10000fff', pages: 1, cached: false }] } }] };
    const after = buildIovaMapModel(next, DOMAIN, machine)!;
    const sender = new IovaMapStateSender();
    const receiver = new IovaMapStateReceiver();
    const first = post(sender.next(stateOf(before, 1)));
    const step = post(sender.next(stateOf(after, 2)));
    assert.equal(first.type, 'iovaMap/state');
    assert.equal(step.type, 'iovaMap/delta');
    const full = bytesOf(first);
    const delta = bytesOf(step);
    assert.ok(full > 3_000_000, `full state ${full} bytes`);
    assert.ok(delta < 4_000, `delta ${delta} bytes`);
    receiver.receive(first as Extract<IovaMapToWebview, { type: 'iovaMap/state' }>);
    const got = receiver.receive(step as Extract<IovaMapToWebview, { type: 'iovaMap/delta' }>);
    assert.notEqual(got, 'resync');
    assert.deepStrictEqual((got as IovaMapState).model, after);
    // The change highlight and the new range are the host's (its buffer-less page exposes nothing: the findings list is kept).
    assert.deepEqual((step as Extract<IovaMapToWebview, { type: 'iovaMap/delta' }>).state.model.kept, ['findings', 'sanitizer', 'flushQueue', 'rcache']);
    assert.deepEqual(after.change.map((c) => [c.kind, c.iova]), [['mapped', '0x10000000']]);
    assert.ok(rangesOf((got as IovaMapState).model!.ranges).some((r) => r.iova === '0x10000000' && r.line === 99));
  });

  it('goes whole for another domain, a big change, or no model; a delta applies to any change of rows', () => {
    const pool = Array.from({ length: 40 }, (_, i) => ({ iova: `0x${((i + 1) * 0x3000).toString(16)}`, phys: `0x${(0x80000000 + i * 0x1000).toString(16)}`, size: '0x1000', prot: ['r', 'w', 'rw'][i % 3], line: i + 1 }));
    let applied = 0;
    // The next set: the held one less a few mappings, plus a few (or anything at all).
    const sets = fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { minLength: 8 }).chain((a) => fc.tuple(fc.constant(a), fc.oneof(
      fc.tuple(fc.subarray(a, { minLength: Math.max(0, a.length - 2) }), fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { maxLength: 2 })).map(([kept, more]) => [...new Set([...kept, ...more])]),
      fc.uniqueArray(fc.integer({ min: 0, max: 39 })),
    )));
    fc.assert(fc.property(sets, fc.integer({ min: 0, max: 39 }), ([a, b], changed) => {
      // Mapping `changed` comes back with another prot and line: the same IOVA, a row replaced.
      const held = buildIovaMapModel(domainOf(a.map((i) => pool[i])), DOMAIN)!;
      const next = buildIovaMapModel(domainOf(b.map((i) => (i === changed ? { ...pool[i], prot: 'rw,mmio', line: 77 } : pool[i]))), DOMAIN)!;
      const delta = modelDelta(held, next);
      if (!delta) return;
      applied++;
      assert.deepStrictEqual(applyModelDelta(held, structuredClone(delta)), next);
      assert.ok(delta.ranges.removed.length + delta.ranges.at.length <= Math.max(16, Math.floor(Math.max(held.ranges.count, next.ranges.count) / 4)));
    }), { numRuns: 300 });
    assert.ok(applied > 100, `${applied} of 300 runs made a delta`);
    const small = buildIovaMapModel(domainOf(pool.slice(0, 20)), DOMAIN)!;
    assert.equal(modelDelta(small, { ...small, domain: 'other' }), undefined);
    assert.equal(modelDelta(small, buildIovaMapModel(domainOf(pool.slice(20)), DOMAIN)!), undefined, 'all rows changed');
    const sender = new IovaMapStateSender();
    sender.next(stateOf(small, 1));
    assert.equal(sender.next(stateOf(null, 2)).type, 'iovaMap/state');
    assert.equal(sender.next(stateOf(small, 3)).type, 'iovaMap/state');
    assert.equal(sender.next(stateOf(small, 4)).type, 'iovaMap/delta');
  });

  it('asks for the whole state when a delta does not fit the state it holds, and refuses hostile deltas without throwing', () => {
    const pool = Array.from({ length: 30 }, (_, i) => ({ iova: `0x${((i + 1) * 0x3000).toString(16)}`, phys: `0x${(0x80000000 + i * 0x1000).toString(16)}`, size: '0x1000', prot: ['r', 'w'][i % 2], line: i + 1 }));
    const held = buildIovaMapModel(domainOf(pool.slice(0, 28)), DOMAIN)!;
    const next = buildIovaMapModel(domainOf([...pool.slice(1, 28), pool[29]]), DOMAIN)!;
    const good = modelDelta(held, next)!;
    assert.ok(good);
    assert.deepStrictEqual(applyModelDelta(held, good), next);
    const hostile: [string, (d: IovaMapModelDelta) => unknown][] = [
      ['removed out of range', (d) => ({ ...d, ranges: { ...d.ranges, removed: Uint32Array.of(400) } })],
      ['removed twice', (d) => ({ ...d, ranges: { ...d.ranges, removed: Uint32Array.of(0, 0), count: d.ranges.count - 1 } })],
      ['added past the end', (d) => ({ ...d, ranges: { ...d.ranges, at: Uint32Array.of(9999) } })],
      ['added out of order', (d) => ({ ...d, ranges: { ...d.ranges, at: Uint32Array.of(5, 2), count: d.ranges.count + 1, rows: { ...d.ranges.rows, line: new Uint32Array(2) } } })],
      ['count that does not add up', (d) => ({ ...d, ranges: { ...d.ranges, count: d.ranges.count + 3 } })],
      ['a column too short', (d) => ({ ...d, ranges: { ...d.ranges, rows: { ...d.ranges.rows, start: new Uint32Array(0) } } })],
      ['a column of another type', (d) => ({ ...d, ranges: { ...d.ranges, rows: { ...d.ranges.rows, key: [1] } } })],
      ['a prot index past protNames', (d) => ({ ...d, ranges: { ...d.ranges, rows: { ...d.ranges.rows, prot: Uint16Array.of(60000) } } })],
      ['protNames not strings', (d) => ({ ...d, ranges: { ...d.ranges, rows: { ...d.ranges.rows, protNames: [7] } } })],
      ['no allocations', (d) => ({ ...d, allocations: null })],
      ['removed as a plain array', (d) => ({ ...d, ranges: { ...d.ranges, removed: [0] } })],
      ['a huge count', (d) => ({ ...d, ranges: { ...d.ranges, count: 2 ** 40 } })],
      ['another domain', (d) => ({ ...d, domain: 'default domain of eth0' })],
    ];
    for (const [what, spoil] of hostile) assert.equal(applyModelDelta(held, spoil(structuredClone(good)) as IovaMapModelDelta), undefined, what);
    // The receiver: a delta for another state number, or before any state, asks for the whole state.
    const receiver = new IovaMapStateReceiver();
    const delta = { type: 'iovaMap/delta' as const, seq: 2, base: 1, state: { ...stateOf(null, 2), model: good } };
    assert.equal(receiver.receive(delta), 'resync');
    receiver.receive({ type: 'iovaMap/state', state: stateOf(held, 1), seq: 7 });
    assert.equal(receiver.receive(delta), 'resync');
    assert.equal(receiver.heldSeq(), 7);
    receiver.receive({ type: 'iovaMap/state', state: stateOf(held, 1), seq: 1 });
    assert.deepStrictEqual((receiver.receive(delta) as IovaMapState).model, next);
    assert.equal(receiver.heldSeq(), 2);
  });

  it('checks iovaMap/resync from the webview like every message', () => {
    assert.deepEqual(parseFromWebviewMessage({ type: 'iovaMap/resync', have: 4 }), { ok: true, message: { type: 'iovaMap/resync', have: 4 } });
    assert.equal(parseFromWebviewMessage({ type: 'iovaMap/resync', have: null }).ok, true);
    for (const have of [undefined, -1, 2.5, '4', [], Infinity]) {
      assert.deepEqual(parseFromWebviewMessage({ type: 'iovaMap/resync', have }), { ok: false, error: 'iovaMap/resync: have must be null or a state number >= 0' }, String(have));
    }
    // The host never takes a delta from a webview.
    assert.equal(parseFromWebviewMessage({ type: 'iovaMap/delta', seq: 1, base: 0, state: {} }).ok, false);
  });
});
