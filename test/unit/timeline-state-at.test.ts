// ScenarioTimeline.stateAt(k): the machine exactly as it was right after
// event k, inside an emulated kernel call too, reached by snapshot + replay.
// And the trace record the debugger stands on: call/return pairs with their
// match indexes, return values, statement events with line and column.

import { strict as assert } from 'node:assert';
import { ScenarioTimeline } from '../../src/lang/timeline';
import { renderValue } from '../../src/lang/interp/values';
import type { Interpreter } from '../../src/lang/interp/interpreter';
import type { TraceEvent } from '../../src/engine/trace/recorder';
import { readCpuBytes } from '../../src/engine/inspect';

const SOURCE = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }
device eth0 : pci "0000:02:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }
tx = alloc_pages(0)
cpu_write(tx, 0, "ping")
for i in 0..3 {
  t = dma_map_page(eth0, tx, 0, 4K, DMA_TO_DEVICE)
  dma_unmap_page(eth0, t, 4K, DMA_TO_DEVICE)
}
  r = dma_map_page(eth0, tx, 0, 4K, DMA_TO_DEVICE)
expect dev_read(eth0, r, 4) == "ping"
dma_unmap_page(eth0, r, 4K, DMA_TO_DEVICE)
`;

function fingerprint(it: Interpreter): string {
  const m = it.machine;
  assert.ok(m);
  return JSON.stringify({
    events: m.trace.events.map((e) => [e.seq, e.kind, e.name, e.line, e.column, e.depth]),
    vars: [...it.vars].map(([k, v]) => [k, renderValue(v)]),
    live: [...m.mappings.live.values()].map((r) => [r.dma.toString(16), r.size.toString(16)]),
    pending: m.debug.pendingEntries().length,
  });
}

describe('timeline: stateAt(k), inside kernel calls', () => {
  const tl = new ScenarioTimeline(SOURCE, 16);
  const events = tl.trace.events;

  it('records kernel calls as call/return pairs whose match indexes point at each other, with the return value', () => {
    const calls = events.filter((e) => e.kind === 'call');
    assert.ok(calls.length > 10);
    for (const c of calls) {
      const r = events[c.match];
      assert.equal(r.kind, 'return', `${c.name} at ${c.seq}`);
      assert.equal(r.name, c.name);
      assert.equal(r.match, c.seq);
      assert.equal(r.depth, c.depth);
    }
    const mapCall = calls.find((c) => c.name === 'dma_map_phys');
    assert.ok(mapCall);
    // The first 4K map of a 64-bit PCI device: a 32-bit IOVA, top-down.
    assert.equal(events[mapCall.match].fields.ret, 0xfffff000n);
  });

  it('starts each statement with an engine:statement event carrying its line and column', () => {
    const stmts = events.filter((e) => e.name === 'engine:statement');
    const last = stmts.find((e) => e.line === 10);
    assert.ok(last, 'the indented map on line 10');
    assert.equal(last.column, 3);
    assert.deepEqual([...new Set(stmts.map((e) => e.line))], [2, 3, 4, 5, 6, 7, 8, 10, 11, 12]);
  });

  it('stops inside dma_map_phys, after the IOVA is allocated and before the mapping is recorded', () => {
    const mapCall = events.find((e) => e.kind === 'call' && e.name === 'dma_map_phys') as TraceEvent;
    const alloc = events.find((e) => e.seq > mapCall.seq && e.seq < mapCall.match && /alloc_iova/.test(e.name));
    assert.ok(alloc, 'an IOVA allocation inside dma_map_phys');
    const inside = tl.stateAt(alloc.seq);
    const m = inside.machine;
    assert.ok(m);
    assert.equal(m.trace.events.length, alloc.seq + 1);
    assert.equal(m.mappings.live.size, 0, 'no mapping recorded yet');
    assert.equal(inside.vars.has('t'), false, 't is assigned when the statement ends');
    const after = tl.stateAt(mapCall.match);
    assert.equal(after.machine?.mappings.live.size, 1);
  });

  it('gives identical state for the same event, whichever way it is reached, and the trace prefix of the run', () => {
    const n = tl.eventCount;
    for (const k of [0, 1, 5, Math.floor(n / 3), Math.floor(n / 2), n - 2, n - 1]) {
      const a = tl.stateAt(k);
      const b = tl.stateAt(k);
      tl.stateAt(n - 1); // moving elsewhere in between changes nothing
      assert.equal(fingerprint(a), fingerprint(b), `event ${k}`);
      assert.deepEqual(a.machine?.trace.events.map((e) => e.name), events.slice(0, k + 1).map((e) => e.name));
    }
  });

  it('at the last event equals the finished run, and before any event has no events', () => {
    const end = tl.stateAt(tl.eventCount - 1);
    assert.equal(fingerprint(end), fingerprint(tl.final));
    const start = tl.stateAt(-1);
    assert.equal(start.machine?.trace.events.length ?? 0, 0);
  });

  it('builds the same run result as runScenario', () => {
    assert.equal(tl.result.ok, true);
    assert.equal(tl.result.expectations.length, 1);
    assert.equal(tl.result.events.length, tl.eventCount);
  });
});

describe('timeline: injected memory writes (the debugger\'s writeMemory)', () => {
  it('does the write at the same point in the run and in every replay', () => {
    const base = new ScenarioTimeline(SOURCE, 16);
    const stmt = base.trace.events.find((e) => e.name === 'engine:statement' && e.line === 11) as TraceEvent;
    const tx = base.final.vars.get('tx') as { buf: { phys: bigint } };
    const tl = new ScenarioTimeline(SOURCE, 16, { injections: [{ afterEvent: stmt.seq - 1, phys: tx.buf.phys, bytes: new TextEncoder().encode('pong') }] });
    assert.equal(tl.result.expectations[0].passed, false, 'the device now reads "pong", not "ping"');
    assert.match(tl.result.expectations[0].message, /pong/);
    const injected = tl.trace.events.findIndex((e) => e.name === 'engine:cpu_write' && e.line === 11);
    assert.ok(injected > 0);
    // The write lands after its event (and the check it draws: the buffer is mapped for the device); the statement sees it.
    const next = tl.trace.events.findIndex((e, i) => i > injected && e.name === 'engine:statement');
    for (const [k, want] of [[injected - 1, 'ping'], [injected, 'ping'], [next, 'pong'], [tl.eventCount - 1, 'pong']] as const) {
      const m = tl.stateAt(k).machine;
      assert.ok(m);
      assert.equal(Buffer.from(readCpuBytes(m, tx.buf.phys, 4) ?? []).toString(), want, `event ${k}`); // the CPU's view: the write sits in its cache
    }
  });
});
