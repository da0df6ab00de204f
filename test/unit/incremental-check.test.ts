// The incremental front end gives exactly parseAndCheck's diagnostics after
// any edit, re-checking only the edited lines when the edit allows it.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parseAndCheck } from '../../src/lang/frontend';
import { IncrementalChecker } from '../../src/lang/incremental';

const HEADER = [
  'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }',
  'iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }',
  'device nvme0 : pci "0000:01:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }',
];

function scenario(n: number): string[] {
  const lines = [...HEADER];
  for (let i = 0; i < n; i++) {
    lines.push(`b${i} = alloc_pages(0)`);
    lines.push(`cpu_write(b${i}, 0, "data ${i}")`);
    lines.push(`h${i} = dma_map_page(nvme0, b${i}, 0, 4K, DMA_TO_DEVICE)`);
    lines.push(`expect dev_read(nvme0, h${i}, 4) == "data"   # the device sees the buffer`);
    lines.push(`dma_unmap_page(nvme0, h${i}, 4K, DMA_TO_DEVICE)`);
  }
  lines.push('for i in 0 .. 4 {', '  x = alloc_pages(0)', '  cpu_write(x, 0, "y")', '}');
  return lines;
}

/** Lines an edit may put in: right, wrong, undefined names, new definitions, unclosed blocks, continuations, blanks. */
const REPLACEMENTS = [
  'cpu_write(b1, 3, "edited")',
  'cpu_write(b1, 3, "edited"',
  'cpu_write(nope, 0, "x")',
  'h1 = dma_map_page(nvme0, b1, 0, 8K, DMA_FROM_DEVICE)',
  'zz = alloc_pages(1)',
  'b2 = 5',
  'for j in 0 .. 2 {',
  '}',
  'x = 1 + \\',
  '',
  '# a comment',
  'expect h0 == 0xfffff000',
  'dma_unmap_page(nvme0, h3, 4K, DMA_TO_DEVICE)',
  'print b9.size',
  'iommu smmu1 : arm-smmu-v3 { granule = 4K }',
  'h4 = 3; h5 = 4',
];

describe('incremental parse and check', () => {
  it('gives parseAndCheck\'s diagnostics after any sequence of line edits, typing and line insertions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: REPLACEMENTS.length - 1 }), fc.nat({ max: 3 }), fc.nat({ max: 40 })), { minLength: 1, maxLength: 12 }),
        (edits) => {
          const lines = scenario(12);
          const inc = new IncrementalChecker();
          inc.update(lines.join('\n'));
          for (const [at, pick, kind, col] of edits) {
            const i = at % lines.length;
            if (kind === 0) lines[i] = REPLACEMENTS[pick];
            else if (kind === 1) lines[i] = lines[i].slice(0, col) + 'x' + lines[i].slice(col); // a keystroke
            else if (kind === 2) lines[i] = lines[i].slice(0, col) + lines[i].slice(col + 1); // a backspace
            else lines.splice(i, 0, REPLACEMENTS[pick]); // a new line
            const text = lines.join('\n');
            assert.deepEqual(inc.update(text).diagnostics, parseAndCheck(text).diagnostics, text);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('re-checks one edited line of a long scenario alone, and the whole file when lines are added', () => {
    const lines = scenario(400);
    const inc = new IncrementalChecker();
    assert.equal(inc.update(lines.join('\n')).incremental, false);
    lines[1004] = 'cpu_write(b200, 7, "edited")';
    const r = inc.update(lines.join('\n'));
    assert.equal(r.incremental, true);
    assert.deepEqual(r.diagnostics, []);
    lines[1004] = 'cpu_write(b2000, 7, "edited")';
    const bad = inc.update(lines.join('\n'));
    assert.equal(bad.incremental, true);
    assert.deepEqual(bad.diagnostics.map((d) => [d.line, d.code]), parseAndCheck(lines.join('\n')).diagnostics.map((d) => [d.line, d.code]));
    assert.equal(bad.diagnostics.length, 1);
    assert.equal(bad.diagnostics[0].line, 1005);
    // The same name assigned a value of another kind: later uses of it check differently, and do.
    const b5 = lines.indexOf('b5 = alloc_pages(0)');
    lines[b5] = 'b5 = 5';
    const kind = inc.update(lines.join('\n'));
    assert.deepEqual(kind.diagnostics, parseAndCheck(lines.join('\n')).diagnostics);
    assert.ok(kind.diagnostics.some((d) => d.line > b5 + 1), JSON.stringify(kind.diagnostics));
    lines.splice(10, 0, 'q = 1');
    assert.equal(inc.update(lines.join('\n')).incremental, false);
  });
});
