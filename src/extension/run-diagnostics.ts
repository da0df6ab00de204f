// What a check or a run shows in the editor, as plain descriptors: the
// diagnostics of each line and the one-line summary of the Run lens. No
// vscode import (diagnostics.ts turns descriptors into vscode.Diagnostic),
// so the rules are unit-tested on RunResults.

import type { Diagnostic, RunResult } from '../lang/run-result';

export type DescriptorSeverity = 'error' | 'warning' | 'info';

/** Where a descriptor comes from (also what the code means to a reader of the tests). */
export type DescriptorOrigin = 'check' | 'run-diagnostic' | 'expectation' | 'engine-check' | 'fault' | 'run-problem';

export interface DiagnosticDescriptor {
  /** 1-based line of the result. */
  line: number;
  /**
   * 1-based start column and end (endColumn exclusive). Absent: the
   * statement on `line`, from its first non-blank character to the end.
   */
  range?: { column: number; endLine: number; endColumn: number };
  severity: DescriptorSeverity;
  code: string;
  message: string;
  /** Other lines that explain this one, e.g. the line that mapped the buffer. */
  related: { line: number; message: string }[];
  origin: DescriptorOrigin;
}

export const DIAGNOSTIC_SOURCE = 'dmascope';

const diagKey = (d: Diagnostic): string => `${d.line}:${d.column}:${d.endLine}:${d.endColumn}:${d.severity}:${d.code}:${d.message}`;

function fromDiagnostic(d: Diagnostic, origin: DescriptorOrigin): DiagnosticDescriptor {
  return {
    line: d.line,
    range: { column: d.column, endLine: d.endLine, endColumn: d.endColumn },
    severity: d.severity,
    code: d.code,
    message: d.message,
    related: (d.related ?? []).map((r) => ({ line: r.line, message: r.message })),
    origin,
  };
}

/** The diagnostics checkScenario reports (parse and semantic checks): every one is shown, info included. */
export function checkDescriptors(diagnostics: readonly Diagnostic[]): DiagnosticDescriptor[] {
  return diagnostics.map((d) => fromDiagnostic(d, 'check'));
}

/**
 * What a run adds to the check's diagnostics, each on the line that caused it:
 * diagnostics the interpreter raised while running (those of the check are
 * left out: the check already shows them), failed expectations, error and
 * warning checks no `expect` consumed (with the line that made the mapping
 * as related information), and IO page faults no `expect fault` asked for.
 */
export function runDescriptors(result: RunResult, checkDiagnostics: readonly Diagnostic[]): DiagnosticDescriptor[] {
  const out: DiagnosticDescriptor[] = [];
  const fromCheck = new Set(checkDiagnostics.map(diagKey));
  for (const d of result.diagnostics) {
    if (!fromCheck.has(diagKey(d))) out.push(fromDiagnostic(d, 'run-diagnostic'));
  }
  for (const e of result.expectations) {
    if (e.passed) continue;
    out.push({ line: e.line, severity: 'error', code: 'expect-failed', message: `expectation failed: ${e.message}`, related: [], origin: 'expectation' });
  }
  for (const c of result.checks) {
    if (c.expected || c.severity === 'info') continue;
    const related = c.relatedLine !== undefined && c.relatedLine !== c.line
      ? [{ line: c.relatedLine, message: 'the mapping was made here' }]
      : [];
    out.push({ line: c.line, severity: c.severity, code: c.id, message: c.message, related, origin: 'engine-check' });
  }
  for (const f of result.faults) {
    if (f.expected) continue;
    const pasid = f.pasid !== null ? ` (PASID ${f.pasid})` : '';
    out.push({
      line: f.line,
      severity: 'error',
      code: 'io-page-fault',
      message: `IO page fault: ${f.device} ${f.access} at ${f.addr}${pasid}: ${f.reason}`,
      related: [],
      origin: 'fault',
    });
  }
  return out;
}

/** Run findings shown per document; a runaway loop would otherwise flood the Problems view. */
export const MAX_RUN_DIAGNOSTICS = 1000;

/** The first `max` descriptors and, past them, one note on line 1 saying how many more the report lists. */
export function capDescriptors(items: DiagnosticDescriptor[], max = MAX_RUN_DIAGNOSTICS): DiagnosticDescriptor[] {
  if (items.length <= max) return items;
  const note: DiagnosticDescriptor = {
    line: 1,
    severity: 'info',
    code: 'too-many-findings',
    message: `${items.length - max} more findings of this run are not shown here; the report lists them (dmascope: Show run report)`,
    related: [],
    origin: 'run-problem',
  };
  return [...items.slice(0, max), note];
}

/** A run that did not finish in time (shown on line 1). */
export function timeoutDescriptor(limitMs: number): DiagnosticDescriptor {
  return {
    line: 1,
    severity: 'warning',
    code: 'run-timeout',
    message: `the scenario did not finish running within ${Math.round(limitMs / 1000)} s and was stopped; run results (failed expectations, checks, faults) are not up to date. Look for a loop that runs too often.`,
    related: [],
    origin: 'run-problem',
  };
}

/** A run that failed inside dmascope (shown on line 1). */
export function failureDescriptor(message: string): DiagnosticDescriptor {
  return {
    line: 1,
    severity: 'error',
    code: 'internal-error',
    message: `dmascope could not run the scenario (internal error, please report it): ${message}`,
    related: [],
    origin: 'run-problem',
  };
}

// ---- the Run lens -------------------------------------------------------------

export interface RunSummary {
  status: 'pass' | 'fail' | 'error';
  /** `9/9 expectations passed · no checks · no unexpected faults` */
  text: string;
  /** Longer form for the lens tooltip. */
  tooltip: string;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function summarizeRun(result: RunResult): RunSummary {
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  const passed = result.expectations.filter((e) => e.passed).length;
  const failed = result.expectations.length - passed;
  const checks = result.checks.filter((c) => !c.expected && c.severity !== 'info');
  const checkErrors = checks.filter((c) => c.severity === 'error').length;
  const checkWarnings = checks.length - checkErrors;
  const faults = result.faults.filter((f) => !f.expected).length;

  const expectText = result.expectations.length === 0
    ? 'no expectations'
    : `${passed}/${result.expectations.length} expectations passed`;
  const kinds: string[] = [];
  if (checkErrors > 0) kinds.push(plural(checkErrors, 'error'));
  if (checkWarnings > 0) kinds.push(plural(checkWarnings, 'warning'));
  const checkText = checks.length === 0 ? 'no checks' : `${plural(checks.length, 'check')} (${kinds.join(', ')})`;
  const faultText = faults === 0 ? 'no unexpected faults' : plural(faults, 'unexpected fault');
  const status = errors > 0 ? 'error' : result.ok ? 'pass' : 'fail';
  const parts = errors > 0 ? [plural(errors, 'error'), expectText, checkText, faultText] : [expectText, checkText, faultText];
  const text = parts.join(' · ');
  const verdict = status === 'pass' ? 'The run passed' : status === 'fail' ? `The run failed${failed > 0 ? ` (${plural(failed, 'expectation')} failed)` : ''}` : 'The run stopped on errors';
  return { status, text, tooltip: `${verdict}: ${parts.join(', ')}. Click to show the report.` };
}

/** Codes of diagnostics about code that does nothing (shown faded). */
export const UNNECESSARY_CODES: ReadonlySet<string> = new Set(['no-effect']);

/**
 * The columns (0-based, end exclusive) of the statement on a line of text:
 * from its first non-blank character to the last one before a trailing
 * comment. Undefined for a blank or comment-only line.
 */
export function statementColumns(text: string): { start: number; end: number } | undefined {
  let start = 0;
  while (start < text.length && (text[start] === ' ' || text[start] === '\t')) start++;
  let end = start;
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '#' || (c === '/' && text[i + 1] === '/')) break;
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i = Math.min(i + 1, text.length);
      end = i;
      continue;
    }
    i++;
    if (c !== ' ' && c !== '\t') end = i;
  }
  return end > start ? { start, end } : undefined;
}
