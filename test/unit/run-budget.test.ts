// Run budgets instead of a statement limit: a run stops when its time or
// memory budget runs out, says which one and at which line, and keeps what it
// did; the command line takes the budgets as flags and shows progress on a
// terminal only.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli';
import { parseCliArgs } from '../../src/cli-args';
import { ProgressLine, progressText } from '../../src/cli-progress';
import { runProgressMessage } from '../../src/extension/run-progress';
import { Interpreter } from '../../src/lang/interp/interpreter';
import { BudgetMeter, normalizeBudget, RUN_BUDGET_STRIDE } from '../../src/lang/interp/run-budget';
import { parse } from '../../src/lang/parser';
import { runScenario } from '../../src/lang/run';

const ENDLESS = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }
device nvme0 : pci "0000:01:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }
b = alloc_pages(0)
first = dma_map_page(nvme0, b, 0, 4K, DMA_TO_DEVICE)
expect first == 0xfffff000
for i in 0 .. 4_000_000_000 {
  h = dma_map_page(nvme0, b, 0, 4K, DMA_TO_DEVICE)
  dma_mapping_error(nvme0, h)
  dma_unmap_page(nvme0, h, 4K, DMA_TO_DEVICE)
}
expect false
`;

describe('run budgets', () => {
  it('stops a 4,000,000,000-iteration loop (no statement limit) on its time budget, names the budget and the line, and keeps what ran', () => {
    const t0 = Date.now();
    const r = runScenario(ENDLESS, 'endless.dmas', { events: 'none', budget: { timeSeconds: 0.3, memoryMb: 4096 } });
    const took = Date.now() - t0;
    assert.ok(took < 3000, `stopped after ${took} ms`);
    const stop = r.diagnostics.find((d) => d.code === 'time-budget');
    assert.ok(stop, JSON.stringify(r.diagnostics));
    assert.ok([8, 9, 10].includes(stop.line), `line ${stop.line}`);
    assert.match(stop.message, new RegExp(`^the run stopped at line ${stop.line}: its time budget of 0\\.3 s ran out after [\\d,]+ statements; everything until here is kept \\(raise it with --time-budget SECONDS`));
    assert.deepEqual(r.expectations.map((e) => [e.line, e.passed]), [[6, true]]); // `expect false` after the loop never ran
    assert.equal(r.values.first, '0xfffff000');
    assert.equal(r.ok, false);
  });

  it('refuses up front only a loop count no budget can reach (more than 2^32)', () => {
    const r = runScenario(ENDLESS.replace('4_000_000_000', '0x1_0000_0001'), 'typo.dmas', { events: 'none', budget: { timeSeconds: 0.3, memoryMb: 4096 } });
    const e = r.diagnostics.find((d) => d.line === 7);
    assert.equal(e?.message, 'the loop would run 4,294,967,297 times; more than 4,294,967,296 cannot finish within any run budget');
    assert.equal(r.diagnostics.some((d) => d.code === 'time-budget'), false);
  });

  it('stops on the memory budget when the run grows the heap past it', () => {
    let heap = 0;
    let now = 0;
    // 250 ms between readings: more than the meter's interval between two heap readings, so each reading reads the heap.
    const meter = new BudgetMeter({ timeSeconds: 1e9, memoryMb: 1 }, () => (now += 250), () => heap);
    const it = new Interpreter(ENDLESS, { budget: meter, atBoundary: () => { heap += 1024; return false; } });
    it.run(parse(ENDLESS).program);
    const stop = it.diagnostics.find((d) => d.code === 'memory-budget');
    assert.ok(stop);
    assert.match(stop.message, /its memory budget of 1 MiB ran out after [\d,]+ statements; .*--memory-budget MIB/);
    // 1 MiB at 1 KiB a statement boundary: the first reading past 1,024 boundaries stops it.
    assert.equal(it.steps, 2 * RUN_BUDGET_STRIDE);
  });

  it('counts only the time the run runs, not the time it is paused (the debugger)', () => {
    let now = 0;
    const m = new BudgetMeter({ timeSeconds: 1, memoryMb: 1 }, () => now, () => 0);
    m.begin();
    now = 600;
    m.end();
    now = 100_000; // paused for 99 s
    m.begin();
    now = 100_300;
    assert.equal(m.elapsedMs, 900);
    assert.equal(m.exceeded(), undefined);
    now = 100_500;
    assert.equal(m.exceeded(), 'time');
  });

  it('takes only positive finite budgets from users', () => {
    assert.deepEqual(normalizeBudget({ timeSeconds: 5, memoryMb: -1 }), { timeSeconds: 5, memoryMb: 2048 });
    assert.deepEqual(normalizeBudget({ timeSeconds: Number.NaN, memoryMb: '3' }), { timeSeconds: 120, memoryMb: 2048 });
  });

  it('parses --time-budget and --memory-budget for run, and refuses bad values', () => {
    assert.deepEqual(parseCliArgs(['run', 'a.dmas', '--time-budget', '5']), { kind: 'run', file: 'a.dmas', json: false, verbose: false, budget: { timeSeconds: 5 } });
    assert.deepEqual(parseCliArgs(['run', '--memory-budget=300', 'a.dmas', '--time-budget=0.5']), { kind: 'run', file: 'a.dmas', json: false, verbose: false, budget: { memoryMb: 300, timeSeconds: 0.5 } });
    assert.deepEqual(parseCliArgs(['run', 'a.dmas', '--time-budget', 'soon']), { kind: 'usage-error', message: "'--time-budget' needs a positive number of seconds, got 'soon'" });
    assert.deepEqual(parseCliArgs(['run', 'a.dmas', '--memory-budget']), { kind: 'usage-error', message: "'--memory-budget' needs a positive number of MiB" });
    assert.deepEqual(parseCliArgs(['check', 'a.dmas', '--time-budget', '5']), { kind: 'usage-error', message: "unknown option '--time-budget' for 'check'" });
  });

  it('dmascope run --time-budget stops an endless loop, exits 2 and shows progress only on a terminal', function () {
    this.timeout(15_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmascope-budget-'));
    const file = path.join(dir, 'endless.dmas');
    fs.writeFileSync(file, ENDLESS);
    try {
      for (const tty of [false, true]) {
        let out = '';
        let err = '';
        const code = main(['run', file, '--time-budget', '1.4'], { stdout: (t) => (out += t), stderr: (t) => (err += t), stderrIsTTY: tty });
        assert.equal(code, 2);
        assert.match(out, /the run stopped at line \d+: its time budget of 1\.4 s ran out/);
        if (tty) {
          assert.ok(err.startsWith('\r\x1b[Kdmascope: running, line '), JSON.stringify(err.slice(0, 60)));
          assert.match(err, /dmascope: running, line \d+: [\d,]+ statements, [\d,]+ events, 1\.\d s/);
          assert.ok(err.endsWith('\r\x1b[K'), JSON.stringify(err.slice(-40)));
        } else assert.equal(err, '');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('draws the progress line after a second, at most four times a second', () => {
    const writes: string[] = [];
    const line = new ProgressLine((t) => writes.push(t));
    const at = (ms: number): void => line.update({ line: 8, statements: ms * 1000, events: ms * 8000, elapsedMs: ms });
    [100, 900, 1000, 1100, 1300, 1250].forEach(at);
    line.done();
    assert.deepEqual(writes, [`\r\x1b[K${progressText({ line: 8, statements: 1_000_000, events: 8_000_000, elapsedMs: 1000 })}`, `\r\x1b[K${progressText({ line: 8, statements: 1_300_000, events: 10_400_000, elapsedMs: 1300 })}`, '\r\x1b[K']);
    assert.equal(progressText({ line: 8, statements: 1_300_000, events: 10_400_000, elapsedMs: 1300 }), 'dmascope: running, line 8: 1,300,000 statements, 10,400,000 events, 1.3 s');
  });
});

describe('run progress in the editor', () => {
  it('words the Run notification as the command line does, without its prefix', () => {
    assert.equal(runProgressMessage({ line: 7, statements: 1_234_567, events: 29_629_608, elapsedMs: 3140 }), 'line 7: 1,234,567 statements, 29,629,608 events, 3.1 s');
    assert.equal(progressText({ line: 7, statements: 1_234_567, events: 29_629_608, elapsedMs: 3140 }), `dmascope: running, ${runProgressMessage({ line: 7, statements: 1_234_567, events: 29_629_608, elapsedMs: 3140 })}`);
  });
});
