// From RunResult to diagnostic descriptors and the Run lens summary
// (run-diagnostics.ts), on hand-made results and on real runs.

import * as assert from 'node:assert/strict';
import { checkScenario, runScenario } from '../../src/lang/run';
import type { Diagnostic, RunResult } from '../../src/lang/run-result';
import { trimmedReport, trimResult } from '../../src/extension/run-trim';
import {
  capDescriptors, checkDescriptors, failureDescriptor, runDescriptors, statementColumns, summarizeRun, timeoutDescriptor,
} from '../../src/extension/run-diagnostics';

function result(partial: Partial<RunResult>): RunResult {
  return { ok: true, diagnostics: [], expectations: [], checks: [], faults: [], values: {}, events: [], log: [], statements: [], ...partial };
}

const d = (line: number, code: string, severity: Diagnostic['severity'] = 'error'): Diagnostic => ({
  line, column: 3, endLine: line, endColumn: 9, severity, code, message: `${code} message`,
});

describe('ext: run diagnostics', () => {
  it('maps check diagnostics with their ranges, info included', () => {
    const out = checkDescriptors([d(2, 'parse'), d(5, 'no-effect', 'warning'), d(6, 'hint', 'info')]);
    assert.deepEqual(out.map((x) => [x.line, x.severity, x.code, x.range]), [
      [2, 'error', 'parse', { column: 3, endLine: 2, endColumn: 9 }],
      [5, 'warning', 'no-effect', { column: 3, endLine: 5, endColumn: 9 }],
      [6, 'info', 'hint', { column: 3, endLine: 6, endColumn: 9 }],
    ]);
  });

  it('puts each run finding on its line, leaving out what the check shows and what an expect consumed', () => {
    const checkDiag = d(3, 'precedence', 'warning');
    const r = result({
      ok: false,
      diagnostics: [checkDiag, d(9, 'runtime')],
      expectations: [{ line: 10, passed: true, message: 'ok' }, { line: 11, passed: false, message: 'h == 0x1000: h is 0x2000' }],
      checks: [
        { line: 12, id: 'dma-debug-different-size', severity: 'error', message: 'DMA-API: frees with different size', expected: false, relatedLine: 5 },
        { line: 13, id: 'dma-debug-map-error-not-checked', severity: 'warning', message: 'not checked', expected: false },
        { line: 14, id: 'dma-debug-leak', severity: 'error', message: 'consumed', expected: true },
        { line: 15, id: 'iova-destroy-size', severity: 'info', message: 'info only', expected: false },
        { line: 16, id: 'dma-debug-leak', severity: 'error', message: 'leak', expected: false, relatedLine: 16 },
      ],
      faults: [
        { line: 20, device: 'eth0', addr: '0xfffff000', access: 'write', pasid: null, reason: 'permission', expected: false },
        { line: 21, device: 'eth0', addr: '0x1000', access: 'read', pasid: 3, reason: 'translation', expected: false },
        { line: 22, device: 'eth0', addr: '0x1000', access: 'read', pasid: null, reason: 'translation', expected: true },
      ],
    });
    const out = runDescriptors(r, [checkDiag]);
    assert.deepEqual(out.map((x) => [x.line, x.severity, x.code, x.origin]), [
      [9, 'error', 'runtime', 'run-diagnostic'],
      [11, 'error', 'expect-failed', 'expectation'],
      [12, 'error', 'dma-debug-different-size', 'engine-check'],
      [13, 'warning', 'dma-debug-map-error-not-checked', 'engine-check'],
      [16, 'error', 'dma-debug-leak', 'engine-check'],
      [20, 'error', 'io-page-fault', 'fault'],
      [21, 'error', 'io-page-fault', 'fault'],
    ]);
    assert.equal(out[1]!.message, 'expectation failed: h == 0x1000: h is 0x2000');
    assert.equal(out[1]!.range, undefined, 'whole statement');
    assert.deepEqual(out[2]!.related, [{ line: 5, message: 'the mapping was made here' }]);
    assert.deepEqual(out[4]!.related, [], 'no related information pointing at the line itself');
    assert.equal(out[5]!.message, 'IO page fault: eth0 write at 0xfffff000: permission');
    assert.equal(out[6]!.message, 'IO page fault: eth0 read at 0x1000 (PASID 3): translation');
  });

  it('keeps related lines of interpreter diagnostics', () => {
    const withRelated: Diagnostic = { ...d(7, 'x'), related: [{ line: 2, message: 'declared here' }] };
    assert.deepEqual(runDescriptors(result({ diagnostics: [withRelated] }), [])[0]!.related, [{ line: 2, message: 'declared here' }]);
  });

  it('reports a real unmap with the wrong size on the unmap line, related to the map line', () => {
    const src = [
      'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }',
      'iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }',
      'device nvme0 : pci "0000:01:00.0" { iommu = smmu0; dma_mask = 64 }',
      'buf = alloc_pages(1)',
      'h = dma_map_page(nvme0, buf, 0, 8K, DMA_TO_DEVICE)',
      'expect !dma_mapping_error(nvme0, h)',
      'expect h == 0x1234',
      'dma_unmap_page(nvme0, h, 4K, DMA_TO_DEVICE)',
      'dev_read(nvme0, 0x10, 4)',
    ].join('\n');
    const out = runDescriptors(runScenario(src, 't.dmas'), checkScenario(src));
    const byLine = new Map(out.map((x) => [x.line, x]));
    assert.equal(byLine.get(7)?.code, 'expect-failed');
    assert.match(byLine.get(8)!.message, /different size/);
    assert.deepEqual(byLine.get(8)!.related.map((r) => r.line), [5]);
    assert.equal(byLine.get(9)?.code, 'io-page-fault');
    assert.equal(out.length, 3);
  });

  it('describes timeouts and internal failures on line 1', () => {
    const t = timeoutDescriptor(20000);
    assert.equal(t.line, 1);
    assert.equal(t.code, 'run-timeout');
    assert.match(t.message, /20 s/);
    const f = failureDescriptor('boom');
    assert.equal(f.severity, 'error');
    assert.match(f.message, /boom/);
  });

  it('finds the statement of a line without indentation and trailing comment', () => {
    assert.deepEqual(statementColumns('  h = f(x)   # comment'), { start: 2, end: 10 });
    assert.deepEqual(statementColumns('cpu_write(b, 0, "a # not a comment") // c'), { start: 0, end: 36 });
    assert.deepEqual(statementColumns('x = "a\\"b"'), { start: 0, end: 10 });
    assert.equal(statementColumns('   # only a comment'), undefined);
    assert.equal(statementColumns(''), undefined);
  });
});

describe('ext: run summary (Run lens)', () => {
  it('summarises a passing run', () => {
    const s = summarizeRun(result({ expectations: [{ line: 1, passed: true, message: '' }, { line: 2, passed: true, message: '' }] }));
    assert.equal(s.status, 'pass');
    assert.equal(s.text, '2/2 expectations passed · no checks · no unexpected faults');
    assert.match(s.tooltip, /passed/);
  });

  it('summarises failures, checks and faults', () => {
    const s = summarizeRun(result({
      ok: false,
      expectations: [{ line: 1, passed: true, message: '' }, { line: 2, passed: false, message: '' }],
      checks: [
        { line: 3, id: 'a', severity: 'error', message: '', expected: false },
        { line: 4, id: 'b', severity: 'warning', message: '', expected: false },
        { line: 5, id: 'c', severity: 'warning', message: '', expected: false },
        { line: 6, id: 'd', severity: 'error', message: '', expected: true },
      ],
      faults: [{ line: 7, device: 'd', addr: '0x0', access: 'read', pasid: null, reason: '', expected: false }],
    }));
    assert.equal(s.status, 'fail');
    assert.equal(s.text, '1/2 expectations passed · 3 checks (1 error, 2 warnings) · 1 unexpected fault');
    assert.match(s.tooltip, /1 expectation failed/);
  });

  it('summarises a scenario with errors', () => {
    const s = summarizeRun(result({ ok: false, diagnostics: [d(1, 'parse'), d(2, 'parse')] }));
    assert.equal(s.status, 'error');
    assert.equal(s.text, '2 errors · no expectations · no checks · no unexpected faults');
  });
});

describe('ext: caps on runaway runs', () => {
  it('shows at most MAX_RUN_DIAGNOSTICS findings and says how many more there are', () => {
    const many = runDescriptors(result({
      ok: false,
      checks: Array.from({ length: 30 }, (_, i) => ({ line: i + 1, id: 'x', severity: 'warning' as const, message: 'm', expected: false })),
    }), []);
    const capped = capDescriptors(many, 10);
    assert.equal(capped.length, 11);
    assert.equal(capped[10]!.code, 'too-many-findings');
    assert.match(capped[10]!.message, /^20 more findings/);
    assert.equal(capDescriptors(many, 30), many);
  });

  it('trims a result to the first items of each list and reports the true counts', () => {
    const full = result({
      ok: false,
      checks: Array.from({ length: 25 }, (_, i) => ({ line: i + 1, id: 'dma-debug-leak', severity: 'warning' as const, message: `c${i}`, expected: false })),
      events: Array.from({ length: 7 }, (_, i) => ({ seq: i, line: 1, name: 'e', fields: {}, depth: 0 })),
    });
    const t = trimResult(full, 10, 5);
    assert.equal(t.omitted, 15 + 2);
    assert.equal(t.result.checks.length, 10);
    assert.equal(t.result.events.length, 5);
    assert.equal(full.checks.length, 25, 'the full result is untouched');
    const report = trimmedReport(full, t, 'r.dmas').trimEnd().split('\n');
    assert.equal(report.length, 1 + 10 + 2);
    assert.match(report[11]!, /^\.\.\. 17 more items/);
    assert.equal(report[12], 'FAIL r.dmas: 0/0 expectations passed, 25 checks (25 warnings), 0 unexpected faults');
    const whole = trimResult(result({}), 10, 5);
    assert.equal(whole.omitted, 0);
  });
});
