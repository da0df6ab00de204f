// The run result's documented keys (docs/run-output.md), with real values.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { runResultToJson } from '../../src/cli';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXAMPLES_DIR, REPO_ROOT, acceptanceScenario, acceptanceScenarios, dmasFiles } from './fixtures';

describe('run output', () => {
  it('scenario 07: every dma-debug finding is kept and counted, the log shows the first one as the kernel does', () => {
    const r = runScenario(acceptanceScenario('07-dma-debug.dmas'), '07-dma-debug.dmas');
    assert.equal(r.ok, true);
    // Four errors the scenario expects, and three 'failed to check map error' warnings (err_printk too).
    assert.equal(r.checks.filter((c) => c.id.startsWith('dma-debug')).length, 7);
    assert.deepEqual(r.dmaDebug, { errorCount: 7 });
    const warned = r.log.filter((l) => l.text.startsWith('DMA-API:'));
    assert.deepEqual(warned.map((l) => [l.line, l.text]), [
      [8, 'DMA-API: eth0 0000:02:00.0: device driver frees DMA memory with different size [device address=0x00000000fffff000] [map size=2048 bytes] [unmap size=1024 bytes]'],
    ]);
  });

  it('prints the swiotlb boot line as swiotlb_print_info does, at the platform block', () => {
    const r = runScenario('# a comment\nplatform { memory = 0x8000_0000 .. 0x2_0000_0000 }\nx = alloc_pages(0)\n', 't.dmas');
    assert.deepEqual(r.log[0], { line: 2, text: 'software IO TLB: mapped [mem 0x00000000fc000000-0x0000000100000000] (64MB)' });
    const noPlatform = runScenario('\n\nx = alloc_pages(0)\n', 't.dmas');
    assert.equal(noPlatform.log[0]?.line, 3, 'without a platform block: the statement that first used the machine');
  });

  it('never reports a log line at line 0 in the acceptance scenarios and examples', () => {
    for (const f of [...acceptanceScenarios(), ...dmasFiles(EXAMPLES_DIR)]) {
      const r = runScenario(f.source, f.name);
      assert.deepEqual(r.log.filter((l) => l.line === 0), [], f.name);
    }
  });

  it('a full swiotlb pool handled with dma_mapping_error passes with the kernel warning in the log; using the error address fails', () => {
    const handled = fs.readFileSync(path.join(REPO_ROOT, 'test/fixtures/kernel-rules/swiotlb-full-handled.dmas'), 'utf8');
    const ok = runScenario(handled, 'h.dmas');
    assert.equal(ok.ok, true);
    assert.ok(ok.log.some((l) => l.text === 'old 0000:07:00.0: swiotlb buffer is full (sz: 4096 bytes), total 512 (slots), used 512 (slots)'));
    assert.deepEqual(ok.checks.filter((c) => c.id === 'swiotlb-full').map((c) => c.severity), ['warning']);
    const misused = runScenario(handled.replace('expect error ENOMEM dma_mapping_error(old, h)       # the driver checks and handles it', 'dma_unmap_page(old, h, 4K, DMA_TO_DEVICE)'), 'm.dmas');
    assert.equal(misused.ok, false);
    assert.ok(misused.checks.some((c) => c.severity === 'error' && c.message.endsWith('device driver tries to free an invalid DMA memory address')));
  });

  it('docs/run-output.md: its example runs to exactly the JSON it shows, every key documented', () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs/run-output.md'), 'utf8');
    const source = /```dmas\n([\s\S]*?)```/.exec(doc)?.[1];
    const shown = /```json\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(source && shown, 'the doc has a dmas example and its json');
    const expected = JSON.parse(shown) as Record<string, unknown> & { events: { seq: number }[] };
    const actual = JSON.parse(runResultToJson(runScenario(source, 'example.dmas'))) as Record<string, unknown> & { events: { seq: number }[] };
    assert.deepEqual(Object.keys(actual), Object.keys(expected), 'same keys, same order');
    for (const key of Object.keys(expected)) {
      if (key === 'events') continue;
      assert.deepEqual(actual[key], expected[key], key);
    }
    for (const e of expected.events) assert.deepEqual(actual.events[e.seq], e, `event ${e.seq}`);
    for (const key of Object.keys(actual)) assert.match(doc, new RegExp(`\\| \`${key}\` \\|`), `${key} has a row in the keys table`);
  });
});
