// The scenario snippets (snippets/dmas.json): each one, with every
// placeholder at its default, parses and checks clean and runs green.

import * as assert from 'node:assert/strict';
import { checkScenario, runScenario } from '../../src/lang/run';
import { formatRunReport } from '../../src/report/format-report';
import { expandSnippet, SCENARIO_TEMPLATES } from '../../src/extension/snippet-text';

describe('ext: snippet text', () => {
  it('keeps placeholder defaults and mirrors them', () => {
    assert.equal(expandSnippet('device ${1:nvme0} x $1 ${1} $0'), 'device nvme0 x nvme0 nvme0 ');
    assert.equal(expandSnippet('$2 then ${2:later}'), 'later then later');
    assert.equal(expandSnippet('${1|a,b|} $1'), 'a a');
    assert.equal(expandSnippet('${1:outer ${2:inner}} $2'), 'outer inner inner');
    assert.equal(expandSnippet('cost \\$5 \\} ${TM_FILENAME} ${TM_X:dflt}'), 'cost $5 }  dflt');
    assert.equal(expandSnippet('{ iommu = $1 } ${1:s}'), '{ iommu = s } s');
  });
});

describe('ext: scenario snippets', () => {
  it('has the new-scenario template first and one per topic', () => {
    assert.equal(SCENARIO_TEMPLATES[0]?.prefix, 'scenario');
    const prefixes = SCENARIO_TEMPLATES.map((t) => t.prefix);
    for (const topic of ['streaming-map', 'two-step-iova', 'pasid', 'nested', 'vduse', 'swiotlb']) {
      assert.ok(prefixes.includes(`scenario-${topic}`), topic);
    }
    assert.equal(new Set(prefixes).size, prefixes.length, 'prefixes are unique');
  });

  for (const t of SCENARIO_TEMPLATES) {
    it(`${t.label}: checks clean and runs green with its defaults`, () => {
      assert.ok(t.description.length > 10);
      assert.ok(t.body.includes('${1:'), 'has a first placeholder');
      const text = expandSnippet(t.body);
      assert.ok(!text.includes('$'), 'no snippet syntax left');
      assert.deepEqual(checkScenario(text), []);
      const r = runScenario(text, `${t.prefix}.dmas`);
      assert.ok(r.ok, formatRunReport(r, `${t.prefix}.dmas`));
      assert.deepEqual(r.diagnostics, []);
      assert.ok(r.expectations.length >= 3, 'shows something with expectations');
      assert.deepEqual(r.checks.filter((c) => !c.expected && c.severity !== 'info'), []);
    });
  }
});
