// What the IOVA map host sends on each step: the whole state the first time
// (and after a reload, a domain change, or when the webview lost track), and
// afterwards only the rows of the packed columns that changed since the state
// the webview holds: the rows dropped and the rows put in, everything else
// kept in order. A debug step that maps one range out of 100,000 then crosses
// postMessage as a few dozen bytes of columns instead of megabytes. The
// small parts of the model (the change, findings, holes, flush queue) go
// whole. Each message carries a sequence number, a delta the number of the
// state it applies to: the webview applies it only to that state and asks
// for the whole state again otherwise (iovaMap/resync). Plain data, no
// vscode, no DOM: the host and the webview bundle both use it.

import { physOrderOf, type IovaMapModel, type PackedAllocations, type PackedRanges } from './iova-map-model';
import type { IovaMapState, IovaMapToWebview } from '../protocol';

/** Rows changed between two packed column sets of the same kind: `removed` old row indices, `at` the new indices of the rows in `rows` (both ascending). */
export interface RowsDelta<Rows> {
  /** Rows after the change. */
  count: number;
  removed: Uint32Array;
  at: Uint32Array;
  rows: Rows;
}

/** The added rows of the ranges' columns (prot indexes the new `protNames`; physOrder is rebuilt, not sent). */
export type RangeRows = Omit<PackedRanges, 'physOrder' | 'count'>;
export type AllocationRows = Omit<PackedAllocations, 'count'>;

/** Lists of the model that a delta leaves out when they are the same as in the held model (up to LISTED_MAX entries each, messages included). */
export const KEPT_LISTS = ['findings', 'sanitizer', 'flushQueue', 'rcache', 'largestHoles', 'change'] as const;
export type KeptList = typeof KEPT_LISTS[number];

export type IovaMapModelDelta = Omit<IovaMapModel, 'ranges' | 'allocations' | KeptList> & Partial<Pick<IovaMapModel, KeptList>> & {
  ranges: RowsDelta<RangeRows>;
  allocations: RowsDelta<AllocationRows>;
  /** Lists left out: the held model's are right. */
  kept: KeptList[];
};
export type IovaMapStateDelta = Omit<IovaMapState, 'model'> & { model: IovaMapModelDelta };

type Column = Uint32Array | Uint16Array | Uint8Array;

/** Per column: its name in the rows object and how many entries a row takes. */
const RANGE_COLUMNS: readonly [keyof RangeRows & string, number][] = [['start', 2], ['end', 2], ['phys', 2], ['key', 1], ['prot', 1], ['line', 1], ['exposed', 1]];
const ALLOCATION_COLUMNS: readonly [keyof AllocationRows & string, number][] = [['start', 2], ['end', 2], ['pages', 1], ['cached', 1]];

const startAt = (c: Uint32Array, i: number): number => c[2 * i] * 4294967296 + c[2 * i + 1];

/**
 * The edit from old rows to new rows, both sorted by start: a merge by start
 * where a row equal in every column is kept, anything else is one row removed
 * and/or one put in. Undefined once the edit passes `limit` rows.
 */
function editOf(oldN: number, newN: number, oldStart: Uint32Array, newStart: Uint32Array, same: (i: number, j: number) => boolean, limit: number): { removed: number[]; added: number[] } | undefined {
  const removed: number[] = [];
  const added: number[] = [];
  let i = 0;
  let j = 0;
  while (i < oldN || j < newN) {
    if (removed.length + added.length > limit) return undefined;
    const a = i < oldN ? startAt(oldStart, i) : Infinity;
    const b = j < newN ? startAt(newStart, j) : Infinity;
    if (a === b) {
      if (!same(i, j)) { removed.push(i); added.push(j); }
      i++; j++;
    } else if (a < b) removed.push(i++);
    else added.push(j++);
  }
  return removed.length + added.length > limit ? undefined : { removed, added };
}

function pickRows<R extends object>(from: R, columns: readonly [string, number][], rows: readonly number[]): R {
  const out: Record<string, Column> = {};
  const src = from as unknown as Record<string, Column>;
  for (const [name, width] of columns) {
    const col = src[name];
    const picked = new (col.constructor as new (n: number) => Column)(rows.length * width);
    rows.forEach((r, k) => { for (let w = 0; w < width; w++) picked[k * width + w] = col[r * width + w]; });
    out[name] = picked;
  }
  return out as unknown as R;
}

/**
 * The delta from the model the webview holds to `next`, or undefined when it
 * should get `next` whole: another domain, or a change of more than a quarter
 * of the rows and more than 16 (the delta would be as big as the columns).
 */
export function modelDelta(held: IovaMapModel, next: IovaMapModel): IovaMapModelDelta | undefined {
  if (held.domain !== next.domain) return undefined;
  // Past a quarter of the rows the delta is about as big as the columns (a few rows either way cost nothing: small domains get deltas too).
  const limit = (rows: number): number => Math.max(16, Math.floor(rows / 4));
  const hr = held.ranges;
  const nr = next.ranges;
  const sameRange = (i: number, j: number): boolean => hr.end[2 * i] === nr.end[2 * j] && hr.end[2 * i + 1] === nr.end[2 * j + 1]
    && hr.phys[2 * i] === nr.phys[2 * j] && hr.phys[2 * i + 1] === nr.phys[2 * j + 1] && hr.key[i] === nr.key[j] && hr.line[i] === nr.line[j]
    && hr.exposed[i] === nr.exposed[j] && hr.protNames[hr.prot[i]] === nr.protNames[nr.prot[j]];
  const ranges = editOf(hr.count, nr.count, hr.start, nr.start, sameRange, limit(Math.max(hr.count, nr.count)));
  if (!ranges) return undefined;
  const ha = held.allocations;
  const na = next.allocations;
  const sameAllocation = (i: number, j: number): boolean => ha.end[2 * i] === na.end[2 * j] && ha.end[2 * i + 1] === na.end[2 * j + 1] && ha.pages[i] === na.pages[j] && ha.cached[i] === na.cached[j];
  const allocations = editOf(ha.count, na.count, ha.start, na.start, sameAllocation, limit(Math.max(ha.count, na.count)));
  if (!allocations) return undefined;
  const { ranges: _r, allocations: _a, ...rest } = next;
  const kept: KeptList[] = [];
  const lists: Partial<Pick<IovaMapModel, KeptList>> = rest;
  for (const k of KEPT_LISTS) {
    if (JSON.stringify(held[k]) !== JSON.stringify(next[k])) continue;
    kept.push(k);
    delete lists[k];
  }
  return {
    ...rest,
    kept,
    ranges: { count: nr.count, removed: Uint32Array.from(ranges.removed), at: Uint32Array.from(ranges.added), rows: { ...pickRows(nr, RANGE_COLUMNS, ranges.added), protNames: [...nr.protNames] } },
    allocations: { count: na.count, removed: Uint32Array.from(allocations.removed), at: Uint32Array.from(allocations.added), rows: pickRows(na, ALLOCATION_COLUMNS, allocations.added) },
  };
}

/** For each new row: the old row it keeps (>= 0) or -1 - k for the k-th added row; undefined when the delta does not fit `oldCount`. */
function rowSources(oldCount: number, d: RowsDelta<unknown>): Int32Array | undefined {
  const { count, removed, at } = d;
  if (!(removed instanceof Uint32Array) || !(at instanceof Uint32Array) || !Number.isSafeInteger(count) || count < 0) return undefined;
  if (count !== oldCount - removed.length + at.length || count > 1 << 28) return undefined;
  const src = new Int32Array(count);
  let r = 0;
  let a = 0;
  let i = 0;
  for (let k = 0; k < count; k++) {
    if (a < at.length && at[a] === k) {
      if (a > 0 && at[a - 1] >= k) return undefined;
      src[k] = -1 - a++;
      continue;
    }
    while (r < removed.length && removed[r] === i) {
      if (r > 0 && removed[r - 1] >= removed[r]) return undefined;
      r++; i++;
    }
    if (i >= oldCount) return undefined;
    src[k] = i++;
  }
  // Every removed and added row used, in ascending order.
  while (r < removed.length && removed[r] === i) { r++; i++; }
  return a === at.length && r === removed.length && i === oldCount ? src : undefined;
}

function applyColumns<R extends object>(old: R, rows: R, columns: readonly [string, number][], src: Int32Array, added: number): R | undefined {
  const out: Record<string, Column> = {};
  const o = old as unknown as Record<string, Column>;
  const n = rows as unknown as Record<string, unknown>;
  for (const [name, width] of columns) {
    const from = o[name];
    const put = n[name];
    if (!ArrayBuffer.isView(put) || put.constructor !== from.constructor || (put as Column).length !== added * width) return undefined;
    const col = new (from.constructor as new (len: number) => Column)(src.length * width);
    for (let k = 0; k < src.length; k++) {
      const s = src[k];
      const [c, i] = s >= 0 ? [from, s] : [put as Column, -1 - s];
      for (let w = 0; w < width; w++) col[k * width + w] = c[i * width + w];
    }
    out[name] = col;
  }
  return out as unknown as R;
}

/** `held` with `delta` applied: the model the host built, identical column by column; undefined when the delta does not fit `held` (never throws). */
export function applyModelDelta(held: IovaMapModel, delta: IovaMapModelDelta): IovaMapModel | undefined {
  try {
    if (held.domain !== delta.domain) return undefined;
    const dr = delta.ranges;
    const src = rowSources(held.ranges.count, dr);
    const protNames = dr?.rows?.protNames;
    if (!src || !Array.isArray(protNames) || !protNames.every((p) => typeof p === 'string')) return undefined;
    const cols = applyColumns(held.ranges, dr.rows, RANGE_COLUMNS, src, dr.at.length);
    if (!cols) return undefined;
    // Kept rows index the held protNames: the same prot string in the new list.
    const newIndex = new Map(protNames.map((p, i) => [p, i]));
    const remap = held.ranges.protNames.map((p) => newIndex.get(p) ?? -1);
    for (let k = 0; k < src.length; k++) {
      const pi = src[k] >= 0 ? remap[cols.prot[k]] : cols.prot[k];
      if (pi === undefined || pi < 0 || pi >= protNames.length) return undefined;
      cols.prot[k] = pi;
    }
    const ranges: PackedRanges = { count: src.length, ...cols, protNames: [...protNames], physOrder: new Uint32Array(0) };
    ranges.physOrder = physOrderOf(ranges);
    const da = delta.allocations;
    const asrc = rowSources(held.allocations.count, da);
    const acols = asrc && applyColumns(held.allocations, da.rows, ALLOCATION_COLUMNS, asrc, da.at.length);
    if (!asrc || !acols) return undefined;
    const kept = delta.kept;
    if (!Array.isArray(kept) || !kept.every((k) => (KEPT_LISTS as readonly unknown[]).includes(k))) return undefined;
    const { ranges: _r, allocations: _a, kept: _k, ...rest } = delta;
    const lists: Partial<Pick<IovaMapModel, KeptList>> = {};
    for (const k of KEPT_LISTS) {
      const v = kept.includes(k) ? held[k] : delta[k];
      if (!Array.isArray(v)) return undefined;
      Object.assign(lists, { [k]: v });
    }
    return { ...rest, ...lists as Pick<IovaMapModel, KeptList>, ranges, allocations: { count: asrc.length, ...acols } };
  } catch {
    return undefined;
  }
}

/**
 * The host's side: turns each state into the message to post, whole or as
 * a delta from the last state posted. `whole()` posts the last state whole
 * again (the webview (re)loaded or asked for it).
 */
export class IovaMapStateSender {
  private seq = 0;
  private held: { seq: number; model: IovaMapModel | null } | undefined;
  private last: IovaMapState | undefined;

  next(state: IovaMapState): IovaMapToWebview {
    this.last = state;
    const base = this.held;
    const seq = ++this.seq;
    this.held = { seq, model: state.model };
    const delta = base?.model && state.model ? modelDelta(base.model, state.model) : undefined;
    if (!base || !delta) return { type: 'iovaMap/state', state, seq };
    return { type: 'iovaMap/delta', seq, base: base.seq, state: { ...state, model: delta } };
  }

  /** The last state whole (undefined before the first). */
  whole(): IovaMapToWebview | undefined {
    if (!this.last) return undefined;
    const seq = ++this.seq;
    this.held = { seq, model: this.last.model };
    return { type: 'iovaMap/state', state: this.last, seq };
  }

  /** The webview holds nothing (it reloaded): the next state goes whole. */
  forget(): void {
    this.held = undefined;
  }
}

/** The webview's side: the whole state from a message, or 'resync' when a delta does not apply to the state it holds. */
export class IovaMapStateReceiver {
  private held: { seq: number | undefined; state: IovaMapState } | undefined;

  /** The number of the state held (null: none, or one without a number). */
  heldSeq(): number | null {
    return this.held?.seq ?? null;
  }

  receive(m: Extract<IovaMapToWebview, { type: 'iovaMap/state' | 'iovaMap/delta' }>): IovaMapState | 'resync' {
    if (m.type === 'iovaMap/state') {
      this.held = { seq: m.seq, state: m.state };
      return m.state;
    }
    const held = this.held;
    if (!held || held.seq === undefined || held.seq !== m.base || !held.state.model) return 'resync';
    const model = applyModelDelta(held.state.model, m.state.model);
    if (!model) return 'resync';
    const state: IovaMapState = { ...m.state, model };
    this.held = { seq: m.seq, state };
    return state;
  }
}
