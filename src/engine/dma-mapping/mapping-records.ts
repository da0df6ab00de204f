// The streaming mappings and coherent allocations a run made, as the
// emulator (not dma-debug) sees them: where each DMA address points, whether
// it bounced, and which line made it. `expect bounced`, hovers and the IOVA
// panel read these.

import type { DmaDirection } from './dma-direction';
import { CLONE, type CloneChild } from '../snapshot';

export interface MappingRecord {
  key: string;
  device: string;
  dma: bigint;
  size: bigint;
  /** The CPU buffer the driver mapped. */
  phys: bigint;
  dir: DmaDirection;
  /** Bounce buffer address (swiotlb slot or VDUSE bounce page), or null. */
  bounce: bigint | null;
  kind: 'single' | 'sg' | 'coherent' | 'iova-link';
  line: number;
  live: boolean;
  /** Scenario line of the unmap that ended it (absent while live). */
  endLine?: number;
  /** A streaming single mapping: who owns its buffer now (the record is its OwnedRegion). */
  owner?: 'device' | 'cpu';
}

/** The last key made: a driver loop maps and unmaps the same address, and the same string object hashes once. */
let lastKey = { device: '', dma: -1n, key: '' };

export function mappingKey(device: string, dma: bigint): string {
  if (dma === lastKey.dma && device === lastKey.device) return lastKey.key;
  // The same decimal text either way; a Number prints several times faster than a BigInt.
  const key = dma <= MAX_SAFE_DMA ? `${device}@${Number(dma)}` : `${device}@${dma}`;
  lastKey = { device, dma, key };
  return key;
}

const MAX_SAFE_DMA = BigInt(Number.MAX_SAFE_INTEGER);

/** Ended slots LiveMappings keeps before it drops them (they cost a Map entry each). */
const DEAD_SLOTS_KEPT = 64;

/** A key's place in LiveMappings: its record while live, null once ended (refilled when the key is mapped again). */
interface LiveSlot {
  rec: MappingRecord | null;
}

/**
 * The live mappings by key, in the order they were made (as a Map whose
 * entries are deleted at unmap iterates them). An ended mapping leaves its
 * slot empty rather than deleted, so a key mapped again next (a driver loop
 * gets the same DMA address back) is refilled in place: a Map emptied by a
 * delete and grown again by a set reallocates its table every pair. The slot
 * is an object, so ending and refilling it is a field store, not a Map set.
 */
export class LiveMappings {
  private readonly byKey = new Map<string, LiveSlot>();
  private count = 0;
  private dead = 0;
  /** The key of the newest slot: refilling it keeps the order a delete and set would give. */
  private newest: string | null = null;
  /**
   * The slot last looked up and its key: a driver loop maps, checks and
   * unmaps one key (the same string, mappingKey keeps it), and comparing it
   * is cheaper than a Map lookup. lastSlot is always byKey's slot of lastKey.
   */
  private lastKey: string | null = null;
  private lastSlot: LiveSlot | null = null;

  get size(): number {
    return this.count;
  }

  private slot(key: string): LiveSlot | undefined {
    if (key === this.lastKey) return this.lastSlot as LiveSlot;
    const s = this.byKey.get(key);
    if (s !== undefined) {
      this.lastKey = key;
      this.lastSlot = s;
    }
    return s;
  }

  has(key: string): boolean {
    const s = this.slot(key);
    return s !== undefined && s.rec !== null;
  }

  get(key: string): MappingRecord | undefined {
    return this.slot(key)?.rec ?? undefined;
  }

  /** Adds or replaces the mapping at key (a replaced live one keeps its place, as Map.set does); true when a live one was replaced. */
  set(key: string, rec: MappingRecord): boolean {
    const s = this.slot(key);
    if (s === undefined) {
      const made = { rec };
      this.byKey.set(key, made);
      this.count++;
      this.newest = key;
      this.lastKey = key;
      this.lastSlot = made;
      return false;
    }
    const replaced = s.rec !== null;
    if (!replaced) {
      this.dead--;
      this.count++;
      if (key !== this.newest) {
        // Made again: it goes to the end, as a Map's delete and set would put it.
        this.byKey.delete(key);
        this.byKey.set(key, s);
        this.newest = key;
      }
    }
    s.rec = rec;
    return replaced;
  }

  delete(key: string): boolean {
    return this.take(key) !== undefined;
  }

  /** Ends the live mapping at key and gives its record; undefined when none is live there. */
  take(key: string): MappingRecord | undefined {
    const s = this.slot(key);
    const rec = s?.rec;
    if (!s || !rec) return undefined;
    s.rec = null;
    this.count--;
    this.dead++;
    if (this.dead > DEAD_SLOTS_KEPT && this.dead > this.count) this.dropDead();
    return rec;
  }

  *values(): IterableIterator<MappingRecord> {
    for (const s of this.byKey.values()) if (s.rec !== null) yield s.rec;
  }

  /**
   * A copy holding copies of the records (end() changes a record), made by
   * `cloneChild` when a snapshot clone gives it: a single mapping's record is
   * also its ownership region, and both must stay one object in the clone.
   */
  copy(cloneChild?: CloneChild): LiveMappings {
    const c = new LiveMappings();
    for (const [k, s] of this.byKey) {
      const r = s.rec;
      c.byKey.set(k, { rec: r === null ? null : cloneChild ? (cloneChild(r) as MappingRecord) : { ...r } });
    }
    c.count = this.count;
    c.dead = this.dead;
    c.newest = this.newest;
    if (this.lastKey !== null) {
      c.lastKey = this.lastKey;
      c.lastSlot = c.byKey.get(this.lastKey) as LiveSlot;
    }
    return c;
  }

  private dropDead(): void {
    for (const [k, s] of this.byKey) if (s.rec === null) this.byKey.delete(k);
    this.dead = 0;
    if (this.newest !== null && !this.byKey.has(this.newest)) this.newest = null;
    this.lastKey = null;
    this.lastSlot = null;
  }
}

/** Ended mappings remembered for lookups after unmap (hovers, `expect bounced` on a stale handle). */
const ENDED_KEPT = 4096;

const ENDED_CHUNK_BITS = 10;
const ENDED_CHUNK = 1 << ENDED_CHUNK_BITS;
const KINDS: readonly MappingRecord['kind'][] = ['single', 'sg', 'coherent', 'iova-link'];

/** KINDS.indexOf(kind), without the search (every ended mapping is stored with it). */
function kindCode(kind: MappingRecord['kind']): number {
  return kind === 'single' ? 0 : kind === 'sg' ? 1 : kind === 'coherent' ? 2 : 3;
}

/** 0 <= x < 2^64: x is its own value mod 2^64 (V8 gives back the same BigInt then, so this is one compare of one object). */
function fitsU64(x: bigint): boolean {
  return BigInt.asUintN(64, x) === x;
}

/** ENDED_CHUNK ended mappings as columns; a record whose addresses do not fit 64 bits is kept whole. */
class EndedChunk {
  readonly device: string[] = [];
  /** One buffer for every column (a typed array's backing store is costly to make). */
  private readonly buf = new ArrayBuffer(ENDED_CHUNK * (4 * 8 + 2 * 8 + 1));
  readonly dma = new BigUint64Array(this.buf, 0, ENDED_CHUNK);
  readonly size = new BigUint64Array(this.buf, ENDED_CHUNK * 8, ENDED_CHUNK);
  readonly phys = new BigUint64Array(this.buf, ENDED_CHUNK * 16, ENDED_CHUNK);
  readonly bounce = new BigUint64Array(this.buf, ENDED_CHUNK * 24, ENDED_CHUNK);
  readonly line = new Float64Array(this.buf, ENDED_CHUNK * 32, ENDED_CHUNK);
  /** NaN: ended without a line. */
  readonly endLine = new Float64Array(this.buf, ENDED_CHUNK * 40, ENDED_CHUNK);
  /** Bit 0: a bounce address; bits 1-2: dir; bits 3-4: kind (KINDS). */
  readonly flags = new Uint8Array(this.buf, ENDED_CHUNK * 48, ENDED_CHUNK);
  whole: Map<number, MappingRecord> | null = null;
  /** Also held by a snapshot clone: never written again, never reused. */
  shared = false;

  put(i: number, r: MappingRecord): void {
    this.device[i] = r.device;
    if (!fitsU64(r.dma) || !fitsU64(r.size) || !fitsU64(r.phys) || (r.bounce !== null && !fitsU64(r.bounce))) {
      (this.whole ??= new Map()).set(i, r);
      return;
    }
    this.dma[i] = r.dma;
    this.size[i] = r.size;
    this.phys[i] = r.phys;
    if (r.bounce !== null) this.bounce[i] = r.bounce;
    this.flags[i] = (r.bounce !== null ? 1 : 0) | (r.dir << 1) | (kindCode(r.kind) << 3);
    this.line[i] = r.line;
    this.endLine[i] = r.endLine ?? NaN;
  }

  get(i: number): MappingRecord {
    const whole = this.whole?.get(i);
    if (whole) return whole;
    const f = this.flags[i];
    const device = this.device[i];
    const dma = this.dma[i];
    const rec: MappingRecord = {
      key: mappingKey(device, dma), device, dma, size: this.size[i], phys: this.phys[i], dir: ((f >> 1) & 3) as DmaDirection,
      bounce: f & 1 ? this.bounce[i] : null, kind: KINDS[(f >> 3) & 3], line: this.line[i], live: false,
    };
    const endLine = this.endLine[i];
    if (!Number.isNaN(endLine)) rec.endLine = endLine;
    return rec;
  }

  copy(): EndedChunk {
    const c = new EndedChunk();
    c.device.push(...this.device);
    new Uint8Array(c.buf).set(new Uint8Array(this.buf));
    c.whole = this.whole && new Map(this.whole);
    return c;
  }
}

/**
 * The most recently ended mappings, oldest first: between ENDED_KEPT and
 * twice that many (trimmed back to ENDED_KEPT when it grows past). Stored as
 * columns, so an ended record's object dies young (a driver loop ends
 * thousands a second, and records kept as objects all outlived the young
 * generation); an object is made again when a lookup reads one. Full chunks
 * never change and are shared by snapshot clones.
 */
export class EndedMappings {
  private chunks: (EndedChunk | null)[] = [];
  /** Global indexes of the first kept and the next ended mapping. */
  private start = 0;
  private end = 0;
  /** Chunks trimmed off that no clone holds, to fill again instead of making new ones (a trim drops several). */
  private spares: EndedChunk[] = [];

  get length(): number {
    return this.end - this.start;
  }

  push(r: MappingRecord): void {
    const g = this.end++;
    const c = g >> ENDED_CHUNK_BITS;
    let chunk = this.chunks[c];
    if (!chunk) {
      chunk = this.spares.pop() ?? new EndedChunk();
      chunk.whole = null; // every other column is written before it is read
      this.chunks[c] = chunk;
    }
    chunk.put(g & (ENDED_CHUNK - 1), r);
    if (this.end - this.start > ENDED_KEPT * 2) {
      this.start = this.end - ENDED_KEPT;
      for (let d = 0; d < this.start >> ENDED_CHUNK_BITS; d++) {
        const dropped = this.chunks[d];
        if (dropped && !dropped.shared) this.spares.push(dropped);
        this.chunks[d] = null;
      }
    }
  }

  /** The i-th kept ended mapping, oldest first (a new object each call). */
  at(i: number): MappingRecord {
    const g = this.start + i;
    return (this.chunks[g >> ENDED_CHUNK_BITS] as EndedChunk).get(g & (ENDED_CHUNK - 1));
  }

  /** The newest ended mapping whose DMA range contains addr. */
  findByDma(addr: bigint): MappingRecord | undefined {
    for (let g = this.end - 1; g >= this.start; g--) {
      const chunk = this.chunks[g >> ENDED_CHUNK_BITS] as EndedChunk;
      const i = g & (ENDED_CHUNK - 1);
      const whole = chunk.whole?.get(i);
      const dma = whole ? whole.dma : chunk.dma[i];
      const size = whole ? whole.size : chunk.size[i];
      if (addr >= dma && addr < dma + (size > 0n ? size : 1n)) return chunk.get(i);
    }
    return undefined;
  }

  all(): MappingRecord[] {
    const out: MappingRecord[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.at(i));
    return out;
  }

  /** Snapshot clone: full chunks are shared (never written again), the one being filled is copied. */
  copy(): EndedMappings {
    const c = new EndedMappings();
    c.chunks = this.chunks.slice();
    c.start = this.start;
    c.end = this.end;
    const last = this.end >> ENDED_CHUNK_BITS;
    const partial = (this.end & (ENDED_CHUNK - 1)) !== 0 ? this.chunks[last] : null;
    for (const chunk of this.chunks) if (chunk && chunk !== partial) chunk.shared = true;
    if (partial) c.chunks[last] = partial.copy();
    return c;
  }
}

/** A device's live DMA addresses in ascending order and the largest live size it ever had. */
interface DeviceStarts {
  dmas: bigint[];
  maxSize: bigint;
}

export class MappingRecords {
  live = new LiveMappings();
  /** The most recently ended mappings, oldest first (EndedMappings). */
  ended = new EndedMappings();
  /**
   * Per device, the DMA addresses of its live mappings in ascending order and
   * the largest live size it ever had: liveOf, which the sanitizer asks on
   * every device access, searches instead of scanning every mapping.
   */
  private starts = new Map<string, DeviceStarts>();
  /** The device last asked for and its starts (a driver loop maps and unmaps on one device). */
  private lastDevice: string | null = null;
  private lastStarts: DeviceStarts | null = null;
  /**
   * The newest live mapping, not yet in its device's starts: a driver loop
   * unmaps it before anything asks liveOf, and then it is neither inserted
   * nor removed. liveOf puts it in first.
   */
  private unindexed: MappingRecord | null = null;

  /** Snapshot clone: live records are copied (end() changes them), ended ones are shared but for the chunk being filled. */
  [CLONE](cloneChild?: CloneChild): MappingRecords {
    const copy = new MappingRecords();
    copy.live = this.live.copy(cloneChild);
    copy.ended = this.ended.copy();
    for (const [d, s] of this.starts) copy.starts.set(d, { dmas: s.dmas.slice(), maxSize: s.maxSize });
    if (this.lastDevice !== null) {
      copy.lastDevice = this.lastDevice;
      copy.lastStarts = copy.starts.get(this.lastDevice) ?? null;
    }
    if (this.unindexed !== null) copy.unindexed = copy.live.get(this.unindexed.key) ?? null;
    return copy;
  }

  /** Puts the unindexed mapping's start in its device's starts. */
  private index(): void {
    const rec = this.unindexed as MappingRecord;
    this.unindexed = null;
    const s = this.startsOf(rec.device);
    const dmas = s.dmas;
    // A driver loop maps above everything live (or nothing is live): append without splicing.
    if (dmas.length === 0 || dmas[dmas.length - 1] <= rec.dma) dmas.push(rec.dma);
    else dmas.splice(upperBound(dmas, rec.dma), 0, rec.dma);
    if (rec.size > s.maxSize) s.maxSize = rec.size;
  }

  /** The starts of `device`, made empty on its first mapping. */
  private startsOf(device: string): DeviceStarts {
    if (device === this.lastDevice) return this.lastStarts as DeviceStarts;
    let s = this.starts.get(device);
    if (!s) this.starts.set(device, (s = { dmas: [], maxSize: 0n }));
    this.lastDevice = device;
    this.lastStarts = s;
    return s;
  }

  /** Every remembered mapping, ended ones first (oldest first), then the live ones. */
  get records(): MappingRecord[] {
    return [...this.ended.all(), ...this.live.values()];
  }

  /**
   * Records a new live mapping. `r` (a fresh object from the caller) becomes
   * the record: one object a mapping, not two. A caller on a hot path passes
   * key and live already (any value; they are set here), so the object is
   * made with its final shape rather than grown by two fields.
   */
  add<R extends Omit<MappingRecord, 'key' | 'live'> & Partial<Pick<MappingRecord, 'key' | 'live'>>>(r: R): R & MappingRecord {
    const rec = r as R & MappingRecord;
    rec.key = mappingKey(r.device, r.dma);
    rec.live = true;
    const unindexed = this.unindexed;
    if (this.live.set(rec.key, rec)) {
      // A live mapping at the same key replaced: its start is already indexed, or it was the unindexed one.
      if (unindexed !== null && unindexed.key === rec.key) this.unindexed = rec;
      else {
        const s = this.startsOf(rec.device);
        if (rec.size > s.maxSize) s.maxSize = rec.size;
      }
    } else {
      if (unindexed !== null) this.index();
      this.unindexed = rec;
    }
    return rec;
  }

  end(device: string, dma: bigint, line?: number): MappingRecord | undefined {
    return this.endKey(mappingKey(device, dma), device, dma, line);
  }

  /** end() with the mapping's key already made (mappingKey(device, dma)). */
  endKey(key: string, device: string, dma: bigint, line?: number): MappingRecord | undefined {
    const rec = this.live.take(key);
    if (rec) {
      rec.live = false;
      if (line !== undefined) rec.endLine = line;
      if (rec === this.unindexed) this.unindexed = null;
      else {
        const dmas = this.startsOf(device).dmas;
        if (dmas[dmas.length - 1] === dma) dmas.pop();
        else dmas.splice(upperBound(dmas, dma) - 1, 1);
      }
      this.ended.push(rec);
    }
    return rec;
  }

  /** The live mapping of `device` whose DMA range contains addr (the one starting nearest below it when several do). */
  liveOf(device: string, addr: bigint): MappingRecord | undefined {
    if (this.unindexed !== null) this.index();
    const s = this.starts.get(device);
    if (!s) return undefined;
    // Only mappings starting within maxSize below addr can contain it.
    for (let i = upperBound(s.dmas, addr) - 1; i >= 0 && s.dmas[i] + (s.maxSize > 0n ? s.maxSize : 1n) > addr; i--) {
      const r = this.live.get(mappingKey(device, s.dmas[i]));
      if (r && addr < r.dma + (r.size > 0n ? r.size : 1n)) return r;
    }
    return undefined;
  }

  /** The live mapping whose DMA range contains addr, else the most recently ended one. */
  findByDma(addr: bigint): MappingRecord | undefined {
    const within = (r: MappingRecord): boolean => addr >= r.dma && addr < r.dma + (r.size > 0n ? r.size : 1n);
    let best: MappingRecord | undefined;
    for (const r of this.live.values()) if (within(r)) best = r;
    if (best) return best;
    return this.ended.findByDma(addr);
  }
}

/** The index of the first element of ascending `xs` greater than x. */
function upperBound(xs: bigint[], x: bigint): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
