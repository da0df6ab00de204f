// The DMA sanitizer (src/engine/sanitizer.ts): each rule has a scenario in
// test/fixtures/sanitizer that passes with the rule (its findings are
// expected there) and fails with the rule switched off by its platform key.

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { runScenario } from '../../src/lang/run';
import { REPO_ROOT, dmasFiles } from './fixtures';

const RULES: Record<string, { key: string; id: string; count: number }> = {
  'cpu-out-of-bounds.dmas': { key: 'sanitize_cpu_bounds', id: 'dmascope-cpu-out-of-bounds', count: 4 },
  'dma-beyond-mapping.dmas': { key: 'sanitize_dma_bounds', id: 'dmascope-dma-beyond-mapping', count: 2 },
  'dma-direct-unmapped.dmas': { key: 'sanitize_dma_direct', id: 'dmascope-dma-unmapped', count: 2 },
  'stale-iotlb.dmas': { key: 'sanitize_stale_iotlb', id: 'dmascope-use-after-unmap', count: 1 },
};

/** The scenario with the rule's platform key set to false. */
function switchedOff(source: string, key: string): string {
  return source.replace(/^platform \{ /m, `platform { ${key} = false; `);
}

describe('DMA sanitizer rules', () => {
  const files = dmasFiles(path.join(REPO_ROOT, 'test', 'fixtures', 'sanitizer'));

  it('has one scenario per rule', () => assert.deepEqual(files.map((f) => f.name), Object.keys(RULES).sort()));

  for (const f of files) {
    const rule = RULES[f.name];
    it(`${f.name}: finds what the rule is for, and nothing with ${rule.key} = false`, () => {
      const on = runScenario(f.source, f.name);
      assert.deepEqual(on.diagnostics.filter((d) => d.severity === 'error'), []);
      assert.equal(on.ok, true, JSON.stringify(on.expectations.filter((e) => !e.passed)));
      assert.equal(on.checks.filter((c) => c.id === rule.id).length, rule.count);
      const off = runScenario(switchedOff(f.source, rule.key), f.name);
      assert.equal(off.checks.filter((c) => c.id === rule.id).length, 0);
      assert.ok(off.expectations.some((e) => !e.passed), 'the expected findings are missing without the rule');
    });
  }

  it('leaves the other rules on when one is switched off', () => {
    const src = dmasFiles(path.join(REPO_ROOT, 'test', 'fixtures', 'sanitizer')).find((f) => f.name === 'cpu-out-of-bounds.dmas')?.source ?? '';
    const r = runScenario(switchedOff(src, 'sanitize_dma_bounds'), 'x.dmas');
    assert.equal(r.checks.filter((c) => c.id === 'dmascope-cpu-out-of-bounds').length, 4);
  });
});
