// Code lenses from the last run: pass/fail on each `expect` line, and the
// IOMMU walk of each translate/dev_read/dev_write. Lens kinds are a list of
// sources so later lenses (Debug from here, IOVA map, Walk panel, Bounce
// buffers) slot in beside these. Positions are 0-based (positions.ts).

import type { CallExpr, Statement } from '../ast';
import type { RunResult, WalkSummary } from '../run-result';
import { callsOf } from './ast-util';
import type { DocumentModel } from './document-model';
import { truncate } from './format';
import { guard } from './guard';
import { walkText } from './hover';
import { spanToRange, type Range } from './positions';
import { runIndex, type LineMapper, type RunIndex } from './run-index';

export type LensKind = 'expect' | 'walk' | 'debug' | 'iova-map' | 'walk-panel' | 'bounce';

export interface LensInfo {
  kind: LensKind;
  range: Range;
  title: string;
  tooltip?: string;
  /** A command to run on click (id and arguments); absent: the lens only informs. */
  command?: { id: string; args: unknown[] };
}

/** One source of lenses: gets each statement (for bodies included) with the run index. */
export type LensSource = (stmt: Statement, ctx: { model: DocumentModel; ix: RunIndex; run: RunResult }) => LensInfo[];

const MAX_TITLE = 90;

/** `✓ expect holds` / `✗ expect failed: ...` on expect lines. */
export const expectLenses: LensSource = (stmt, { ix }) => {
  if (stmt.kind !== 'expect') return [];
  const results = ix.expectations.get(stmt.span.line) ?? [];
  if (results.length === 0) return [];
  const failed = results.filter((e) => !e.passed);
  const range = spanToRange(stmt.span);
  const runs = results.length > 1 ? ` (${results.length - failed.length}/${results.length} runs)` : '';
  if (failed.length === 0) {
    return [{ kind: 'expect', range, title: `✓ passed${runs}`, tooltip: results[results.length - 1]!.message }];
  }
  const msg = failed[0]!.message;
  return [{ kind: 'expect', range, title: truncate(`✗ failed${runs}: ${msg}`, MAX_TITLE), tooltip: failed.map((f) => f.message).join('\n') }];
};

/** A hit through a stale IOTLB entry says so (as the walk panel's badge does): it is the DMA sanitizer's stale-IOTLB case, not a good hit. */
const hitText = (w: WalkSummary): string => (w.staleIotlb === true ? 'stale IOTLB hit' : 'IOTLB hit');

function walkTitle(w: WalkSummary, runs: number): string {
  // In a loop the walk shown is that of run w.count (the first runs are probed).
  const loop = runs > 1 ? ` · run ${w.count} of ${runs}` : '';
  if (w.phys === null) return `walk ${w.addr}: ${w.iotlbHit ? hitText(w) : `${w.accesses} reads`}, fault: ${w.fault ?? '?'}${loop}`;
  const how = w.iotlbHit ? hitText(w) : `IOTLB miss, ${w.accesses} reads`;
  const fault = w.faulted ? ' · access faulted' : '';
  return `walk ${w.addr} → ${w.phys} · ${how}${fault}${loop}`;
}

const WALK_CALLS = new Set(['translate', 'dev_read', 'dev_write']);

/** The walk of each translate/dev_read/dev_write: physical address, table reads, IOTLB hit, fault. */
export const walkLenses: LensSource = (stmt, { ix }) => {
  const out: LensInfo[] = [];
  for (const call of callsOf(stmt)) {
    if (!WALK_CALLS.has(call.callee.text)) continue;
    const w = ix.walkAt(call.span.line, call.span.column, call.callee.text);
    if (w === undefined) continue;
    const runs = ix.callAt(call.span.line, call.span.column, call.callee.text)?.count ?? w.count;
    out.push({ kind: 'walk', range: spanToRange((call as CallExpr).span), title: truncate(walkTitle(w, runs), MAX_TITLE), tooltip: `${w.device}: ${walkText(w)}${w.domains.length > 0 ? `\nthrough ${w.domains.join(' → ')}` : ''}` });
  }
  return out;
};

/** Command ids of the panels' lenses (as contributed in package.json); the provider adds the document's URI in front of the args. */
export const SHOW_WALK_COMMAND = 'dmascope.showWalk';
export const SHOW_BOUNCE_COMMAND = 'dmascope.showBounce';
export const SHOW_IOVA_MAP_COMMAND = 'dmascope.showIovaMap';

/** Calls that map or unmap IOVA space (the IOVA map's lens lines). */
const MAPPING_CALLS = new Set(['dma_map_single', 'dma_map_page', 'dma_map_sg', 'dma_alloc_coherent', 'dma_unmap_single', 'dma_unmap_page', 'dma_unmap_sg', 'dma_free_coherent',
  'iommu_map', 'iommu_unmap', 'dma_iova_try_alloc', 'dma_iova_link', 'dma_iova_unlink', 'dma_iova_free', 'dma_iova_destroy']);

/** "Show IOVA map" on a statement that maps or unmaps, when the run ran it and has an IOMMU domain: opens the map as it stands after the line. */
export const iovaMapLenses: LensSource = (stmt, { ix }) => {
  const line = stmt.span.line;
  const call = callsOf(stmt).find((c) => MAPPING_CALLS.has(c.callee.text));
  if (!call || !(ix.calls.get(line)?.length || ix.statements.get(line)?.length)) return [];
  const domains = ix.machine?.domains ?? [];
  if (domains.length === 0) return [];
  return [{ kind: 'iova-map', range: spanToRange(stmt.span), title: 'Show IOVA map', tooltip: `Open the IOVA map after this ${call.callee.text}: mapped ranges by permission, allocations, holes, the change it made, and the physical memory behind it`, command: { id: SHOW_IOVA_MAP_COMMAND, args: [line] } }];
};

/** "Show walk" beside each translate/dev_read/dev_write the run walked: opens the walk panel on that access. */
export const walkPanelLenses: LensSource = (stmt, { ix }) => {
  const out: LensInfo[] = [];
  for (const call of callsOf(stmt)) {
    if (!WALK_CALLS.has(call.callee.text)) continue;
    const w = ix.walkAt(call.span.line, call.span.column, call.callee.text);
    if (w === undefined) continue;
    out.push({ kind: 'walk-panel', range: spanToRange((call as CallExpr).span), title: 'Show walk', tooltip: `Open the translation walk of ${w.device} at ${w.addr}: every descriptor read, decoded`, command: { id: SHOW_WALK_COMMAND, args: [call.span.line] } });
  }
  return out;
};

/** "Show bounce buffers" on a statement whose map bounced (a swiotlb slot or a VDUSE bounce page). */
export const bounceLenses: LensSource = (stmt, { ix }) => {
  const line = stmt.span.line;
  // By the DMA address a call on this line returned, so results still match after edits moved the line.
  const values = new Set((ix.calls.get(line) ?? []).map((c) => c.value));
  const m = ix.machine?.mappings.find((r) => r.bounce !== null && values.has(r.dma));
  if (!m) return [];
  return [{ kind: 'bounce', range: spanToRange(stmt.span), title: 'Show bounce buffers', tooltip: `${m.device}'s mapping ${m.dma} bounced through ${m.bounce}: open the swiotlb / VDUSE bounce state after this line`, command: { id: SHOW_BOUNCE_COMMAND, args: [line] } }];
};

/** The sources used by default; extend (or pass your own list) for new lens kinds. */
export const DEFAULT_LENS_SOURCES: readonly LensSource[] = [expectLenses, walkLenses, walkPanelLenses, bounceLenses, iovaMapLenses];

/**
 * Lenses for a document from its last run. Results are matched by line (and
 * for walks by column and callee), and only shown on statements of the
 * matching kind, so stale results after an edit show nothing wrong. Never throws.
 */
export function codeLenses(model: DocumentModel, run: RunResult | undefined, opts: { sources?: readonly LensSource[]; lines?: LineMapper } = {}): LensInfo[] {
  const sources = opts.sources ?? DEFAULT_LENS_SOURCES;
  if (run === undefined) return [];
  return guard('codeLenses', [], () => {
    const ix = runIndex(run, opts.lines);
    const out: LensInfo[] = [];
    for (const stmt of model.statements) {
      if (stmt.kind === 'for') continue;
      for (const src of sources) out.push(...src(stmt, { model, ix, run }));
    }
    return out;
  });
}
