// Trace call sites (enterAt/pointAt/leaveAt) are a shortcut: a loop's next
// event is recognised by the site object and the values. Whatever sequence of
// calls, points and returns, repeated or not, with detailed on, off or turned
// over mid-call, they record exactly what the by-name path (enter/emit/leave
// with a fields object) records, and both match a plain model of the trace.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { TraceRecorder, traceReturnSite, traceSite, type FieldValue, type Fields, type TraceEvent, type TraceSite } from '../../src/engine/trace/recorder';

const CALL_A = traceSite('call', 'dma_map_phys', ['device', 'phys', 'size', 'dir']);
const CALL_B = traceSite('call', 'alloc_iova_fast', ['size', 'limit_pfn', 'flush_rcache']);
/** The same name as CALL_B under other keys: its records must never pass for CALL_B's. */
const CALL_B2 = traceSite('call', 'alloc_iova_fast', ['size', 'limit_pfn']);
const RET_B = traceReturnSite(CALL_B, ['src', 'ret']);
const RET_B2 = traceReturnSite(CALL_B2, ['src', 'ret']);
const POINT_A = traceSite('point', 'iommu:map', ['iova', 'paddr', 'size']);
const POINT_B = traceSite('point', 'iommu:map', ['iova', 'paddr', 'size', 'dir', 'x', 'y']);
const CALLS = [CALL_A, CALL_B, CALL_B2];
const POINTS = [POINT_A, POINT_B];
const RETURNS = [RET_B, RET_B2];

type Op =
  | { op: 'enter'; site: number; vals: FieldValue[] }
  | { op: 'point'; site: number; vals: FieldValue[] }
  | { op: 'leave'; ret?: FieldValue }
  | { op: 'leaveAt'; site: number; vals: FieldValue[] }
  | { op: 'line'; line: number }
  | { op: 'detailed'; on: boolean };

/** Few distinct values, so a repeated body mostly repeats records and sometimes does not. */
const valueArb: fc.Arbitrary<FieldValue> = fc.oneof(fc.constantFrom(0xfffff000n, 0x81001000n, 4096, 0, 'nvme0', 'TO_DEVICE', true, false), fc.bigInt({ min: 0n, max: 3n }), fc.integer({ min: 0, max: 2 }));
const valsArb = (n: number): fc.Arbitrary<FieldValue[]> => fc.array(valueArb, { minLength: n, maxLength: n });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.nat({ max: CALLS.length - 1 }).chain((site) => valsArb(CALLS[site].keys.length).map((vals) => ({ op: 'enter' as const, site, vals }))),
  fc.nat({ max: POINTS.length - 1 }).chain((site) => valsArb(POINTS[site].keys.length).map((vals) => ({ op: 'point' as const, site, vals }))),
  fc.record({ op: fc.constant('leave' as const), ret: fc.option(valueArb, { nil: undefined }) }),
  fc.nat({ max: RETURNS.length - 1 }).chain((site) => valsArb(2).map((vals) => ({ op: 'leaveAt' as const, site, vals }))),
  fc.record({ op: fc.constant('line' as const), line: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('detailed' as const), on: fc.boolean() }),
);
/** A loop: a body of steps repeated, as a scenario's for loop or the map/unmap bench does. */
const runArb: fc.Arbitrary<Op[]> = fc.tuple(fc.array(opArb, { maxLength: 40 }), fc.integer({ min: 1, max: 6 }), fc.array(opArb, { maxLength: 10 })).map(([body, n, tail]) => [...Array.from({ length: n }, () => body).flat(), ...tail]);

function fieldsOf(site: TraceSite, vals: readonly FieldValue[]): Fields {
  const f: Fields = {};
  site.keys.forEach((k, i) => (f[k] = vals[i]));
  return f;
}

/**
 * Records `ops` through the sites (bySite), or by name with fields objects;
 * leaves only what is open. `guarded`: through the sites as the hot map/unmap
 * sites call them, testing keeps()/leavesUnkept() inline and counting a call
 * not kept with enterUnkept()/leaveUnkept() (a point not kept: nothing).
 */
function record(ops: Op[], bySite: boolean, guarded = false): TraceRecorder {
  const t = new TraceRecorder();
  t.column = 2;
  let open = 0;
  for (const o of ops) {
    if (o.op === 'line') t.line = o.line;
    else if (o.op === 'detailed') t.detailed = o.on;
    else if (o.op === 'point') {
      const s = POINTS[o.site];
      if (guarded) {
        if (t.keeps()) t.pointAt(s, ...o.vals);
      } else if (bySite) t.pointAt(s, ...o.vals);
      else t.emit(s.name, fieldsOf(s, o.vals));
    } else if (o.op === 'enter') {
      const s = CALLS[o.site];
      if (guarded) {
        if (t.keeps()) t.enterAt(s, ...o.vals);
        else t.enterUnkept();
      } else if (bySite) t.enterAt(s, ...o.vals);
      else t.enter(s.name, fieldsOf(s, o.vals));
      open++;
    } else if (open > 0) {
      open--;
      if (guarded && t.leavesUnkept()) t.leaveUnkept();
      else if (o.op === 'leave') t.leave(o.ret);
      else if (bySite) t.leaveAt(RETURNS[o.site], ...o.vals);
      else t.leave(o.vals[1], { src: o.vals[0] });
    }
  }
  return t;
}

/** The trace as plain objects: kept when detailed or at depth 0, each call's match patched at its return. */
function model(ops: Op[]): TraceEvent[] {
  const out: TraceEvent[] = [];
  const open: number[] = [];
  let line = 0;
  let detailed = true;
  const push = (kind: TraceEvent['kind'], name: string, fields: Fields, match: number): number => {
    out.push({ seq: out.length, kind, name, fields, line, column: 2, depth: open.length, match });
    return out.length - 1;
  };
  for (const o of ops) {
    if (o.op === 'line') line = o.line;
    else if (o.op === 'detailed') detailed = o.on;
    else if (o.op === 'point') {
      if (detailed || open.length === 0) push('point', POINTS[o.site].name, fieldsOf(POINTS[o.site], o.vals), -1);
    } else if (o.op === 'enter') {
      const kept = detailed || open.length === 0;
      const seq = kept ? push('call', CALLS[o.site].name, fieldsOf(CALLS[o.site], o.vals), -1) : -1;
      open.push(seq);
    } else if (open.length > 0) {
      const c = open.pop()!;
      if (c < 0) continue;
      const fields: Fields = o.op === 'leave' ? (o.ret === undefined ? {} : { ret: o.ret }) : { src: o.vals[0], ret: o.vals[1] };
      out[c].match = out.length;
      push('return', out[c].name, fields, c);
    }
  }
  return out;
}

describe('trace sites', () => {
  it('record exactly what the by-name path records, for any loop of calls, points and returns, detailed or not (also guarded by keeps(), as the hot sites call them)', () => {
    fc.assert(
      fc.property(runArb, (ops) => {
        const want = model(ops);
        const bySite = record(ops, true);
        const byName = record(ops, false);
        const guarded = record(ops, true, true);
        assert.deepEqual(bySite.events, want);
        assert.deepEqual(byName.events, want);
        assert.deepEqual(guarded.events, want);
        // The same depth and open calls after the run: a guarded site counts what it does not record.
        assert.equal(guarded.depth, bySite.depth);
        // Field order too (what --json prints): keys in the site's order.
        for (let i = 0; i < want.length; i++) assert.deepEqual(Object.keys(bySite.fieldsAt(i)), Object.keys(want[i].fields));
      }),
      { numRuns: 400 },
    );
  });

  it('tell apart a repeat that differs only in one value, the line, the depth or the site', () => {
    const t = new TraceRecorder();
    for (let i = 0; i < 3; i++) {
      t.enterAt(CALL_B, 1, 0xfffffn, true);
      t.leaveAt(RET_B, 'rcache', 0xffffen);
    }
    t.enterAt(CALL_B, 1, 0xfffffn, false); // one value
    t.leaveAt(RET_B, 'rcache', 0xffffen);
    t.line = 7;
    t.enterAt(CALL_B, 1, 0xfffffn, true); // the line
    t.enterAt(CALL_B, 1, 0xfffffn, true); // the depth
    t.leaveAt(RET_B, 'rbtree', 0xffffdn);
    t.leaveAt(RET_B2, 'rcache', 0xffffen); // a return site of another call: recorded by the call's name all the same
    t.enterAt(CALL_B2, 1, 0xfffffn); // the same name, other keys
    t.leave();
    assert.deepEqual(
      t.eventsIn(6, t.length).map((e) => [e.kind, e.name, e.fields, e.line, e.depth, e.match]),
      [
        ['call', 'alloc_iova_fast', { size: 1, limit_pfn: 0xfffffn, flush_rcache: false }, 0, 0, 7],
        ['return', 'alloc_iova_fast', { src: 'rcache', ret: 0xffffen }, 0, 0, 6],
        ['call', 'alloc_iova_fast', { size: 1, limit_pfn: 0xfffffn, flush_rcache: true }, 7, 0, 11],
        ['call', 'alloc_iova_fast', { size: 1, limit_pfn: 0xfffffn, flush_rcache: true }, 7, 1, 10],
        ['return', 'alloc_iova_fast', { src: 'rbtree', ret: 0xffffdn }, 7, 1, 9],
        ['return', 'alloc_iova_fast', { src: 'rcache', ret: 0xffffen }, 7, 0, 8],
        ['call', 'alloc_iova_fast', { size: 1, limit_pfn: 0xfffffn }, 7, 0, 13],
        ['return', 'alloc_iova_fast', {}, 7, 0, 12],
      ],
    );
    // The three repeats share their records.
    assert.equal(t.eventAt(0).fields, t.eventAt(4).fields);
  });

  it('are one object per kind, name and field-name array, whichever module asks', () => {
    assert.equal(traceSite('call', 'dma_map_phys', CALL_A.keys), CALL_A);
    assert.notEqual(traceSite('point', 'dma_map_phys', CALL_A.keys), CALL_A);
    assert.equal(CALL_A.returnSite(true), CALL_A.returnSite(true));
    assert.deepEqual(CALL_A.returnSite(true).keys, ['ret']);
    assert.throws(() => traceReturnSite(POINT_A, ['ret']), /iommu:map is a point site, not a call/);
  });
});
