// A kernel capture as a debugger timeline: every captured record (a
// tracepoint event, or a finding the kernel printed) is one position, in
// line order, and the state at a position is the importer's per-device
// replay (src/traceimport/replay.ts) right after that record. Snapshots of
// the replay every few hundred records make any position, backwards too,
// a copy plus a short replay. No vscode, no DAP here.

import { CaptureReplay, TIMELINE_POINTS, type DeviceState, type LiveMapping } from '../traceimport/replay';
import type { CaptureEvents } from '../traceimport/event-store';
import type { CaptureEvent, Finding, ImportResult } from '../traceimport/types';

/** One position of the capture debugger. */
export interface CaptureRecord {
  /** Position: index among the records. */
  index: number;
  /** First and last line of the capture the record spans (1-based). */
  line: number;
  endLine: number;
  /** The tracepoint name (`map`, `dma_map_phys`) or the finding kind (`io_page_fault`). */
  kind: string;
  /** `system:kind` for a tracepoint (`iommu:map`); the finding kind for a finding printed in the log. */
  name: string;
  device?: string;
  /** The tracepoint, when the record is one: made from the import's columns each time it is read. */
  readonly event?: CaptureEvent;
  /** The tracepoint's index among the import's events, when the record is one. */
  readonly eventIndex?: number;
  /** The findings at this record: what the kernel printed here, and the replay's checks of this line. */
  findings: Finding[];
  /** Set on a repeat line of a folded finding: the line of its first occurrence. */
  repeatOf?: number;
}

/** The findings of a record that has none (shared; replaced by a list of its own at the first one). */
const NO_FINDINGS: Finding[] = Object.freeze([]) as unknown as Finding[];

function addFinding(r: CaptureRecord, f: Finding): void {
  if (r.findings === NO_FINDINGS) r.findings = [f];
  else r.findings.push(f);
}

/** A tracepoint's record: its event is read from the import's columns when asked for, never kept as an object. */
class EventRecord implements CaptureRecord {
  index = 0;
  findings: Finding[] = NO_FINDINGS;

  constructor(
    private readonly events: CaptureEvents,
    readonly eventIndex: number,
    readonly line: number,
    readonly endLine: number,
    readonly kind: string,
    readonly name: string,
    readonly device: string | undefined,
  ) {}

  get event(): CaptureEvent {
    return this.events.at(this.eventIndex);
  }
}

/** Records between snapshots at most (fewer for small captures: at most SNAPSHOTS snapshots). */
const SNAPSHOT_EVERY = 256;
const SNAPSHOTS = 512;

function firstLine(f: Finding): number {
  return typeof f.startLine === 'number' ? Math.min(f.startLine, f.line) : f.line;
}

function lastLine(f: { line: number; endLine?: number }): number {
  return typeof f.endLine === 'number' ? Math.max(f.endLine, f.line) : f.line;
}

/** The records of an import result (with its events kept), in line order. */
export function captureRecords(result: ImportResult): CaptureRecord[] {
  // Events come in line order; the findings the kernel printed are fewer: they are merged in, not sorted with them.
  const evs = result.events;
  const names = new Map<string, string>();
  const events: CaptureRecord[] = [];
  for (let i = 0; i < evs.length; i++) {
    const kind = evs.kindAt(i);
    const system = evs.systemAt(i);
    let name = names.get(kind);
    if (name === undefined || !name.startsWith(system + ':')) {
      name = `${system}:${kind}`;
      names.set(kind, name);
    }
    const line = evs.lineAt(i);
    events.push(new EventRecord(evs, i, line, Math.max(evs.endLineAt(i) ?? line, line), kind, name, evs.deviceAt(i)));
  }
  if (!events.every((r, i) => i === 0 || events[i - 1].line <= r.line)) events.sort((a, b) => a.line - b.line);
  const others: CaptureRecord[] = [];
  const checks: Finding[] = [];
  for (const f of result.findings) {
    if (f.source === 'replay') {
      checks.push(f);
      continue;
    }
    const device = typeof f.device === 'string' ? f.device : undefined;
    // A tracepoint that is also a finding (iommu:io_page_fault) is one record.
    const same = events[lastAtOrBefore(events, f.line)];
    if (same !== undefined && same.line === f.line) addFinding(same, f);
    else others.push({ index: 0, line: firstLine(f), endLine: lastLine(f), kind: f.kind, name: f.kind, device, findings: [f] });
    const repeats = Array.isArray(f.repeat_lines) ? (f.repeat_lines as unknown[]).filter((l): l is number => Number.isSafeInteger(l)) : [];
    for (const l of repeats) others.push({ index: 0, line: l, endLine: l, kind: f.kind, name: f.kind, device, findings: [f], repeatOf: f.line });
  }
  others.sort((a, b) => a.line - b.line);
  const out: CaptureRecord[] = [];
  let j = 0;
  for (const r of events) {
    while (j < others.length && others[j].line < r.line) out.push(others[j++]);
    out.push(r);
  }
  while (j < others.length) out.push(others[j++]);
  out.forEach((r, i) => (r.index = i));
  for (const f of checks) {
    // A leak is only known at the end of the capture; the other checks belong to the line that broke the rule.
    let k = f.kind === 'leak' ? out.length - 1 : lastAtOrBefore(out, f.line);
    // The first record of that line (an event before a finding printed on the same line).
    while (k > 0 && f.kind !== 'leak' && out[k - 1].line === out[k].line) k--;
    const at = out[k] ?? out[0];
    if (at !== undefined) addFinding(at, f);
  }
  return out;
}

/** Index of the last record starting at or before `line` (-1 when none does). */
function lastAtOrBefore(records: readonly CaptureRecord[], line: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (records[mid].line <= line) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Replay state right after each record, restored from snapshots. */
export class CaptureTimeline {
  readonly records: CaptureRecord[];
  readonly every: number;
  private readonly snapshots: CaptureReplay[] = [];
  private cache: { k: number; state: CaptureReplay } | undefined;

  constructor(readonly result: ImportResult) {
    this.records = captureRecords(result);
    this.every = Math.max(SNAPSHOT_EVERY, Math.ceil(this.records.length / SNAPSHOTS));
    // One timeline point per device: the debugger shows the state, not the file's curve.
    const replay = new CaptureReplay(Math.max(1, result.lines, TIMELINE_POINTS));
    for (let k = 0; k < this.records.length; k++) {
      if (k % this.every === 0) this.snapshots.push(replay.clone());
      const ev = this.records[k].eventIndex;
      if (ev !== undefined) replay.apply(result.events, ev);
    }
  }

  get length(): number {
    return this.records.length;
  }

  /** The replay right after record k (before the first record for k = -1). Do not change it. */
  stateAt(k: number): CaptureReplay {
    const at = Math.max(-1, Math.min(k, this.records.length - 1));
    if (this.cache?.k === at) return this.cache.state;
    const s = Math.floor((at + 1) / this.every);
    const snap = this.snapshots[Math.min(s, this.snapshots.length - 1)];
    const state = snap === undefined ? new CaptureReplay() : snap.clone();
    for (let j = Math.min(s, this.snapshots.length - 1) * this.every; j <= at; j++) {
      const ev = this.records[j].eventIndex;
      if (ev !== undefined) state.apply(this.result.events, ev);
    }
    this.cache = { k: at, state };
    return state;
  }

  /** The record covering `line`, or else the first one after it. */
  recordAtOrAfter(line: number): CaptureRecord | undefined {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.records[mid].endLine < line) lo = mid + 1;
      else hi = mid;
    }
    return this.records[lo];
  }

  /** Findings up to record k (the end-of-capture leak findings only at the last record). */
  findingsUpTo(k: number): Finding[] {
    const out: Finding[] = [];
    for (let j = 0; j <= k && j < this.records.length; j++) for (const f of this.records[j].findings) if (this.records[j].repeatOf === undefined) out.push(f);
    return out;
  }
}

/** Live mappings of a replayed device (or IOVA space), by address. */
export function liveMappings(d: DeviceState): LiveMapping[] {
  const all: LiveMapping[] = [];
  for (const list of d.live.values()) all.push(...list);
  return all.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.line - b.line));
}

/** Ranges unmapped so far, the latest first: where a fault after unmap points. */
export function unmappedRanges(d: DeviceState, max: number): { start: bigint; end: bigint; mapLine: number; unmapLine: number; dir?: string; event: string }[] {
  return [...d.unmapped.values()].sort((a, b) => b.unmapLine - a.unmapLine).slice(0, max);
}
