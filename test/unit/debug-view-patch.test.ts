// What changed between two machine views (view-patch.ts) and the inspect
// streams built on it (inspect-streams.ts): a debug step at 100,000 mappings
// sends the rows that changed, and the client rebuilds exactly the view the
// session holds.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { manyMappingsMachine } from '../../src/bench/panel-bench';
import { handleInspectRequest } from '../../src/debug/inspect-request';
import { InspectViewCache, InspectViewStreams } from '../../src/debug/inspect-streams';
import { DebugRuntime } from '../../src/debug/runtime';
import { applyViewPatch, diffView, jsonEqual, type Json, type ViewPatch } from '../../src/debug/view-patch';
import type { MachineView } from '../../src/engine/inspect/types';
import type { InspectResponse } from '../../src/protocol';
import { REPO_ROOT } from './fixtures';

const json = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>;
const row = fc.record({ iova: fc.integer({ min: 0, max: 40 }).map((n) => `0x${(n * 0x1000).toString(16)}`), prot: fc.constantFrom('r', 'w', 'rw'), line: fc.nat(9) });
const POSITION = { event: 3, total: 10, line: 7, backwards: false, statements: [] };

describe('view patches', () => {
  it('turn any JSON value into any other, without changing the first', () => {
    fc.assert(fc.property(json, json, (a, b) => {
      const before = JSON.stringify(a);
      const p = diffView(a, b);
      assert.ok(jsonEqual(applyViewPatch(a, p), b));
      assert.equal(JSON.stringify(a), before);
      assert.equal(p === undefined, jsonEqual(a, b));
    }), { numRuns: 500 });
  });

  it('carry rows put in and dropped as splices, sharing the rows that stayed', () => {
    fc.assert(fc.property(fc.array(row, { maxLength: 60 }), fc.array(fc.tuple(fc.nat(80), fc.nat(3), fc.array(row, { maxLength: 3 })), { maxLength: 5 }), (a, edits) => {
      const b = a.slice();
      for (const [at, drop, put] of edits) b.splice(at % (b.length + 1), drop, ...put);
      const p = diffView({ rows: a }, { rows: b });
      const got = applyViewPatch({ rows: a }, p) as { rows: Json[] };
      assert.ok(jsonEqual(got.rows, b));
      // Rows equal to the old ones are the old objects (nothing copied).
      for (const r of got.rows) if (!b.includes(r as (typeof b)[number])) assert.ok(a.includes(r as (typeof a)[number]));
    }), { numRuns: 300 });
  });

  it('send one mapping dropped and one put in among 100,000 as a few hundred bytes, not the whole view', () => {
    const a = manyMappingsMachine(100_000);
    const b: MachineView = JSON.parse(JSON.stringify(a)) as MachineView;
    const gone = b.domains[0].mappings.splice(500, 1)[0];
    b.domains[0].mappings.splice(70_000, 0, { iova: '0xabc000', phys: '0x5000', size: '0x1000', prot: 'rw', line: 12 });
    b.buffers[7].owner = 'cpu';
    const p = diffView(a as unknown as Json, b as unknown as Json);
    const text = JSON.stringify(p);
    assert.ok(text.length < 1000, `${text.length} bytes`);
    assert.ok(text.includes('"0xabc000"') && !text.includes(`"${gone.iova}"`));
    assert.deepEqual(p && 'keys' in p ? Object.keys(p.keys).sort() : [], ['buffers', 'domains']);
    assert.ok(jsonEqual(applyViewPatch(a as unknown as Json, p), b as unknown as Json));
  });

  it('carry one name added to a long list of names (a buffer mapped by thousands of handles) as a splice', () => {
    const names = Array.from({ length: 5000 }, (_, i) => `nvme0:0x${(0xfff00000 - i * 0x1000).toString(16)}`);
    const a = { buffers: [{ label: 'b', ownedBy: names }] };
    const b = { buffers: [{ label: 'b', ownedBy: [...names, 'nvme0:0x1000'] }] };
    const p = diffView(a, b);
    assert.deepEqual(p, { keys: { buffers: { items: { 0: { keys: { ownedBy: { rows: [[5000, 0, ['nvme0:0x1000']]] } } } } } } });
    assert.ok(jsonEqual(applyViewPatch(a, p), b));
  });

  it('refuse a patch that does not fit the value with an error, for any patch and value', () => {
    const patch: fc.Arbitrary<ViewPatch> = fc.letrec((tie) => ({
      p: fc.oneof(
        { depthSize: 'small' },
        fc.record({ set: json }),
        fc.record({ keys: fc.dictionary(fc.string({ maxLength: 3 }), tie('p') as fc.Arbitrary<ViewPatch>, { maxKeys: 3 }) }),
        fc.record({ items: fc.dictionary(fc.constantFrom('0', '1', '7', '-1', 'x'), tie('p') as fc.Arbitrary<ViewPatch>, { maxKeys: 2 }) }),
        fc.record({ rows: fc.array(fc.tuple(fc.integer({ min: -2, max: 9 }), fc.integer({ min: -1, max: 4 }), fc.array(json, { maxLength: 2 })), { maxLength: 3 }) }),
      ),
    })).p;
    fc.assert(fc.property(json, fc.oneof(patch, fc.anything() as fc.Arbitrary<ViewPatch>), (a, p) => {
      try {
        applyViewPatch(a, p);
      } catch (e) {
        assert.ok(e instanceof Error && !(e instanceof TypeError) && /patch|splice|is not in|does not fit/.test(e.message), String(e));
      }
    }), { numRuns: 1000 });
  });
});

describe('dmascope/inspect streams', () => {
  const answer = (machine: MachineView, previous: MachineView | null = null): InspectResponse & { position: typeof POSITION } => ({ event: 3, machine, previous, position: POSITION });

  it('answer a stream\'s next request with a patch from the view its client holds, and the view before the event as a patch from this one', () => {
    const streams = new InspectViewStreams();
    const cache = new InspectViewCache();
    const a = manyMappingsMachine(1000);
    const b: MachineView = JSON.parse(JSON.stringify(a)) as MachineView;
    b.domains[0].mappings.pop();
    const args1 = cache.args('s1/iova-map', 'iova-map', { withPrevious: true });
    assert.deepEqual({ ...args1 }, { withPrevious: true, stream: 'iova-map' });
    const first = { ...streams.encode(answer(a, b), args1.stream, args1.have), position: POSITION };
    assert.ok(first.machine !== null && first.machinePatch === undefined, 'the first answer is whole');
    assert.equal(first.previous, null);
    assert.ok(first.previousPatch && JSON.stringify(first.previousPatch).length < 200);
    const got1 = cache.decode('s1/iova-map', first);
    assert.ok(jsonEqual(got1.previous as unknown as Json, b as unknown as Json));

    const args2 = cache.args('s1/iova-map', 'iova-map', { withPrevious: true });
    assert.equal(args2.have, first.viewId);
    const second = { ...streams.encode(answer(b, a), args2.stream, args2.have), position: POSITION };
    assert.equal(second.machine, null);
    assert.equal(second.machinePatch?.base, first.viewId);
    assert.ok(JSON.stringify(second).length < 1000, `${JSON.stringify(second).length} bytes`);
    const got2 = cache.decode('s1/iova-map', second);
    assert.ok(jsonEqual(got2.machine as unknown as Json, b as unknown as Json));
    assert.ok(jsonEqual(got2.previous as unknown as Json, a as unknown as Json));

    // A view the session no longer holds (another client took the stream meanwhile): the whole view again.
    streams.encode(answer(a), 'iova-map', undefined);
    const third = streams.encode(answer(a), 'iova-map', second.viewId);
    assert.ok(third.machine !== null);
    // A patch from a view the client does not hold is refused, not applied to the wrong one.
    assert.throws(() => new InspectViewCache().decode('s1/iova-map', second), /patches view \d+, the client holds none/);
  });

  it('sends the same view as a null patch, and refuses a malformed stream name', () => {
    const rt = new DebugRuntime(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'debug', 'map-fault.dmas'), 'utf8'));
    rt.start(true);
    const streams = new InspectViewStreams();
    const m = rt.machine()!;
    const first = handleInspectRequest(m, { stream: 'iova-map' }, rt.position, null, streams);
    const again = handleInspectRequest(m, { stream: 'iova-map', have: first.viewId }, rt.position, null, streams);
    assert.deepEqual(again.machinePatch, { base: first.viewId, patch: null });
    assert.throws(() => handleInspectRequest(m, { stream: '../x' }, rt.position, null, streams), /stream must be a name/);
    assert.throws(() => handleInspectRequest(m, { stream: 'a', have: 0 }, rt.position, null, streams), /have must be a viewId/);
  });
});
