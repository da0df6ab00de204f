// The checker's signature table (src/lang/builtins.ts) and the interpreter's
// bindings (src/lang/interp/builtins*.ts) must accept the same calls: a call
// the editor passes must not fail at run time for its argument count.

import { strict as assert } from 'node:assert';
import { BUILTINS as SIGNATURES } from '../../src/lang/builtins';
import { BUILTINS as BINDINGS } from '../../src/lang/interp/builtins';

describe('builtin tables agree', () => {
  it('every builtin has a signature and a binding', () => {
    assert.deepEqual([...SIGNATURES.keys()].sort(), Object.keys(BINDINGS).sort());
  });

  for (const [name, spec] of SIGNATURES) {
    it(`${name}: the argument counts and names the checker accepts, the interpreter runs`, () => {
      const b = BINDINGS[name];
      const positional = spec.params.filter((p) => !p.namedOnly);
      const variadic = positional.some((p) => p.variadic);
      const min = positional.filter((p) => !p.optional).length;
      assert.equal(b.min, min, 'fewest positional arguments');
      // A variadic list is capped at run time (sg_table: 1024 entries), which the checker does not count.
      if (variadic) assert.ok(b.max >= Math.max(min, 1) && b.max >= 64, `at least 64 variadic arguments (binding allows ${b.max})`);
      else assert.equal(b.max, positional.length, 'most positional arguments');
      for (const p of spec.params.filter((q) => q.namedOnly)) assert.ok(b.named?.includes(p.name), `named-only ${p.name} is bound`);
      for (const n of b.named ?? []) assert.ok(spec.params.some((p) => p.name === n && (p.namedOnly || p.optional)), `the binding's name ${n} is an optional or named-only parameter of the signature`);
    });
  }
});
