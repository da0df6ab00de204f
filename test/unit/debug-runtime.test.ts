// The debugger's runtime without DAP: every trace breakpoint filter stops
// on the finding it names, forwards and (reverse continue) backwards.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TRACE_FILTERS } from '../../src/debug/breakpoints';
import { DebugRuntime, type StopEvent } from '../../src/debug/runtime';
import { REPO_ROOT } from './fixtures';

const FINDINGS = readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'debug', 'findings.dmas'), 'utf8');

/** Runs `move` and returns the stop it made (undefined when the run ended). */
function stopOf(rt: DebugRuntime, move: () => void): StopEvent | undefined {
  let got: StopEvent | undefined;
  const onStop = (s: StopEvent): void => {
    got = s;
  };
  rt.on('stop', onStop);
  move();
  rt.off('stop', onStop);
  return got;
}

describe('debug runtime: trace breakpoints', () => {
  const want: Record<string, { line: number; text: RegExp }> = {
    swiotlb_bounce: { line: 10, text: /^swiotlb:swiotlb_bounced dev_name=0000:07:00\.0 .*dev_addr=0x180000000 size=4096/ },
    swiotlb_full: { line: 11, text: /swiotlb buffer is full \(sz: 1048576 bytes\)/ },
    iotlb_miss: { line: 14, text: /^engine:iotlb_miss / },
    sanitizer: { line: 14, text: /writes 0xfffff03c\+8 past its mapping 0xfffff000\+0x40/ },
    dma_debug: { line: 15, text: /device driver frees DMA memory with different size/ },
    stale_read: { line: 19, text: /CPU read stale data at 0x81005000/ },
    expect_failed: { line: 20, text: /expected x == "nothing"/ },
  };

  for (const f of TRACE_FILTERS.filter((t) => t.filter !== 'io_page_fault')) {
    it(`${f.label} stops at the statement that makes it, with the finding as the text`, () => {
      const w = want[f.filter];
      assert.ok(w, `findings.dmas covers ${f.filter}`);
      const rt = new DebugRuntime(FINDINGS);
      rt.setTraceFilters([{ filter: f.filter }]);
      const stop = stopOf(rt, () => rt.start(false));
      assert.ok(stop, `${f.filter} never stopped`);
      assert.equal(stop.reason, 'exception');
      assert.equal(rt.event(stop.event)?.line, w.line, `${f.filter}: ${stop.text ?? ''}`);
      assert.match(stop.text ?? '', w.text);
      // From the end of the run, reverse continue comes back to the last such finding.
      rt.goTo(rt.complete() - 1);
      const back = stopOf(rt, () => rt.reverseContinue());
      assert.equal(back?.reason, 'exception');
      assert.ok(back!.backwards);
      assert.ok(f.hits(rt.event(back!.event)!));
    });
  }
});
