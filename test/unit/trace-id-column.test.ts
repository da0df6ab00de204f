// The trace's id column (id-column.ts): whatever is pushed, changed, held,
// truncated and copied reads back as a plain array would, copies stay
// independent of each other, and a repeating run of ids costs a few bytes per
// hundred ids.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { IdColumn } from '../../src/engine/trace/id-column';

type Op =
  | { op: 'push'; id: number; n: number }
  | { op: 'set'; at: number; id: number }
  | { op: 'hold'; at: number | null }
  | { op: 'truncate'; at: number }
  | { op: 'copy' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('push' as const), id: fc.integer({ min: 0, max: 7 }), n: fc.integer({ min: 1, max: 90 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), id: fc.integer({ min: 0, max: 0xffff_ffff }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('hold' as const), at: fc.option(fc.nat(), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('copy' as const) }) },
);

function readAll(c: IdColumn): number[] {
  const out: number[] = [];
  for (let i = 0; i < c.length; i++) out.push(c.get(i));
  return out;
}

describe('trace id column', () => {
  it('reads back as a plain array through pushes, changes, holds, truncations and copies, every copy independent', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        // Several live columns with their models: a copy goes on beside the original.
        const cols: { c: IdColumn; m: number[] }[] = [{ c: new IdColumn(), m: [] }];
        let k = 0;
        for (const o of ops) {
          const cur = cols[k % cols.length];
          k++;
          if (o.op === 'push') {
            // A repeating pattern (a loop) with the drawn id mixed in.
            for (let j = 0; j < o.n; j++) {
              const id = j % 3 === 0 ? o.id : j % 5;
              cur.c.push(id);
              cur.m.push(id);
            }
          } else if (o.op === 'set') {
            if (cur.m.length === 0) continue;
            const at = o.at % cur.m.length;
            cur.c.set(at, o.id);
            cur.m[at] = o.id;
          } else if (o.op === 'hold') {
            cur.c.hold = o.at === null ? Infinity : o.at % (cur.m.length + 1);
          } else if (o.op === 'truncate') {
            const at = o.at % (cur.m.length + 1);
            cur.c.truncate(at);
            cur.m.length = at;
          } else cols.push({ c: cur.c.copy(), m: cur.m.slice() });
          for (const { c, m } of cols) {
            assert.equal(c.length, m.length);
            assert.deepEqual(readAll(c), m);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a million ids of a 24-id loop in under 100 KB, and reads every one back', () => {
    const c = new IdColumn();
    const pattern = Array.from({ length: 24 }, (_, i) => 1000 + i * 7);
    for (let i = 0; i < 1_000_000; i++) c.push(pattern[i % 24]);
    assert.ok(c.byteLength < 100_000, `${c.byteLength} bytes`);
    for (let i = 0; i < 1_000_000; i += 997) assert.equal(c.get(i), pattern[i % 24]);
    assert.equal(c.get(999_999), pattern[999_999 % 24]);
  });

  it('changes an id in a block already sealed without changing the copy that shares it', () => {
    const c = new IdColumn();
    for (let i = 0; i < 200; i++) c.push(i % 4);
    const d = c.copy();
    c.set(5, 99);
    assert.equal(c.get(5), 99);
    assert.equal(d.get(5), 1);
    d.set(130, 42);
    assert.equal(d.get(130), 42);
    assert.equal(c.get(130), 2);
  });
});
