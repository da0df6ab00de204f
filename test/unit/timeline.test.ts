// Reaching any event of a run by restoring a snapshot and replaying gives
// exactly the state a run stopped at that point has: same trace, same
// variables, same machine.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Interpreter } from '../../src/lang/interp/interpreter';
import { parse } from '../../src/lang/parser';
import { ScenarioTimeline } from '../../src/lang/timeline';
import { renderValue } from '../../src/lang/interp/values';
import { SCENARIOS_DIR } from './fixtures';

const SHARED = SCENARIOS_DIR;

/** A fresh run paused at the first boundary after event k. */
function runTo(source: string, k: number): Interpreter {
  const it = new Interpreter(source, { atBoundary: (x) => (x.machine?.trace.events.length ?? 0) > k });
  it.run(parse(source).program);
  return it;
}

function view(it: Interpreter): Record<string, unknown> {
  const m = it.machine;
  assert.ok(m);
  return {
    events: m.trace.events.map((e) => [e.seq, e.line, e.name, e.depth, JSON.stringify(e.fields, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))]),
    checks: m.trace.checks.map((c) => c.message),
    faults: m.trace.faults.map((f) => f.reason),
    vars: [...it.vars].map(([k, v]) => [k, renderValue(v)]),
    expectations: it.expectations.map((e) => [e.line, e.passed]),
    position: it.position.map((f) => [f.index, f.iter]),
  };
}

describe('timeline: restore and replay', () => {
  for (const name of ['08-swiotlb.dmas', '04-nested-walks.dmas', '02-dma-iova-link.dmas']) {
    it(`${name}: every probed event gives the same state as a fresh run stopped there`, () => {
      const source = fs.readFileSync(path.join(SHARED, name), 'utf8');
      const tl = new ScenarioTimeline(source, 32);
      assert.ok(tl.snapshots.length >= 2, `only ${tl.snapshots.length} snapshots`);
      const n = tl.eventCount;
      const probes = [0, 1, 17, Math.floor(n / 3), Math.floor(n / 2), n - 2].filter((k) => k >= 0 && k < n);
      for (const k of probes) {
        const replayed = tl.atEvent(k);
        const fresh = runTo(source, k);
        assert.ok((replayed.machine?.trace.events.length ?? 0) > k);
        assert.deepEqual(view(replayed), view(fresh), `event ${k}`);
        // The whole machine, memory and allocators included, matches too.
        const a = replayed.machine;
        const b = fresh.machine;
        assert.ok(a && b);
        assert.deepEqual(a.mem.read(0x8000_0000n, 0), b.mem.read(0x8000_0000n, 0));
        assert.deepStrictEqual(a.mappings.live, b.mappings.live, `mappings at event ${k}`);
        assert.deepStrictEqual(a.debug.pendingEntries(), b.debug.pendingEntries(), `dma-debug at event ${k}`);
      }
    });
  }

  it('a replay continued to the end finishes like the original run', () => {
    const source = fs.readFileSync(path.join(SHARED, '08-swiotlb.dmas'), 'utf8');
    const tl = new ScenarioTimeline(source, 64);
    const mid = tl.atEvent(Math.floor(tl.eventCount / 2));
    mid.run(tl.program, mid.position.map((f) => ({ ...f })));
    assert.deepEqual(view(mid).events, view(tl.final).events);
    assert.deepEqual(mid.expectations, tl.final.expectations);
    assert.ok(mid.expectations.every((e) => e.passed));
  });
});
