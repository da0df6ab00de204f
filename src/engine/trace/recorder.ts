// The trace recorder: every API call and internal step of the engine is an
// event here, tagged with the scenario statement (line and column) that caused
// it. Kernel functions are `call` events closed by a `return` event (which
// carries the return value), so a debugger rebuilds the call stack at any
// event; tracepoints (`iommu:map`, `dma:dma_map_phys`, ...) and engine-only
// steps (`engine:*`) are `point` events. Checks (dma-debug style findings),
// IO page faults and kernel log lines are recorded alongside so every
// consumer reads one run result.
//
// Storage is columnar (event-table.ts): an event is one 32-bit id into a table
// of distinct records (kind, name, fields, position, depth, distance to its
// match), kept in a column that stores repeated runs of ids once (id-column.ts),
// so a loop that repeats the same steps costs well under a byte an event, and
// event objects are built only when a consumer asks for one.

import { CLONE } from '../snapshot';
import { EventRecord, EventTable } from './event-table';
import { IdColumn } from './id-column';
import { NO_KEYS, RET_KEYS, type FieldKeys, type TraceSite } from './trace-site';

export type { FieldKeys, TraceSite } from './trace-site';
export { traceReturnSite, traceSite } from './trace-site';

export type FieldValue = string | number | boolean | bigint;
export type Fields = Record<string, FieldValue>;

export type EventKind = 'call' | 'return' | 'point';

export interface TraceEvent {
  seq: number;
  kind: EventKind;
  /** Kernel function name (call/return), tracepoint `subsystem:event`, or `engine:*`. */
  name: string;
  /** Call: its arguments. Point: the tracepoint's fields. Return: `{ ret }` when the call returned a value. */
  fields: Fields;
  /** Scenario line (1-based; 0 = before any statement) and column of the statement that caused it. */
  line: number;
  column: number;
  depth: number;
  /** Call: seq of its return (-1 while still open). Return: seq of its call. Point: -1. */
  match: number;
}

/**
 * Thrown by the recorder when a replay reaches the event it was asked to stop
 * after (ScenarioTimeline.stateAt): it unwinds the emulated kernel call chain
 * without recording anything more. Not an Error, so no engine catch takes it for one.
 */
export class ReplayStop {
  constructor(readonly seq: number) {}
}

export type Severity = 'error' | 'warning' | 'info';

export interface Check {
  line: number;
  id: string;
  severity: Severity;
  message: string;
  /** Line of the statement that created the mapping/buffer involved, when known. */
  relatedLine?: number;
  seq: number;
  /** The memory the finding is about, when one access made it (the DMA sanitizer's findings): for panels to place it. */
  site?: CheckSite;
}

/** The bytes an access touched: physical, and the device and IOVA when a device made it. */
export interface CheckSite {
  phys: bigint;
  len: bigint;
  device?: string;
  iova?: bigint;
}

export type AccessKind = 'read' | 'write';

export interface Fault {
  line: number;
  device: string;
  addr: bigint;
  access: AccessKind;
  pasid: number | null;
  reason: string;
  seq: number;
}

export interface LogLine {
  line: number;
  seq: number;
  text: string;
}

export interface TraceLengths {
  events: number;
  checks: number;
  faults: number;
  log: number;
}

export class TraceRecorder {
  /** Distinct event records, shared by this recorder, its clones and the recorders restored from its snapshots. */
  private table = new EventTable();
  /**
   * A restored recorder (ScenarioTimeline) reads its first `baseLength`
   * events from the whole run's column instead of copying them, and appends
   * its own after them: reaching an event of a million-event run copies nothing.
   */
  private base = new IdColumn();
  private baseLength = 0;
  /** Events recorded here, after the shared prefix (all of them when there is none). */
  private own = new IdColumn();
  checks: Check[] = [];
  faults: Fault[] = [];
  log: LogLine[] = [];
  /** Scenario line the current statement came from (1-based; 0 = setup), and its column. */
  line = 0;
  column = 0;
  depth = 0;
  /** When false only depth-0 events are kept (benchmarks of the bare engine). */
  detailed = true;
  /** Replay limit: after the event with this seq is recorded, ReplayStop unwinds the run. */
  stopAfter = Infinity;
  /** Seqs of the calls now open, innermost last (-1 for a call not kept when !detailed), save the innermost `unkept` ones. */
  private open = new Int32Array(16);
  /** By the same index as `open`: the record id each kept open call was recorded with (its return reads it instead of the column). */
  private openIds = new Int32Array(16);
  private openCount = 0;
  /**
   * Calls not kept (!detailed, below depth 0) open above the ones in `open`:
   * counted, not pushed, so entering and leaving one costs a count.
   */
  private unkept = 0;
  /** The values of the event being recorded by position (point/enterWith/leaveWith): no array or object per event. */
  private readonly vals: (FieldValue | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];

  /** Snapshot clone: the shared prefix and the record table stay shared (they only grow); the rest is copied. */
  [CLONE](): TraceRecorder {
    const copy = Object.assign(Object.create(TraceRecorder.prototype) as TraceRecorder, this);
    copy.own = this.own.copy();
    copy.open = this.open.slice();
    copy.openIds = this.openIds.slice();
    copy.checks = this.checks.slice();
    copy.faults = this.faults.slice();
    copy.log = this.log.slice();
    return copy;
  }

  get seq(): number {
    return this.baseLength + this.own.length;
  }

  /** Number of events recorded. */
  get length(): number {
    return this.baseLength + this.own.length;
  }

  private idAt(i: number): number {
    return i < this.baseLength ? this.base.get(i) : this.own.get(i - this.baseLength);
  }

  private recordAt(i: number): EventRecord {
    return this.table.records[this.idAt(i)];
  }

  /** Event i as an object (built on each call: keep what you need, or read single columns below). */
  eventAt(i: number): TraceEvent {
    const r = this.recordAt(i);
    return { seq: i, kind: r.kind, name: r.name, fields: r.fields, line: r.line, column: r.column, depth: r.depth, match: matchOf(r, i) };
  }

  /** Distinct event records so far (each repeated step is one, whatever the trace's length). */
  get distinctRecords(): number {
    return this.table.records.length;
  }

  /** Events from..to-1 as objects. */
  eventsIn(from: number, to: number): TraceEvent[] {
    const out: TraceEvent[] = [];
    const end = Math.min(to, this.length);
    for (let i = Math.max(0, from); i < end; i++) out.push(this.eventAt(i));
    return out;
  }

  nameAt(i: number): string {
    return this.recordAt(i).name;
  }

  kindAt(i: number): EventKind {
    return this.recordAt(i).kind;
  }

  lineAt(i: number): number {
    return this.recordAt(i).line;
  }

  depthAt(i: number): number {
    return this.recordAt(i).depth;
  }

  matchAt(i: number): number {
    return matchOf(this.recordAt(i), i);
  }

  /** Event i's fields (shared by every event with the same record: read, never change). */
  fieldsAt(i: number): Fields {
    return this.recordAt(i).fields;
  }

  /** Every event as objects, in a new array (a million-event run builds a million objects: prefer length and the column readers). */
  get events(): TraceEvent[] {
    return this.eventsIn(0, this.length);
  }

  /** Keeps the first n events (a replay stopped inside a statement), dropping the rest. */
  truncate(n: number): void {
    if (n < this.baseLength) {
      this.baseLength = n;
      this.own.truncate(0);
    } else this.own.truncate(Math.min(this.own.length, n - this.baseLength));
  }

  /** Records an event given as a fields object; its record's id. */
  private push(kind: EventKind, name: string, fields: Fields, delta: number): number {
    const seq = this.baseLength + this.own.length;
    if (seq > this.stopAfter) throw new ReplayStop(seq); // unwinding already: record nothing more
    const id = this.table.next(kind, name, fields, this.line, this.column, this.depth, delta);
    this.own.push(id);
    if (seq === this.stopAfter) throw new ReplayStop(seq);
    return id;
  }

  /** Records an event given as up to six values under a call site's `keys`: a loop's next step is recognised without copying them anywhere. Its record's id. */
  private pushArgs(kind: EventKind, name: string, keys: FieldKeys, delta: number, a?: FieldValue, b?: FieldValue, c?: FieldValue, d?: FieldValue, e?: FieldValue, f?: FieldValue): number {
    const seq = this.baseLength + this.own.length;
    if (seq > this.stopAfter) throw new ReplayStop(seq); // unwinding already: record nothing more
    const table = this.table;
    let id = table.guessArgs(kind, name, keys, this.line, this.column, this.depth, delta, a, b, c, d, e, f);
    if (id < 0) {
      this.setVals(a, b, c, d, e, f);
      id = table.nextValues(kind, name, keys, this.vals, keys.length, this.line, this.column, this.depth, delta);
    }
    this.own.push(id);
    if (seq === this.stopAfter) throw new ReplayStop(seq);
    return id;
  }

  /** pushArgs() for an event of `site`: a loop's next step is recognised by the site's identity and the values. */
  private pushSite(site: TraceSite, delta: number, a?: FieldValue, b?: FieldValue, c?: FieldValue, d?: FieldValue, e?: FieldValue, f?: FieldValue): number {
    const seq = this.baseLength + this.own.length;
    if (seq > this.stopAfter) throw new ReplayStop(seq); // unwinding already: record nothing more
    const table = this.table;
    let id = table.guessSite(site, this.line, this.column, this.depth, delta, a, b, c, d, e, f);
    if (id < 0) {
      this.setVals(a, b, c, d, e, f);
      id = table.nextSite(site, this.vals, this.line, this.column, this.depth, delta);
    }
    this.own.push(id);
    if (seq === this.stopAfter) throw new ReplayStop(seq);
    return id;
  }

  private setVals(a: FieldValue | undefined, b: FieldValue | undefined, c: FieldValue | undefined, d: FieldValue | undefined, e: FieldValue | undefined, f: FieldValue | undefined): void {
    const v = this.vals;
    v[0] = a;
    v[1] = b;
    v[2] = c;
    v[3] = d;
    v[4] = e;
    v[5] = f;
  }

  /**
   * emit() for a hot call site: the fields are up to six values under the
   * site's constant `keys` (one value per key, in order). Nothing is built
   * when the event is not kept, and a repeat builds no fields object.
   */
  point(name: string, keys: FieldKeys, a?: FieldValue, b?: FieldValue, c?: FieldValue, d?: FieldValue, e?: FieldValue, f?: FieldValue): void {
    if (!this.detailed && this.depth > 0) return;
    this.pushArgs('point', name, keys, 0, a, b, c, d, e, f);
  }

  /** point() at a site made once (traceSite('point', ...)): the values under the site's keys. */
  pointAt(site: TraceSite, a?: FieldValue, b?: FieldValue, c?: FieldValue, d?: FieldValue, e?: FieldValue, f?: FieldValue): void {
    if (!this.detailed && this.depth > 0) return;
    this.pushSite(site, 0, a, b, c, d, e, f);
  }

  /** enter() for a hot call site, its arguments as in point(). */
  enterWith(name: string, keys: FieldKeys, a?: FieldValue, b?: FieldValue, c?: FieldValue, d?: FieldValue, e?: FieldValue, f?: FieldValue): void {
    if (this.keeps()) {
      this.openCall();
      this.openIds[this.openCount - 1] = this.pushArgs('call', name, keys, 0, a, b, c, d, e, f);
    } else this.unkept++;
    this.depth++;
  }

  /**
   * Whether an event recorded now is kept. A hot call site tests it inline
   * and, when not, counts the call with enterUnkept()/leaveUnkept() (what
   * enterAt and leave would do) or skips a point, computing none of the
   * values: a call out of line costs more than the count.
   */
  keeps(): boolean {
    return this.detailed || this.depth === 0;
  }

  /** enterAt() of a call not kept (keeps() was false). */
  enterUnkept(): void {
    this.unkept++;
    this.depth++;
  }

  /** Whether the innermost open call is one not kept: leave() or leaveAt() would only count it (leaveUnkept). */
  leavesUnkept(): boolean {
    return this.unkept > 0;
  }

  /** leave() or leaveAt() of a call not kept (leavesUnkept() was true). */
  leaveUnkept(): void {
    this.unkept--;
    this.depth--;
  }

  /** enter() at a site made once (traceSite('call', ...)): the arguments under the site's keys. */
  enterAt(site: TraceSite, a?: FieldValue, b?: FieldValue, c?: FieldValue, d?: FieldValue, e?: FieldValue, f?: FieldValue): void {
    // Small, so it inlines into its callers: a call not kept costs two increments there.
    if (this.detailed || this.depth === 0) this.enterKept(site, a, b, c, d, e, f);
    else this.unkept++;
    this.depth++;
  }

  private enterKept(site: TraceSite, a?: FieldValue, b?: FieldValue, c?: FieldValue, d?: FieldValue, e?: FieldValue, f?: FieldValue): void {
    this.openCall();
    this.openIds[this.openCount - 1] = this.pushSite(site, 0, a, b, c, d, e, f);
  }

  /** leave() for a hot call site: the return event's fields (extra ones, then ret when there is one) as values under `keys`. */
  leaveWith(keys: FieldKeys, a?: FieldValue, b?: FieldValue): void {
    if (this.unkept > 0) {
      this.unkept--;
      this.depth--;
      return;
    }
    const callSeq = this.closeCall();
    if (callSeq < 0) return;
    this.pushArgs('return', this.closed.name, keys, this.seq - callSeq, a, b);
  }

  /** leaveWith() at a return site made once (traceReturnSite of the call's site). */
  leaveAt(site: TraceSite, a?: FieldValue, b?: FieldValue): void {
    if (this.unkept > 0) {
      this.unkept--;
      this.depth--;
    } else this.leaveAtKept(site, a, b);
  }

  private leaveAtKept(site: TraceSite, a?: FieldValue, b?: FieldValue): void {
    const callSeq = this.closeCall();
    if (callSeq < 0) return;
    const call = this.closed;
    // A call recorded from another site (or by name): its return by name, as leaveWith does.
    if (call.site !== null && call.site === site.call) this.pushSite(site, this.seq - callSeq, a, b);
    else this.pushArgs('return', call.name, site.keys, this.seq - callSeq, a, b);
  }

  /**
   * For a call entered with enter()/enterWith() whose body threw: closes it
   * as call() does (a replay stop unwinds without recording anything).
   */
  unwind(e: unknown): void {
    if (e instanceof ReplayStop) {
      this.depth--;
      this.popOpen();
    } else this.leave();
  }

  /** A tracepoint or an engine step. */
  emit(name: string, fields: Fields = NO_FIELDS): void {
    if (!this.detailed && this.depth > 0) return;
    this.push('point', name, fields, 0);
  }

  /** Enter a kernel function: a call event; the steps it takes nest under it until leave(). */
  enter(name: string, fields: Fields): void {
    if (this.keeps()) {
      this.openCall();
      this.openIds[this.openCount - 1] = this.push('call', name, fields, 0);
    } else this.unkept++;
    this.depth++;
  }

  /**
   * Leave the innermost kernel function, recording its return value when it
   * has one that fits a field, and `extra` fields the caller learnt on the way
   * (which path an allocation took).
   */
  leave(ret?: unknown, extra?: Fields): void {
    // Small, so it inlines into its callers, as enterAt().
    if (this.unkept > 0) {
      this.unkept--;
      this.depth--;
    } else this.leaveKept(ret, extra);
  }

  private leaveKept(ret: unknown, extra: Fields | undefined): void {
    const callSeq = this.closeCall();
    if (callSeq < 0) return;
    const call = this.closed;
    const delta = this.seq - callSeq;
    const valued = typeof ret === 'bigint' || typeof ret === 'number' || typeof ret === 'string' || typeof ret === 'boolean';
    if (extra) this.push('return', call.name, valued ? { ...extra, ret } : { ...extra }, delta);
    else if (call.site !== null) {
      if (valued) this.pushSite(call.site.valuedReturn ?? call.site.returnSite(true), delta, ret as FieldValue);
      else this.pushSite(call.site.bareReturn ?? call.site.returnSite(false), delta);
    } else if (valued) this.pushArgs('return', call.name, RET_KEYS, delta, ret as FieldValue);
    else this.pushArgs('return', call.name, NO_KEYS, delta);
  }

  /** The record (as opened) of the call closeCall() closed last. */
  private closed: EventRecord = NO_CALL;

  /** Opens a kept call at the next seq; the outermost one holds the column's ids from it on changeable. */
  private openCall(): void {
    // A call kept inside ones not kept (detailed turned on meanwhile): those take their place in `open` first.
    for (; this.unkept > 0; this.unkept--) this.pushOpen(-1);
    if (this.own.hold === Infinity) this.own.hold = this.own.length;
    this.pushOpen(this.baseLength + this.own.length);
  }

  private pushOpen(seq: number): void {
    if (this.openCount === this.open.length) {
      const open = new Int32Array(this.open.length * 2);
      open.set(this.open);
      this.open = open;
      const ids = new Int32Array(open.length);
      ids.set(this.openIds);
      this.openIds = ids;
    }
    this.open[this.openCount++] = seq;
  }

  /** Pops the innermost open call; when none is left open, the column may seal everything. */
  private popOpen(): number {
    if (this.unkept > 0) {
      this.unkept--;
      return -1;
    }
    if (this.openCount === 0) return -1;
    const seq = this.open[--this.openCount];
    if (this.openCount === 0) this.own.hold = Infinity;
    return seq;
  }

  /**
   * Pops the innermost open call (every caller has no call not kept open
   * above it: unkept is 0) and, when it was kept, records where its return
   * lands; its seq, or -1 when not kept.
   */
  private closeCall(): number {
    this.depth--;
    if (this.openCount === 0) return -1;
    const at = --this.openCount;
    const callSeq = this.open[at];
    if (at === 0) this.own.hold = Infinity;
    if (callSeq < 0) return -1;
    // No call is open at a snapshot, so an open call is always one of this recorder's own events.
    const call = this.table.records[this.openIds[at]];
    this.closed = call;
    this.own.set(callSeq - this.baseLength, this.table.withDelta(call, this.seq - callSeq));
    return callSeq;
  }

  /** Record a call and run `body` one level deeper, so the steps it takes nest under it. */
  call<T>(name: string, fields: Fields, body: () => T): T {
    this.enter(name, fields);
    let ret: T | undefined;
    let stopped = false;
    try {
      ret = body();
      return ret;
    } catch (e) {
      stopped = e instanceof ReplayStop;
      throw e;
    } finally {
      // A replay stop unwinds without recording; any other exit closes the call.
      if (stopped) {
        this.depth--;
        this.popOpen();
      } else this.leave(ret);
    }
  }

  check(id: string, severity: Severity, message: string, relatedLine?: number, site?: CheckSite): void {
    const c: Check = { line: this.line, id, severity, message, seq: this.seq };
    if (relatedLine !== undefined) c.relatedLine = relatedLine;
    if (site) c.site = site;
    this.checks.push(c);
    // A finding at an access also carries where it was, for trace breakpoint conditions (device, addr in ..).
    if (site) this.emit('engine:check', { id, severity, message, ...(site.device !== undefined ? { device: site.device } : {}), ...(site.iova !== undefined ? { iova: site.iova } : {}), phys: site.phys, len: Number(site.len) });
    else this.emit('engine:check', { id, severity, message });
  }

  fault(device: string, addr: bigint, access: AccessKind, pasid: number | null, reason: string): void {
    this.faults.push({ line: this.line, device, addr, access, pasid, reason, seq: this.seq });
  }

  printk(text: string): void {
    this.log.push({ line: this.line, seq: this.seq, text });
    this.emit('engine:printk', { text });
  }

  /** Counts events of one name so far (the language's events("...")); a call counts once, not again at its return. */
  count(name: string): number {
    const records = this.table.records;
    let n = 0;
    for (let i = 0, len = this.length; i < len; i++) {
      const r = records[this.idAt(i)];
      if (r.name === name && r.kind !== 'return') n++;
    }
    return n;
  }

  lengths(): TraceLengths {
    return { events: this.length, checks: this.checks.length, faults: this.faults.length, log: this.log.length };
  }

  /** Runs `body` with the recorded arrays set aside: snapshots clone state, not this append-only log. */
  withLogDetached<T>(body: () => T): T {
    const { base, baseLength, own, checks, faults, log } = this;
    this.base = new IdColumn();
    this.baseLength = 0;
    this.own = new IdColumn();
    this.checks = [];
    this.faults = [];
    this.log = [];
    try {
      return body();
    } finally {
      Object.assign(this, { base, baseLength, own, checks, faults, log });
    }
  }

  /** After a restore: this recorder's log becomes the first `lengths` entries of `full`'s (events shared, not copied). */
  adoptPrefix(full: TraceRecorder, lengths: TraceLengths): void {
    // Snapshots are taken between statements, where no call is open: the shared prefix needs no fix-up.
    full.foldPrefix();
    this.table = full.table;
    this.base = full.own;
    this.baseLength = lengths.events;
    this.own = new IdColumn();
    this.checks = full.checks.slice(0, lengths.checks);
    this.faults = full.faults.slice(0, lengths.faults);
    this.log = full.log.slice(0, lengths.log);
  }

  /** A recorder with a shared prefix copies it into its own column (a full run has none; this is for one that had). */
  private foldPrefix(): void {
    if (this.baseLength === 0) return;
    const own = new IdColumn();
    for (let i = 0; i < this.baseLength; i++) own.push(this.base.get(i));
    for (let i = 0; i < this.own.length; i++) own.push(this.own.get(i));
    this.own = own;
    this.base = new IdColumn();
    this.baseLength = 0;
  }
}

/** The fields of an event that has none (shared: records never change their fields). */
const NO_FIELDS: Fields = Object.freeze({}) as Fields;

/** What `closed` holds before any call closed. */
const NO_CALL = new EventRecord('call', '', NO_FIELDS, 0, 0, 0, 0, 0);


function matchOf(r: EventRecord, seq: number): number {
  if (r.delta === 0) return -1;
  return r.kind === 'return' ? seq - r.delta : seq + r.delta;
}
