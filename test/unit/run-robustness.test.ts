// Bad input ends in diagnostics, never in a throw or a hang: binary and huge
// files, deep nesting, absurd numbers, and scenarios mutated at random all
// run through the whole pipeline (parse, check, interpret, engine).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { runScenario } from '../../src/lang/run';
import type { RunResult } from '../../src/lang/run-result';
import { SCENARIOS_DIR } from './fixtures';

const SHARED = SCENARIOS_DIR;
const EXAMPLES = path.resolve(__dirname, '../../examples');

function sources(): string[] {
  const dirs = [SHARED, EXAMPLES];
  return dirs.flatMap((d) => fs.readdirSync(d).filter((f) => f.endsWith('.dmas')).map((f) => fs.readFileSync(path.join(d, f), 'utf8')));
}

const HEAD = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48 }
device nvme0 : pci "0000:01:00.0" { iommu = smmu0; dma_mask = 64; default_domain = dma }
b = alloc_pages(0)
`;

function run(src: string): RunResult {
  const r = runScenario(src, 'fuzz.dmas');
  assert.ok(Array.isArray(r.diagnostics));
  return r;
}

function errorsOf(r: RunResult): string[] {
  return r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);
}

describe('run: bad input ends in diagnostics', () => {
  it('binary garbage', () => {
    const bytes = Array.from({ length: 4096 }, (_, i) => String.fromCharCode((i * 7919) % 256)).join('');
    const r = run(bytes);
    assert.equal(r.ok, false);
    assert.ok(errorsOf(r).length > 0);
  });

  it('a 10 MB file', () => {
    const r = run('x = 1\n'.repeat(10 * 1024 * 1024 / 6));
    assert.equal(r.ok, false);
    assert.ok(errorsOf(r).some((m) => /MB|too large/i.test(m)), errorsOf(r).join('\n'));
  });

  it('10,000 nested parentheses', () => {
    const r = run(`x = ${'('.repeat(10_000)}1${')'.repeat(10_000)}\n`);
    assert.equal(r.ok, false);
    assert.ok(errorsOf(r).length > 0);
  });

  it('absurd sizes and counts become runtime diagnostics on their lines', () => {
    const cases: [string, RegExp][] = [
      ['h = dma_map_page(nvme0, b, 0, 0x8000_0000_0000_0000, DMA_TO_DEVICE)', /out of range|size/],
      ['x = alloc_pages(60)', /order|range/],
      ['p = phys_buffer(0x10, 0x1000)', /RAM|range/],
      ['y = cpu_read(b, 0, 0xffff_ffff_ffff)', /out of range|len/],
      ['for i in 0 .. 0xffff_ffff_ffff { z = 1 }', /times|range|loop/],
      ['q = 1 / 0', /division/],
    ];
    for (const [stmt, want] of cases) {
      const r = run(`${HEAD}${stmt}\n`);
      const errs = errorsOf(r);
      assert.ok(errs.some((m) => m.startsWith('5:') && want.test(m)), `${stmt}\n${errs.join('\n')}`);
    }
  });

  it('one bad statement does not stop the run: the next line still runs', () => {
    const r = run(`${HEAD}z = 0\nq = 1 / z\nexpect b.size == 4K\n`);
    assert.ok(errorsOf(r).some((m) => m.startsWith('6:') && /division/.test(m)), errorsOf(r).join('\n'));
    assert.equal(r.expectations.length, 1);
    assert.equal(r.expectations[0].passed, true);
  });

  it('mutated scenarios never throw and finish quickly', () => {
    const srcs = sources();
    assert.ok(srcs.length >= 5);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: srcs.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.string({ maxLength: 8 })), { maxLength: 6 }), (i, edits) => {
        let s = srcs[i];
        for (const [pos, kind, text] of edits) {
          const at = pos % (s.length + 1);
          if (kind === 0) s = s.slice(0, at) + text + s.slice(at);
          else if (kind === 1) s = s.slice(0, at) + s.slice(at + text.length + 1);
          else s = s.slice(0, at) + text + s.slice(at + text.length);
        }
        const start = Date.now();
        const r = runScenario(s, 'mutant.dmas', { budget: { timeSeconds: 3, memoryMb: 1024 } });
        assert.ok(Date.now() - start < 5000, 'a mutant ran for more than 5 s');
        assert.ok(!r.diagnostics.some((d) => d.code === 'internal-error'), r.diagnostics.map((d) => d.message).join('\n'));
      }),
      { numRuns: 150, seed: 20261121 },
    );
  }).timeout(60_000);
});
