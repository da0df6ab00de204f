// The import result as editor problems: one per finding at its line of the
// capture (a folded finding at each of its repeat lines too), and one per
// malformed line. Plain data: the extension turns it into diagnostics.

import { describeFinding } from './report';
import { severityOf, type Severity } from './severity';
import type { ImportResult } from './types';

export interface CaptureProblem {
  /** 1-based first and last line. */
  line: number;
  endLine: number;
  severity: Severity;
  message: string;
  /** The finding kind, or `malformed`. */
  code: string;
}

/** At most this many problems (a flood of faults would only slow the Problems view). */
export const MAX_PROBLEMS = 5000;

export function captureProblems(r: ImportResult): CaptureProblem[] {
  const out: CaptureProblem[] = [];
  for (const f of r.findings) {
    if (out.length >= MAX_PROBLEMS) break;
    const severity = typeof f.severity === 'string' ? (f.severity as Severity) : severityOf(f.kind);
    const message = describeFinding(f);
    const first = typeof f.startLine === 'number' ? Math.min(f.startLine, f.line) : f.line;
    out.push({ line: first, endLine: typeof f.endLine === 'number' ? f.endLine : f.line, severity, message, code: f.kind });
    const repeats = Array.isArray(f.repeat_lines) ? (f.repeat_lines as number[]) : [];
    for (const l of repeats) if (out.length < MAX_PROBLEMS) out.push({ line: l, endLine: l, severity, message: `${message} (repeat)`, code: f.kind });
  }
  for (const m of r.malformed) {
    if (out.length >= MAX_PROBLEMS) break;
    out.push({ line: m.line, endLine: m.line, severity: 'info', message: `malformed: ${m.reason}`, code: 'malformed' });
  }
  if (r.error !== undefined) out.push({ line: Math.max(1, r.error.line), endLine: Math.max(1, r.error.line), severity: 'error', message: r.error.message, code: r.error.code });
  return out;
}

/** Whether the first lines of a file look like a kernel capture (for opening unknown files as one). */
export function looksLikeCapture(firstLines: readonly string[]): boolean {
  let hits = 0;
  for (const l of firstLines) {
    if (/^# tracer: |^cpus=\d+$|^\s*\S.*-\d+\s+\[\d{3}\]\s/.test(l)) return true;
    if (/^\[\s*\d+\.\d{6}\] |^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) \S+ kernel: /.test(l)) hits++;
  }
  return hits >= Math.min(3, Math.max(1, firstLines.length));
}
