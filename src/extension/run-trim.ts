// Caps on what one run sends to the editor. A runaway loop can leave a
// million dma-debug checks in a result; the editor needs the first few
// thousand, the true counts (for the summary) and a report that says what
// was left out. Runs in the worker, before the result is serialised. No
// vscode import.

import type { RunResult } from '../lang/run-result';
import { formatRunReport, formatSummary } from '../report/format-report';

/** Items kept per list of a result sent to the editor. */
export const MAX_RESULT_ITEMS = 10_000;
/** Trace events kept (API-level events only are sent). */
export const MAX_RESULT_EVENTS = 100_000;

export interface TrimmedResult {
  result: RunResult;
  /** How many items were left out, over all lists (0: the result is whole). */
  omitted: number;
}

export function trimResult(r: RunResult, maxItems = MAX_RESULT_ITEMS, maxEvents = MAX_RESULT_EVENTS): TrimmedResult {
  let omitted = 0;
  const cap = <T>(list: T[] | undefined, max: number): T[] | undefined => {
    if (list === undefined || list.length <= max) return list;
    omitted += list.length - max;
    return list.slice(0, max);
  };
  const result: RunResult = {
    ...r,
    diagnostics: cap(r.diagnostics, maxItems)!,
    expectations: cap(r.expectations, maxItems)!,
    checks: cap(r.checks, maxItems)!,
    faults: cap(r.faults, maxItems)!,
    events: cap(r.events, maxEvents)!,
    log: cap(r.log, maxItems)!,
    statements: cap(r.statements, maxItems)!,
  };
  if (r.calls !== undefined) result.calls = cap(r.calls, maxItems);
  if (r.walks !== undefined) result.walks = cap(r.walks, maxItems);
  return omitted === 0 ? { result: r, omitted: 0 } : { result, omitted };
}

/**
 * The report of a trimmed result: its lines, a note on what was left out,
 * and the summary of the whole run (true counts).
 */
export function trimmedReport(full: RunResult, trimmed: TrimmedResult, fileName: string): string {
  const lines = formatRunReport(trimmed.result, fileName).trimEnd().split('\n');
  lines.pop(); // the summary of the trimmed result
  lines.push(`... ${trimmed.omitted} more items of this run are not listed (the editor keeps the first ${MAX_RESULT_ITEMS} of each kind; run \`dmascope run\` for all)`);
  lines.push(formatSummary(full, fileName));
  return lines.join('\n') + '\n';
}
