// The trace's distinct events. An event is a 32-bit id in a column
// (id-column.ts); the id names a record in a table of distinct records: kind,
// name, fields, scenario position, depth and the distance to its matching
// call/return. A run repeats the same steps again and again (a driver loop),
// so most events reuse a record: the trace costs one record per distinct step
// plus what the column keeps of the ids. Records are interned by a hash of their contents; their
// fields objects are the ones the first such event passed, never changed.

import type { EventKind, FieldValue, Fields } from './recorder';
import type { FieldKeys, TraceSite } from './trace-site';

export type { FieldKeys } from './trace-site';

/** A distinct event: given a fields object (the generic emit/enter/leave path). */
export class EventRecord {
  /** Next record in the same hash bucket (-1: none). */
  next = -1;
  /** The last record this call record was closed into (withDelta), to skip hashing again. */
  closedDelta = -1;
  closedId = -1;
  /** The record the recorder pushed after this one last time (-1: none): a loop's next event, tried before any lookup. */
  succ = -1;
  /** The call site whose events this record is (kind, name and keys the site's), once one recorded it; null before. */
  site: TraceSite | null = null;

  constructor(
    readonly kind: EventKind,
    readonly name: string,
    /** The fields object (a ValuesRecord's: null until first read). */
    protected obj: Fields | null,
    readonly line: number,
    readonly column: number,
    readonly depth: number,
    /** Call: events to its return (0 while open). Return: events back to its call. Point: 0. */
    readonly delta: number,
    readonly hash: number,
  ) {}

  /** The event's fields (shared by every event of this record: read, never change). */
  get fields(): Fields {
    return this.obj ?? NO_FIELDS_OBJECT;
  }

  /** The same contents under a new delta (withDelta); `scratch` holds a ValuesRecord's values on the way. */
  reinternInto(table: EventTable, delta: number, _scratch: (FieldValue | undefined)[]): number {
    return table.intern(this.kind, this.name, this.fields, this.line, this.column, this.depth, delta);
  }

  /** The same fields as a fields object, by key order and value. */
  sameAs(fields: Fields, scratch: string[]): boolean {
    const obj = this.obj;
    return obj === fields || (obj !== null && sameFields(obj, fields, scratch));
  }

  /** The same fields as the values a..f under the same call site's `keys` (a record given a fields object: never, the caller looks it up instead). */
  sameArgs(_keys: FieldKeys, _a: FieldValue | undefined, _b: FieldValue | undefined, _c: FieldValue | undefined, _d: FieldValue | undefined, _e: FieldValue | undefined, _f: FieldValue | undefined): boolean {
    return false;
  }

  /** The same fields as `n` values by position under `keys`. */
  sameAsValues(keys: FieldKeys, vals: readonly (FieldValue | undefined)[], n: number): boolean {
    const obj = this.obj;
    if (obj === null) return false;
    let i = 0;
    for (const k in obj) {
      if (i >= n || keys[i] !== k || obj[k] !== vals[i]) return false;
      i++;
    }
    return i === n;
  }
}

/** Most values an event given by position carries (point and enterWith take six). */
const MAX_VALUES = 6;

/**
 * A distinct event given as values under a call site's constant keys: the
 * values live in the record itself (no array or fields object a record; the
 * fields object is built when first read), compared by position. Records
 * given a fields object stay the smaller EventRecord.
 */
export class ValuesRecord extends EventRecord {
  readonly keys: FieldKeys;
  private readonly v0: FieldValue | undefined;
  private readonly v1: FieldValue | undefined;
  private readonly v2: FieldValue | undefined;
  private readonly v3: FieldValue | undefined;
  private readonly v4: FieldValue | undefined;
  private readonly v5: FieldValue | undefined;

  constructor(kind: EventKind, name: string, keys: FieldKeys, vals: readonly (FieldValue | undefined)[], line: number, column: number, depth: number, delta: number, hash: number) {
    super(kind, name, null, line, column, depth, delta, hash);
    this.keys = keys;
    const n = keys.length;
    this.v0 = n > 0 ? vals[0] : undefined;
    this.v1 = n > 1 ? vals[1] : undefined;
    this.v2 = n > 2 ? vals[2] : undefined;
    this.v3 = n > 3 ? vals[3] : undefined;
    this.v4 = n > 4 ? vals[4] : undefined;
    this.v5 = n > 5 ? vals[5] : undefined;
  }

  private val(i: number): FieldValue | undefined {
    switch (i) {
      case 0: return this.v0;
      case 1: return this.v1;
      case 2: return this.v2;
      case 3: return this.v3;
      case 4: return this.v4;
      default: return this.v5;
    }
  }

  override get fields(): Fields {
    if (this.obj !== null) return this.obj;
    const keys = this.keys;
    const f: Fields = {};
    for (let i = 0; i < keys.length; i++) f[keys[i]] = this.val(i) as FieldValue;
    this.obj = f;
    return f;
  }

  override reinternInto(table: EventTable, delta: number, scratch: (FieldValue | undefined)[]): number {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) scratch[i] = this.val(i);
    return table.internValues(this.kind, this.name, keys, scratch, keys.length, this.line, this.column, this.depth, delta);
  }

  override sameAs(fields: Fields): boolean {
    if (this.obj === fields) return true;
    const keys = this.keys;
    let i = 0;
    for (const k in fields) {
      if (i >= keys.length || keys[i] !== k || this.val(i) !== fields[k]) return false;
      i++;
    }
    return i === keys.length;
  }

  override sameArgs(keys: FieldKeys, a: FieldValue | undefined, b: FieldValue | undefined, c: FieldValue | undefined, d: FieldValue | undefined, e: FieldValue | undefined, f: FieldValue | undefined): boolean {
    // Positions past the keys hold undefined here, and a call site passes nothing there.
    return this.keys === keys && this.v0 === a && this.v1 === b && this.v2 === c && this.v3 === d && this.v4 === e && this.v5 === f;
  }

  /** The same values as a..f by position (the caller knows the keys are the same: its site's). */
  sameValues(a: FieldValue | undefined, b: FieldValue | undefined, c: FieldValue | undefined, d: FieldValue | undefined, e: FieldValue | undefined, f: FieldValue | undefined): boolean {
    return this.v0 === a && this.v1 === b && this.v2 === c && this.v3 === d && this.v4 === e && this.v5 === f;
  }

  override sameAsValues(keys: FieldKeys, vals: readonly (FieldValue | undefined)[], n: number): boolean {
    if (this.keys === keys) {
      // The same call site's keys: n values, compared unrolled.
      if (n > 0 && this.v0 !== vals[0]) return false;
      if (n > 1 && this.v1 !== vals[1]) return false;
      if (n > 2 && this.v2 !== vals[2]) return false;
      if (n > 3 && this.v3 !== vals[3]) return false;
      if (n > 4 && this.v4 !== vals[4]) return false;
      return n <= 5 || this.v5 === vals[5];
    }
    if (this.keys.length !== n) return false;
    for (let i = 0; i < n; i++) if (this.keys[i] !== keys[i] || this.val(i) !== vals[i]) return false;
    return true;
  }
}

/** The fields of a record given none. */
const NO_FIELDS_OBJECT: Fields = Object.freeze({}) as Fields;

function mix(h: number, v: number): number {
  const x = Math.imul(h ^ v, 0x9e3779b1);
  return x ^ (x >>> 16);
}

/** murmur3's finaliser: every input bit reaches the low bits that pick the bucket. */
function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hashString(h: number, s: string): number {
  h = mix(h, s.length);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

function hashValue(h: number, v: FieldValue): number {
  switch (typeof v) {
    case 'number':
      return mix(mix(h, v | 0), (v / 4294967296) | 0);
    case 'bigint': {
      const n = Number(v); // lossy above 2^53: only the hash, equality compares the bigint
      return mix(mix(h ^ 0x5bd1e995, n | 0), (n / 4294967296) | 0);
    }
    case 'string':
      return hashString(h, v);
    default:
      return mix(h, v ? 0x2545f491 : 0x68e31da4);
  }
}

const KIND_CODE: Record<EventKind, number> = { call: 1, return: 2, point: 3 };

interface NameInfo {
  hash: number;
  /** By KIND_CODE: the id of the last record of that kind with this name (-1: none yet). */
  last: number[];
  /** Records of this name looked up in the current window, and how many of them existed already. */
  tries: number;
  hits: number;
  /** Records still to add without looking them up (this name's events rarely repeat: hashing them costs more than it saves). */
  unhashed: number;
}

/** Lookups a name's hit rate is judged on. */
const HIT_WINDOW = 128;
/** Records a rarely repeating name adds without a lookup before it is tried again. */
const UNHASHED_RUN = 2048;

/** A new record's values: one for every key, at most MAX_VALUES (a call site passing fewer or more is a bug). */
function checkValues(name: string, keys: FieldKeys, vals: readonly (FieldValue | undefined)[], n: number): readonly (FieldValue | undefined)[] {
  if (n !== keys.length || n > MAX_VALUES) throw new Error(`trace: ${name} has ${keys.length} field names and ${n} values (at most ${MAX_VALUES})`);
  for (let i = 0; i < n; i++) if (vals[i] === undefined) throw new Error(`trace: ${name}'s field ${keys[i]} has no value`);
  return vals;
}

/** Field objects with the same keys in the same order and the same values. */
function sameFields(a: Fields, b: Fields, keys: string[]): boolean {
  if (a === b) return true;
  // Values first (most differences end here), then the same keys in the same order.
  for (const k in a) if (a[k] !== b[k]) return false;
  keys.length = 0;
  for (const k in a) keys.push(k);
  let i = 0;
  for (const k in b) if (keys[i++] !== k) return false;
  return i === keys.length;
}

/** The distinct records of a trace, interned by content. Append-only: ids never change meaning. */
export class EventTable {
  readonly records: EventRecord[] = [];
  private buckets = new Int32Array(1024).fill(-1);
  /** Per name: its hash, and the last record of each kind with that name (a loop repeats it: compared before hashing). */
  private readonly names = new Map<string, NameInfo>();
  private readonly scratch: string[] = [];
  /** The values of a call record being closed under a new delta (reinternInto). */
  private readonly reVals: (FieldValue | undefined)[] = [];

  /** The record the recorder pushed last (next/nextValues), whose successor is tried first. */
  private prevId = -1;

  /** intern() for the recorder's next event: first tried against the record that followed the previous one last time. */
  next(kind: EventKind, name: string, fields: Fields, line: number, column: number, depth: number, delta: number): number {
    const prev = this.prevId;
    if (prev >= 0) {
      const guess = this.records[prev].succ;
      if (guess >= 0) {
        const r = this.records[guess];
        if (r.name === name && r.kind === kind && r.line === line && r.column === column && r.depth === depth && r.delta === delta && r.sameAs(fields, this.scratch)) {
          this.prevId = guess;
          return guess;
        }
      }
    }
    const id = this.intern(kind, name, fields, line, column, depth, delta);
    if (prev >= 0) this.records[prev].succ = id;
    this.prevId = id;
    return id;
  }

  /**
   * The recorder's next event given as a call site's values, when it is the
   * record that followed the previous one last time (a loop's next step): its
   * id, or -1 (then nextValues looks it up).
   */
  guessArgs(kind: EventKind, name: string, keys: FieldKeys, line: number, column: number, depth: number, delta: number, a: FieldValue | undefined, b: FieldValue | undefined, c: FieldValue | undefined, d: FieldValue | undefined, e: FieldValue | undefined, f: FieldValue | undefined): number {
    const prev = this.prevId;
    if (prev < 0) return -1;
    const guess = this.records[prev].succ;
    if (guess < 0) return -1;
    const r = this.records[guess];
    if (r.name !== name || r.kind !== kind || r.line !== line || r.column !== column || r.depth !== depth || r.delta !== delta || !r.sameArgs(keys, a, b, c, d, e, f)) return -1;
    this.prevId = guess;
    return guess;
  }

  /**
   * guessArgs() for an event of `site`: a record carries its site once one
   * recorded it, so the site's identity stands for kind, name and keys.
   */
  guessSite(site: TraceSite, line: number, column: number, depth: number, delta: number, a: FieldValue | undefined, b: FieldValue | undefined, c: FieldValue | undefined, d: FieldValue | undefined, e: FieldValue | undefined, f: FieldValue | undefined): number {
    const prev = this.prevId;
    if (prev < 0) return -1;
    const records = this.records;
    const guess = records[prev].succ;
    if (guess < 0) return -1;
    const r = records[guess];
    // Only a ValuesRecord of these keys ever gets a site (nextSite).
    if (r.site !== site || r.line !== line || r.column !== column || r.depth !== depth || r.delta !== delta || !(r as ValuesRecord).sameValues(a, b, c, d, e, f)) return -1;
    this.prevId = guess;
    return guess;
  }

  /** nextValues() for an event of `site`'s, `vals` its values; the record found or added carries the site from then on. */
  nextSite(site: TraceSite, vals: readonly (FieldValue | undefined)[], line: number, column: number, depth: number, delta: number): number {
    const keys = site.keys;
    const id = this.nextValues(site.kind, site.name, keys, vals, keys.length, line, column, depth, delta);
    const r = this.records[id];
    if (r.site === null && r instanceof ValuesRecord && r.keys === keys) r.site = site;
    return id;
  }

  /** internValues() for the recorder's next event, tried first as next() does. */
  nextValues(kind: EventKind, name: string, keys: FieldKeys, vals: readonly (FieldValue | undefined)[], n: number, line: number, column: number, depth: number, delta: number): number {
    const prev = this.prevId;
    if (prev >= 0) {
      const guess = this.records[prev].succ;
      if (guess >= 0) {
        const r = this.records[guess];
        if (r.name === name && r.kind === kind && r.line === line && r.column === column && r.depth === depth && r.delta === delta && r.sameAsValues(keys, vals, n)) {
          this.prevId = guess;
          return guess;
        }
      }
    }
    const id = this.internValues(kind, name, keys, vals, n, line, column, depth, delta);
    if (prev >= 0) this.records[prev].succ = id;
    this.prevId = id;
    return id;
  }

  private nameInfo(name: string): NameInfo {
    let info = this.names.get(name);
    if (info === undefined) {
      info = { hash: hashString(0x811c9dc5, name), last: [-1, -1, -1, -1], tries: 0, hits: 0, unhashed: 0 };
      this.names.set(name, info);
    }
    return info;
  }

  /** The id of the record with these contents, added when it is new. */
  intern(kind: EventKind, name: string, fields: Fields, line: number, column: number, depth: number, delta: number): number {
    const info = this.nameInfo(name);
    const code = kind === 'call' ? 1 : kind === 'return' ? 2 : 3;
    const lastId = info.last[code];
    if (lastId >= 0 && info.unhashed === 0) {
      const r = this.records[lastId];
      if (r.line === line && r.column === column && r.depth === depth && r.delta === delta && r.sameAs(fields, this.scratch)) return lastId;
    }
    let id: number;
    if (info.unhashed > 0) {
      // Unique events (a scenario that maps a new buffer on every line): a record each, as a plain event list would.
      info.unhashed--;
      id = this.records.length;
      this.records.push(new EventRecord(kind, name, fields, line, column, depth, delta, 0));
    } else {
      let h = this.headHash(info, kind, line, column, depth, delta);
      for (const k in fields) h = hashValue(h, fields[k]);
      h = avalanche(h);
      id = this.findHashed(h, kind, name, line, column, depth, delta, fields, null, null, 0);
      if (id < 0) id = this.addHashed(new EventRecord(kind, name, fields, line, column, depth, delta, h));
      else info.hits++;
      this.judge(info);
    }
    info.last[code] = id;
    return id;
  }

  /**
   * intern() for fields given as `n` values by position under a call site's
   * constant keys: a repeat is compared without any fields object; only a new
   * record copies the values (its fields object is built when first read).
   */
  internValues(kind: EventKind, name: string, keys: FieldKeys, vals: readonly (FieldValue | undefined)[], n: number, line: number, column: number, depth: number, delta: number): number {
    const info = this.nameInfo(name);
    const code = kind === 'call' ? 1 : kind === 'return' ? 2 : 3;
    const lastId = info.last[code];
    if (lastId >= 0 && info.unhashed === 0) {
      const r = this.records[lastId];
      if (r.line === line && r.column === column && r.depth === depth && r.delta === delta && r.sameAsValues(keys, vals, n)) return lastId;
    }
    let id: number;
    if (info.unhashed > 0) {
      info.unhashed--;
      id = this.records.length;
      this.records.push(new ValuesRecord(kind, name, keys, checkValues(name, keys, vals, n), line, column, depth, delta, 0));
    } else {
      let h = this.headHash(info, kind, line, column, depth, delta);
      for (let i = 0; i < n; i++) h = hashValue(h, vals[i] as FieldValue);
      h = avalanche(h);
      id = this.findHashed(h, kind, name, line, column, depth, delta, null, keys, vals, n);
      if (id < 0) id = this.addHashed(new ValuesRecord(kind, name, keys, checkValues(name, keys, vals, n), line, column, depth, delta, h));
      else info.hits++;
      this.judge(info);
    }
    info.last[code] = id;
    return id;
  }

  private headHash(info: NameInfo, kind: EventKind, line: number, column: number, depth: number, delta: number): number {
    const h = mix(info.hash, KIND_CODE[kind]);
    return mix(mix(mix(mix(h, line), column), depth), delta);
  }

  /** After a lookup: a name whose records rarely repeat stops being looked up for a while. */
  private judge(info: NameInfo): void {
    if (++info.tries === HIT_WINDOW) {
      if (info.hits * 8 < HIT_WINDOW) info.unhashed = UNHASHED_RUN;
      info.tries = 0;
      info.hits = 0;
    }
  }

  /** The id of the record with hash h and these contents (fields object, or keys and values), -1 when there is none. */
  private findHashed(h: number, kind: EventKind, name: string, line: number, column: number, depth: number, delta: number, fields: Fields | null, keys: FieldKeys | null, vals: readonly (FieldValue | undefined)[] | null, n: number): number {
    const records = this.records;
    for (let id = this.buckets[h & (this.buckets.length - 1)]; id >= 0; id = records[id].next) {
      const r = records[id];
      if (r.hash !== h || r.name !== name || r.kind !== kind || r.line !== line || r.column !== column || r.depth !== depth || r.delta !== delta) continue;
      if (fields !== null ? r.sameAs(fields, this.scratch) : keys !== null && vals !== null && r.sameAsValues(keys, vals, n)) return id;
    }
    return -1;
  }

  private addHashed(r: EventRecord): number {
    const records = this.records;
    const mask = this.buckets.length - 1;
    const id = records.length;
    r.next = this.buckets[r.hash & mask];
    records.push(r);
    this.buckets[r.hash & mask] = id;
    if (records.length > this.buckets.length) this.grow();
    return id;
  }

  /** The record of an open call, closed at `delta` events before its return. */
  withDelta(call: EventRecord, delta: number): number {
    if (call.closedDelta === delta) return call.closedId;
    const id = call.reinternInto(this, delta, this.reVals);
    call.closedDelta = delta;
    call.closedId = id;
    return id;
  }

  private grow(): void {
    const buckets = new Int32Array(this.buckets.length * 2).fill(-1);
    const mask = buckets.length - 1;
    const records = this.records;
    for (let id = 0; id < records.length; id++) {
      const r = records[id];
      r.next = buckets[r.hash & mask];
      buckets[r.hash & mask] = id;
    }
    this.buckets = buckets;
  }
}
