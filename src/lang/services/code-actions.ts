// Quick fixes where the fix is plain:
// - a device accessed a dma_iova_link range before dma_iova_sync (check
//   iova-not-synced): add the sync after the link;
// - dma-debug "different size" at unmap/free: use the size that was mapped;
// - dma-debug "different direction" at unmap: use the mapped direction;
// - dma-debug "failed to check map error": add `expect !dma_mapping_error(dev, h)`
//   after the map;
// - unknown names, keys and kinds the checker suggests a spelling for.
// Positions are 0-based (positions.ts); RunResult lines are 1-based.

import type { CallExpr, Expr, Statement } from '../ast';
import { BUILTINS, bindArgs } from '../builtins';
import { constValue } from '../checker';
import type { CheckResult, Diagnostic, RunResult } from '../run-result';
import { callsOf } from './ast-util';
import type { DocumentModel } from './document-model';
import { hex } from './format';
import { guard } from './guard';
import { runIndex, type LineMapper } from './run-index';
import { spanToRange, type Range, type Position } from './positions';

export interface TextEditInfo {
  range: Range;
  newText: string;
}

export interface QuickFix {
  title: string;
  edits: TextEditInfo[];
  /** The problem it fixes: a run check (its id, line, message) or a checker diagnostic. */
  fixes: { line: number; code: string; message: string };
  preferred: boolean;
}

const UNMAP_SIZE_CALLS = new Set(['dma_unmap_page', 'dma_unmap_single', 'dma_free_coherent', 'dma_sync_single_for_cpu', 'dma_sync_single_for_device']);
const UNMAP_DIR_CALLS = new Set(['dma_unmap_page', 'dma_unmap_single', 'dma_unmap_sg', 'dma_sync_single_for_cpu', 'dma_sync_single_for_device', 'dma_sync_sg_for_cpu', 'dma_sync_sg_for_device']);
const MAP_CALLS = new Set(['dma_map_page', 'dma_map_single']);

function src(model: DocumentModel, e: { span: { start: number; end: number } }): string {
  return model.text.slice(e.span.start, e.span.end);
}

/** Statements that start on a 1-based line (for bodies included). */
function statementsOnLine(model: DocumentModel, line1: number): Statement[] {
  const all = model.statements;
  let lo = 0;
  let hi = all.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (all[mid]!.span.line < line1) lo = mid + 1;
    else hi = mid;
  }
  const out: Statement[] = [];
  for (let i = lo; i < all.length && all[i]!.span.line === line1; i++) if (all[i]!.kind !== 'for') out.push(all[i]!);
  return out;
}

function callOnLine(model: DocumentModel, line1: number, names: ReadonlySet<string>): { call: CallExpr; stmt: Statement } | undefined {
  for (const stmt of statementsOnLine(model, line1)) {
    for (const call of callsOf(stmt)) if (names.has(call.callee.text)) return { call, stmt };
  }
  return undefined;
}

function arg(call: CallExpr, name: string): Expr | undefined {
  const spec = BUILTINS.get(call.callee.text);
  if (spec === undefined) return undefined;
  const idx = spec.params.findIndex((p) => p.name === name);
  return idx < 0 ? undefined : bindArgs(spec, call).values[idx];
}

/** An insertion of a whole line after the statement `stmt`, indented like it. */
function insertLineAfter(model: DocumentModel, stmt: Statement, text: string): TextEditInfo {
  const line0 = stmt.span.endLine - 1;
  const startLine = model.lines.lineText(stmt.span.line - 1);
  const indent = /^\s*/.exec(startLine)![0];
  const end = model.lines.lineEnd(line0);
  const pos: Position = model.positionAt(end);
  return { range: { start: pos, end: pos }, newText: `\n${indent}${text}` };
}

function iovaSyncFix(model: DocumentModel, c: CheckResult): QuickFix | undefined {
  const linkLine = c.relatedLine ?? Number(/\(line (\d+)\)/.exec(c.message)?.[1] ?? NaN);
  if (!Number.isFinite(linkLine)) return undefined;
  const found = callOnLine(model, linkLine, new Set(['dma_iova_link']));
  if (found === undefined) return undefined;
  const { call, stmt } = found;
  const dev = arg(call, 'dev');
  const state = arg(call, 'state');
  const offset = arg(call, 'offset');
  const size = arg(call, 'size');
  if (dev === undefined || state === undefined || offset === undefined || size === undefined) return undefined;
  const text = `dma_iova_sync(${src(model, dev)}, ${src(model, state)}, ${src(model, offset)}, ${src(model, size)})`;
  return { title: `Add ${text} after the dma_iova_link on line ${linkLine}`, edits: [insertLineAfter(model, stmt, text)], fixes: { line: c.line, code: c.id, message: c.message }, preferred: true };
}

/** The text for a size: the map call's own argument when it has that value, else a literal. */
function sizeText(model: DocumentModel, mapLine: number | undefined, size: bigint): string {
  if (mapLine !== undefined) {
    const m = callOnLine(model, mapLine, new Set(['dma_map_page', 'dma_map_single', 'dma_alloc_coherent']));
    const a = m !== undefined ? arg(m.call, 'size') : undefined;
    if (a !== undefined && constValue(a) === size) return src(model, a);
  }
  for (const [suffix, shift] of [['M', 20n], ['K', 10n]] as const) {
    const unit = 1n << shift;
    if (size >= unit && size % unit === 0n) return `${size / unit}${suffix}`;
  }
  return hex(size);
}

function differentSizeFix(model: DocumentModel, c: CheckResult): QuickFix | undefined {
  const m = /\[(?:map|allocation) size=(\d+) bytes\]/.exec(c.message) ?? /\[map size=(\d+)/.exec(c.message);
  if (m === null) return undefined;
  const size = BigInt(m[1]!);
  const found = callOnLine(model, c.line, UNMAP_SIZE_CALLS);
  if (found === undefined) return undefined;
  const a = arg(found.call, 'size');
  if (a === undefined) return undefined;
  const text = sizeText(model, c.relatedLine, size);
  if (src(model, a) === text) return undefined;
  return { title: `Use the mapped size ${text}`, edits: [{ range: spanToRange(a.span), newText: text }], fixes: { line: c.line, code: c.id, message: c.message }, preferred: true };
}

function differentDirectionFix(model: DocumentModel, c: CheckResult): QuickFix | undefined {
  const m = /\[mapped with (DMA_[A-Z_]+)\]/.exec(c.message);
  if (m === null) return undefined;
  const found = callOnLine(model, c.line, UNMAP_DIR_CALLS);
  const a = found !== undefined ? arg(found.call, 'dir') : undefined;
  if (a === undefined || src(model, a) === m[1]) return undefined;
  return { title: `Use the mapped direction ${m[1]}`, edits: [{ range: spanToRange(a.span), newText: m[1]! }], fixes: { line: c.line, code: c.id, message: c.message }, preferred: true };
}

function mapErrorFix(model: DocumentModel, c: CheckResult): QuickFix | undefined {
  const mapLine = c.relatedLine;
  if (mapLine === undefined) return undefined;
  for (const stmt of statementsOnLine(model, mapLine)) {
    if (stmt.kind !== 'assign' || stmt.value.kind !== 'call' || !MAP_CALLS.has(stmt.value.callee.text)) continue;
    const dev = arg(stmt.value, 'dev');
    if (dev === undefined) continue;
    const text = `expect !dma_mapping_error(${src(model, dev)}, ${src(model, stmt.target)})`;
    // Already checked right below? Then the warning is stale: offer nothing.
    const next = model.lines.lineText(stmt.span.endLine).trim();
    if (next.startsWith(text)) return undefined;
    return { title: `Add ${text} after the map on line ${mapLine}`, edits: [insertLineAfter(model, stmt, text)], fixes: { line: c.line, code: c.id, message: c.message }, preferred: true };
  }
  return undefined;
}

function typoFix(model: DocumentModel, d: Diagnostic): QuickFix | undefined {
  const m = /\(did you mean ([\w-]+)\?\)/.exec(d.message);
  if (m === null) return undefined;
  const range: Range = { start: { line: d.line - 1, character: d.column - 1 }, end: { line: d.endLine - 1, character: d.endColumn - 1 } };
  const start = model.offsetAt(range.start);
  const end = model.offsetAt(range.end);
  const old = model.text.slice(start, end);
  if (!/^[\w-]+$/.test(old) || old === m[1]) return undefined;
  return { title: `Change '${old}' to '${m[1]}'`, edits: [{ range, newText: m[1]! }], fixes: { line: d.line, code: d.code, message: d.message }, preferred: true };
}

/** Which check a fix applies to, by id. */
const CHECK_FIXES: Readonly<Record<string, (model: DocumentModel, c: CheckResult) => QuickFix | undefined>> = {
  'iova-not-synced': iovaSyncFix,
  'dma-debug-different-size': differentSizeFix,
  'dma-debug-different-direction': differentDirectionFix,
  'dma-debug-map-error-not-checked': mapErrorFix,
};

/**
 * Quick fixes for problems on the 0-based lines `range` covers: run checks
 * there (or whose related line is there) and the checker's spelling
 * suggestions. `diagnostics` are extra diagnostics to consider (e.g. those the
 * editor shows); the model's own checker diagnostics are always used. `lines`
 * maps the run's lines to the current text. Never throws.
 */
export function quickFixes(model: DocumentModel, run: RunResult | undefined, range: Range, diagnostics: readonly Diagnostic[] = [], lines?: LineMapper): QuickFix[] {
  const out: QuickFix[] = [];
  const first = range.start.line + 1;
  const last = range.end.line + 1;
  const on = (line: number | undefined): boolean => line !== undefined && line >= first && line <= last;
  const seen = new Set<string>();
  const add = (f: QuickFix | undefined): void => {
    if (f === undefined) return;
    const key = `${f.title}|${JSON.stringify(f.edits)}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(f);
  };
  return guard('quickFixes', out, () => {
    for (const c of run === undefined ? [] : runIndex(run, lines).checkList) {
      const fix = CHECK_FIXES[c.id];
      // A check an `expect` asked for is the point of that line: nothing to fix.
      if (fix !== undefined && !c.expected && (on(c.line) || on(c.relatedLine))) add(fix(model, c));
    }
    for (const d of [...model.checkDiagnostics, ...model.parseDiagnostics, ...diagnostics]) {
      if (d.line <= last && d.endLine >= first) add(typoFix(model, d));
    }
    return out;
  });
}
