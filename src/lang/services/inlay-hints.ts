// Inlay hints: each call's result in the last run (the IOVA a map returned,
// the errno name of a failure, the bytes a read returned), at the end of the
// call. Positions are 0-based (positions.ts).

import type { CallExpr } from '../ast';
import type { RunResult } from '../run-result';
import { callsOf } from './ast-util';
import type { DocumentModel } from './document-model';
import { friendlyValue, truncate } from './format';
import { guard } from './guard';
import type { Position, Range } from './positions';
import { runIndex, type LineMapper } from './run-index';

export interface InlayHintInfo {
  /** Where the hint goes: just after the call's `)`. */
  position: Position;
  label: string;
  /** Markdown. */
  tooltip: string;
}

/** Longest hint label; the tooltip has the rest. */
const MAX_LABEL = 40;
/** Calls whose value is plain to see in the source already, or says nothing. */
const SKIP = new Set(['sg_table']);
/** Calls that return a count: shown in decimal. */
const COUNTS = new Set(['events', 'dma_map_sg']);

function hintLabel(callee: string, value: string, errno: string | undefined): string {
  if (errno !== undefined) return `-${errno}`;
  if (COUNTS.has(callee) && /^0x[0-9a-f]+$/.test(value)) return BigInt(value).toString();
  const v = friendlyValue(value);
  // alloc_pages 0x81001000+0x1000 -> 0x81001000+0x1000: the callee is right there.
  const short = v.startsWith(`${callee} `) ? v.slice(callee.length + 1) : v;
  return truncate(short, MAX_LABEL);
}

/**
 * Hints for the calls in a 0-based line range (the whole document when
 * absent). A call gets a hint when the last run has a result for a call with
 * the same callee at the same line and column (result lines mapped to the
 * current text by `lines`), so an edited line shows none until the next run
 * rather than a wrong one. Never throws.
 */
export function inlayHints(model: DocumentModel, run: RunResult | undefined, range?: Range, lines?: LineMapper): InlayHintInfo[] {
  if (run === undefined || run.calls === undefined) return [];
  return guard('inlayHints', [], () => {
    const ix = runIndex(run, lines);
    const out: InlayHintInfo[] = [];
    const first = range !== undefined ? range.start.line + 1 : 1;
    const last = range !== undefined ? range.end.line + 1 : Number.MAX_SAFE_INTEGER;
    for (const stmt of model.statementsInLines(first, last)) {
      if (stmt.kind === 'for') continue;
      // Calls nested in an argument get their own hint; the outer call's goes after its `)`.
      for (const call of callsOf(stmt)) {
        if (call.span.endLine < first || call.span.endLine > last) continue;
        const hint = hintFor(ix, call);
        if (hint !== undefined) out.push(hint);
      }
    }
    return out.sort((a, b) => a.position.line - b.position.line || a.position.character - b.position.character);
  });
}

function hintFor(ix: ReturnType<typeof runIndex>, call: CallExpr): InlayHintInfo | undefined {
  if (SKIP.has(call.callee.text)) return undefined;
  const r = ix.callAt(call.span.line, call.span.column, call.callee.text);
  if (r === undefined || r.value === undefined) return undefined;
  const walk = ix.walkAt(call.span.line, call.span.column, call.callee.text);
  const label = hintLabel(call.callee.text, r.value, r.errno) + (walk?.faulted ? ' (faulted)' : '');
  const times = r.count > 1 ? `\n\nRan ${r.count} times; this is the last value.` : '';
  return {
    position: { line: call.span.endLine - 1, character: call.span.endColumn - 1 },
    label: `→ ${label}`,
    tooltip: `\`${call.callee.text}\` returned \`${friendlyValue(r.value)}\`${r.errno !== undefined ? ` (-${r.errno})` : ''} in the last run.${times}`,
  };
}
