// A string literal stands for its bytes (docs/language.md): UTF-8 for written
// characters, the raw byte for a `\x` or octal escape, so "\xff" is one byte.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { parse } from '../../src/lang/parser';
import type { StringLit } from '../../src/lang/ast';

const HEADER = 'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }\nb = alloc_pages(0)\n';

describe('string literal bytes', () => {
  it('cpu_write of "\\xff\\x01A\\303" writes ff 01 41 c3, not the UTF-8 of U+00FF', () => {
    const r = runScenario(`${HEADER}cpu_write(b, 0, "\\xff\\x01A\\303")\nexpect cpu_read(b, 0, 4) == hex"ff 01 41 c3"\nexpect cpu_read(b, 0, 5) == hex"ff 01 41 c3 00"\n`, 's.dmas');
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    assert.deepEqual(r.expectations.map((e) => e.passed), [true, true]);
  });

  it('written characters stay UTF-8, and escapes below 0x80 keep the literal a string', () => {
    const r = runScenario(`${HEADER}cpu_write(b, 0, "é\\x41\\n")\nexpect cpu_read(b, 0, 4) == hex"c3 a9 41 0a"\nexpect "\\x41" == "A"\n`, 's.dmas');
    assert.deepEqual(r.expectations.map((e) => e.passed), [true, true]);
  });

  it('the parse marks only literals with a raw byte of 0x80 or more', () => {
    const lits = (src: string): StringLit[] => {
      const out: StringLit[] = [];
      JSON.stringify(parse(src).program, (_k, v: unknown) => {
        if (v && typeof v === 'object' && (v as { kind?: string }).kind === 'string') out.push(v as StringLit);
        return v;
      });
      return out;
    };
    const [raw, ascii, utf8, octal] = lits('x = ["\\x80", "\\x7f", "ü", "\\377"]\n');
    assert.equal(raw?.raw, true);
    assert.deepEqual([...(raw?.bytes ?? [])], [0x80]);
    assert.equal(ascii?.raw, undefined);
    assert.equal(utf8?.raw, undefined);
    assert.equal(octal?.raw, true);
  });
});
