// Kernel behaviours written as scenarios from the kernel source (each file's
// header cites the function and file): every one must run green.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runScenario } from '../../src/lang/run';

const DIR = path.join(__dirname, '../fixtures/kernel-rules');

describe('kernel rules (test/fixtures/kernel-rules)', () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.dmas')).sort();
  it('has its scenarios', () => assert.ok(files.length > 0, `no .dmas files in ${DIR}`));
  for (const f of files) {
    it(f, () => {
      const source = fs.readFileSync(path.join(DIR, f), 'utf8');
      assert.match(source, /Source: \S+\.[ch]\b/, 'the header cites the kernel source');
      const r = runScenario(source, f);
      const problems = [
        ...r.diagnostics.filter((d) => d.severity === 'error').map((d) => `line ${d.line}: ${d.message}`),
        ...r.expectations.filter((e) => !e.passed).map((e) => `line ${e.line}: ${e.message}`),
        ...r.checks.filter((c) => c.severity === 'error' && !c.expected).map((c) => `line ${c.line}: ${c.message}`),
        ...r.faults.filter((x) => !x.expected).map((x) => `line ${x.line}: fault ${x.reason}`),
      ];
      assert.deepEqual(problems, []);
      assert.equal(r.ok, true);
    });
  }
});
