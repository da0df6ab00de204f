// The report the Output panel shows: every finding, the kernel log, prints
// and a trace summary, at full-path locations VS Code links.

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { runScenario } from '../../src/lang/run';
import { formatRunReport } from '../../src/report/format-report';
import { EXAMPLES_DIR, dmasFiles } from './fixtures';

describe('the full report', () => {
  const ex = dmasFiles(EXAMPLES_DIR).find((f) => f.name === '01-streaming-map.dmas');
  assert.ok(ex);
  const r = runScenario(ex.source, ex.name);
  const full = path.join('/srv/scenarios', ex.name);
  const text = formatRunReport(r, ex.name, { verbose: true, traceSummary: true, locationPath: full });

  it('locates every line at the full path and keeps the summary short', () => {
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], `dmascope run ${full}`);
    assert.equal(lines[lines.length - 1], 'PASS 01-streaming-map.dmas: 9/9 expectations passed, 0 checks, 0 unexpected faults');
    for (const l of lines.slice(1, -2)) assert.ok(l.startsWith(`${full}:`), l);
  });

  it('lists the expected fault, the kernel log and a trace summary', () => {
    assert.match(text, new RegExp(`^${full.replace(/[./]/g, '\\$&')}:7: log: software IO TLB: mapped \\[mem 0x00000000fc000000-0x0000000100000000\\] \\(64MB\\)$`, 'm'));
    assert.match(text, /:32: expected fault: eth0 write at 0xfffff000: smmu0: permission fault/);
    assert.match(text, /^trace: \d+ events: .*dma_map_phys ×2.*$/m);
  });
});
