import * as assert from 'node:assert/strict';
import type { CheckResult, Diagnostic, FaultResult, RunResult } from '../../src/lang/run-result';
import { formatCheckReport, formatRunReport, formatSummary } from '../../src/report/format-report';

function result(partial: Partial<RunResult>): RunResult {
  return {
    ok: true,
    diagnostics: [],
    expectations: [],
    checks: [],
    faults: [],
    values: {},
    events: [],
    log: [],
    statements: [],
    ...partial,
  };
}

function diag(line: number, severity: Diagnostic['severity'], message: string, code = 'E1'): Diagnostic {
  return { line, column: 3, endLine: line, endColumn: 8, severity, code, message };
}

function check(line: number, severity: CheckResult['severity'], message: string, expected = false): CheckResult {
  return { line, id: 'dma-debug-different-size', severity, message, expected };
}

function fault(line: number, expected: boolean, pasid: number | null = null): FaultResult {
  return { line, device: 'nvme0', addr: '0xfffff000', access: 'write', pasid, reason: 'no mapping', expected };
}

const F = '07-dma-debug.dmas';

describe('formatRunReport', () => {
  it('reports a clean pass with a header and a summary', () => {
    const r = result({ expectations: [{ line: 3, passed: true, message: 'h == 0x1000' }] });
    assert.equal(
      formatRunReport(r, F),
      `dmascope run ${F}\nPASS ${F}: 1/1 expectations passed, 0 checks, 0 unexpected faults\n`,
    );
  });

  it('matches the summary form of the brief', () => {
    const r = result({
      ok: false,
      expectations: [
        ...[1, 2, 3, 4, 5].map((line) => ({ line, passed: true, message: 'ok' })),
        { line: 9, passed: false, message: 'expected violation "different size", none reported' },
      ],
      checks: [check(12, 'error', 'device driver frees DMA memory with different size'), check(8, 'error', 'x', true)],
    });
    const text = formatRunReport(r, F);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], `dmascope run ${F}`);
    assert.equal(lines[1], `${F}:9: expect failed: expected violation "different size", none reported`);
    assert.equal(lines[2], `${F}:12: check error: device driver frees DMA memory with different size [dma-debug-different-size]`);
    assert.equal(lines[3], `FAIL ${F}: 5/6 expectations passed, 1 check (1 error), 0 unexpected faults`);
    assert.equal(lines.length, 4);
  });

  it('lists error and warning diagnostics, skips info, and says ERROR', () => {
    const r = result({
      ok: false,
      diagnostics: [diag(4, 'warning', 'unused variable x', 'W2'), diag(2, 'error', "unknown call 'foo'"), diag(5, 'info', 'hint')],
    });
    const lines = formatRunReport(r, F).trimEnd().split('\n');
    assert.deepEqual(lines, [
      `dmascope run ${F}`,
      `${F}:2: error: unknown call 'foo' [E1]`,
      `${F}:4: warning: unused variable x [W2]`,
      `ERROR ${F}: 1 error; 0/0 expectations passed, 0 checks, 0 unexpected faults`,
    ]);
  });

  it('prints related notes under their diagnostic', () => {
    const d: Diagnostic = { ...diag(7, 'error', 'unmapped twice'), related: [{ line: 3, message: 'mapped here' }] };
    const lines = formatRunReport(result({ ok: false, diagnostics: [d] }), F).split('\n');
    assert.equal(lines[1], `${F}:7: error: unmapped twice [E1]`);
    assert.equal(lines[2], `  ${F}:3: note: mapped here`);
  });

  it('orders items by line, then diagnostics, expectations, checks, faults', () => {
    const r = result({
      ok: false,
      faults: [fault(5, false, 3)],
      checks: [check(5, 'warning', 'map error not checked')],
      expectations: [{ line: 5, passed: false, message: 'h == 0' }],
      diagnostics: [diag(5, 'warning', 'w')],
    });
    const lines = formatRunReport(r, F).trimEnd().split('\n');
    assert.deepEqual(lines.slice(1, 5), [
      `${F}:5: warning: w [E1]`,
      `${F}:5: expect failed: h == 0`,
      `${F}:5: check warning: map error not checked [dma-debug-different-size]`,
      `${F}:5: fault: nvme0 write at 0xfffff000 pasid 3: no mapping`,
    ]);
    assert.equal(lines[5], `FAIL ${F}: 0/1 expectations passed, 1 check (1 warning), 1 unexpected fault`);
  });

  it('hides consumed checks, expected faults and the log unless verbose', () => {
    const r = result({
      checks: [check(3, 'error', 'consumed', true)],
      faults: [fault(4, true)],
      log: [{ line: 3, text: 'DMA-API: device driver frees DMA memory with different size' }],
    });
    assert.equal(formatRunReport(r, F).split('\n').length, 3);
    const verbose = formatRunReport(r, F, { verbose: true });
    assert.match(verbose, /:3: expected check error: consumed/);
    assert.match(verbose, /:4: expected fault: nvme0 write at 0xfffff000: no mapping/);
    assert.match(verbose, /:3: log: DMA-API: device driver frees/);
    assert.match(verbose, /PASS .*: 0\/0 expectations passed, 0 checks, 0 unexpected faults\n$/);
  });

  it('mentions the related line of a check', () => {
    const c: CheckResult = { ...check(9, 'error', 'leak'), relatedLine: 2 };
    assert.match(formatRunReport(result({ ok: false, checks: [c] }), F), /:9: check error: leak \[dma-debug-different-size\] \(see line 2\)/);
  });

  it('pluralises counts', () => {
    const r = result({
      ok: false,
      checks: [check(1, 'error', 'a'), check(2, 'error', 'b'), check(3, 'warning', 'c'), check(4, 'warning', 'd')],
      faults: [fault(1, false), fault(2, false)],
    });
    assert.equal(formatSummary(r, F), `FAIL ${F}: 0/0 expectations passed, 4 checks (2 errors, 2 warnings), 2 unexpected faults`);
  });
});

describe('formatCheckReport', () => {
  it('prints nothing for a clean file', () => {
    assert.equal(formatCheckReport([], F), '');
  });
  it('prints errors and warnings in source order', () => {
    const text = formatCheckReport([diag(9, 'error', 'b'), diag(2, 'warning', 'a'), diag(3, 'info', 'c')], F);
    assert.equal(text, `${F}:2: warning: a [E1]\n${F}:9: error: b [E1]\n`);
  });
});
