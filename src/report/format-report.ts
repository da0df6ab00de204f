// Human-readable report of one run (docs/run-output.md), shared by the CLI
// and the extension's output channel. Pure: RunResult in, text out.

import type { Diagnostic, RunResult } from '../lang/run-result';

/** Log lines of the scenario's own `print` statements start with this (run-result-build.ts). */
export const PRINT_PREFIX = 'print: ';

export interface ReportOptions {
  /** Also list checks and faults consumed by an `expect`, and the kernel log (`print` output always shows). */
  verbose?: boolean;
  /** How `FILE:LINE` locations name the file (a full path makes them links in VS Code's Output panel); default: the file name. */
  locationPath?: string;
  /** End with a summary of the trace: how many events of each kind. */
  traceSummary?: boolean;
}

interface Item {
  line: number;
  /** Orders items of one line: diagnostics, expectations, checks, faults, log. */
  rank: number;
  text: string;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `FILE:LINE: kind: message` */
function located(fileName: string, line: number, kind: string, message: string): string {
  return `${fileName}:${line}: ${kind}: ${message}`;
}

/** One line per diagnostic of severity error or warning (info is left to the editor). */
export function formatDiagnostic(d: Diagnostic, fileName: string): string {
  const code = d.code ? ` [${d.code}]` : '';
  return located(fileName, d.line, d.severity, `${d.message}${code}`);
}

/** The final `PASS|FAIL|ERROR FILE: ...` line. */
export function formatSummary(result: RunResult, fileName: string): string {
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  const passed = result.expectations.filter((e) => e.passed).length;
  const checks = result.checks.filter((c) => !c.expected);
  const checkErrors = checks.filter((c) => c.severity === 'error').length;
  const checkWarnings = checks.filter((c) => c.severity === 'warning').length;
  const faults = result.faults.filter((f) => !f.expected).length;

  const parts: string[] = [];
  if (checkErrors > 0) parts.push(plural(checkErrors, 'error'));
  if (checkWarnings > 0) parts.push(plural(checkWarnings, 'warning'));
  const checkText = plural(checks.length, 'check') + (parts.length > 0 ? ` (${parts.join(', ')})` : '');

  const status = errors > 0 ? 'ERROR' : result.ok ? 'PASS' : 'FAIL';
  const counts =
    `${passed}/${result.expectations.length} expectations passed, ${checkText}, ` +
    `${plural(faults, 'unexpected fault')}`;
  if (errors > 0) return `${status} ${fileName}: ${plural(errors, 'error')}; ${counts}`;
  return `${status} ${fileName}: ${counts}`;
}

/**
 * The report: a header line with the file, then one `FILE:LINE: kind: message`
 * line per error/warning diagnostic, failed expectation, check not consumed by
 * an expect and unexpected fault (in line order), then the summary line.
 */
export function formatRunReport(result: RunResult, summaryName: string, options: ReportOptions = {}): string {
  const verbose = options.verbose === true;
  const fileName = options.locationPath ?? summaryName;
  const items: Item[] = [];

  for (const d of result.diagnostics) {
    if (d.severity === 'error' || d.severity === 'warning') {
      items.push({ line: d.line, rank: 0, text: formatDiagnostic(d, fileName) });
      for (const r of d.related ?? []) {
        items.push({ line: d.line, rank: 0, text: `  ${located(fileName, r.line, 'note', r.message)}` });
      }
    }
  }
  for (const e of result.expectations) {
    if (!e.passed) items.push({ line: e.line, rank: 1, text: located(fileName, e.line, 'expect failed', e.message) });
  }
  for (const c of result.checks) {
    if (c.expected && !verbose) continue;
    if (c.severity === 'info' && !verbose) continue;
    const kind = `${c.expected ? 'expected ' : ''}check ${c.severity}`;
    const related = c.relatedLine !== undefined ? ` (see line ${c.relatedLine})` : '';
    items.push({ line: c.line, rank: 2, text: located(fileName, c.line, kind, `${c.message} [${c.id}]${related}`) });
  }
  for (const f of result.faults) {
    if (f.expected && !verbose) continue;
    const pasid = f.pasid !== null ? ` pasid ${f.pasid}` : '';
    const kind = f.expected ? 'expected fault' : 'fault';
    items.push({
      line: f.line,
      rank: 3,
      text: located(fileName, f.line, kind, `${f.device} ${f.access} at ${f.addr}${pasid}: ${f.reason}`),
    });
  }
  // What the scenario prints always shows; the kernel log with --verbose.
  for (const l of result.log) {
    if (l.text.startsWith(PRINT_PREFIX)) items.push({ line: l.line, rank: 4, text: located(fileName, l.line, 'print', l.text.slice(PRINT_PREFIX.length)) });
    else if (verbose) items.push({ line: l.line, rank: 4, text: located(fileName, l.line, 'log', l.text) });
  }

  // Stable sort: by line, then by kind; the order within a kind is the run's order.
  const sorted = items.map((item, index) => ({ item, index }));
  sorted.sort((a, b) => a.item.line - b.item.line || a.item.rank - b.item.rank || a.index - b.index);

  const trace = options.traceSummary ? formatTraceSummary(result) : [];
  const lines = [`dmascope run ${fileName}`, ...sorted.map((s) => s.item.text), ...trace, formatSummary(result, summaryName)];
  return lines.join('\n') + '\n';
}

/** `trace: N events`, then the most frequent kernel calls and tracepoints with their counts. */
export function formatTraceSummary(result: RunResult): string[] {
  const counts = new Map<string, number>();
  for (const e of result.events) {
    if (e.kind === 'return' || e.name === 'engine:statement' || e.name === 'engine:expect') continue;
    counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
  }
  if (result.events.length === 0) return [];
  const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 12);
  return [`trace: ${plural(result.events.length, 'event')}: ${top.map(([n, c]) => `${n} ×${c}`).join(', ')}${counts.size > top.length ? ', ...' : ''}`];
}

/** Report of `dmascope check`: diagnostics of one file, one line each. */
export function formatCheckReport(diagnostics: readonly Diagnostic[], fileName: string): string {
  const shown = diagnostics
    .filter((d) => d.severity === 'error' || d.severity === 'warning')
    .map((d, index) => ({ d, index }))
    .sort((a, b) => a.d.line - b.d.line || a.d.column - b.d.column || a.index - b.index);
  return shown.map(({ d }) => formatDiagnostic(d, fileName) + '\n').join('');
}
