// The streaming mappings and coherent allocations a run made, as the
// emulator (not dma-debug) sees them: where each DMA address points, whether
// it bounced, and which line made it. `expect bounced`, hovers and the IOVA
// panel read these.

import type { DmaDirection } from './dma-direction';
import { CLONE } from '../snapshot';

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

/**
 * The live mappings by key, in the order they were made (as a Map whose
 * entries are deleted at unmap iterates them). An ended mapping leaves its
 * slot empty rather than deleted, so a key mapped again next (a driver loop
 * gets the same DMA address back) is refilled in place: a Map emptied by a
 * delete and grown again by a set reallocates its table every pair.
 */
export class LiveMappings {
  private readonly byKey = new Map<string, MappingRecord | null>();
  private count = 0;
  private dead = 0;
  /** The key of the newest slot: refilling it keeps the order a delete and set would give. */
  private newest: string | null = null;

  get size(): number {
    return this.count;
  }

  has(key: string): boolean {
    const r = this.byKey.get(key);
    return r !== undefined && r !== null;
  }

  get(key: string): MappingRecord | undefined {
    return this.byKey.get(key) ?? undefined;
  }

  /** Adds or replaces the mapping at key (a replaced live one keeps its place, as Map.set does). */
  set(key: string, rec: MappingRecord): void {
    const cur = this.byKey.get(key);
    if (cur === null) {
      this.dead--;
      this.count++;
      if (key !== this.newest) {
        this.byKey.delete(key);
        this.newest = key;
      }
    } else if (cur === undefined) {
      this.count++;
      this.newest = key;
    }
    this.byKey.set(key, rec);
  }

  delete(key: string): boolean {
    if (!this.has(key)) return false;
    this.byKey.set(key, null);
    this.count--;
    this.dead++;
    if (this.dead > DEAD_SLOTS_KEPT && this.dead > this.count) this.dropDead();
    return true;
  }

  *values(): IterableIterator<MappingRecord> {
    for (const r of this.byKey.values()) if (r !== null) yield r;
  }

  /** A copy holding copies of the records (end() changes a record). */
  copy(): LiveMappings {
    const c = new LiveMappings();
    for (const [k, r] of this.byKey) c.byKey.set(k, r === null ? null : { ...r });
    c.count = this.count;
    c.dead = this.dead;
    c.newest = this.newest;
    return c;
  }

  private dropDead(): void {
    for (const [k, r] of this.byKey) if (r === null) this.byKey.delete(k);
    this.dead = 0;
    if (this.newest !== null && !this.byKey.has(this.newest)) this.newest = null;
  }
}

/** Ended mappings remembered for lookups after unmap (hovers, `expect bounced` on a stale handle). */
const ENDED_KEPT = 4096;

export class MappingRecords {
  live = new LiveMappings();
  /** The most recently ended mappings, oldest first, at most ENDED_KEPT. Never changed once here. */
  ended: MappingRecord[] = [];
  /**
   * Per device, the DMA addresses of its live mappings in ascending order and
   * the largest live size it ever had: liveOf, which the sanitizer asks on
   * every device access, searches instead of scanning every mapping.
   */
  private starts = new Map<string, { dmas: bigint[]; maxSize: bigint }>();

  /** Snapshot clone: live records are copied (end() changes them), ended ones are shared (nothing changes them). */
  [CLONE](): MappingRecords {
    const copy = new MappingRecords();
    copy.live = this.live.copy();
    copy.ended = this.ended.slice();
    for (const [d, s] of this.starts) copy.starts.set(d, { dmas: s.dmas.slice(), maxSize: s.maxSize });
    return copy;
  }

  /** Every remembered mapping, ended ones first (oldest first), then the live ones. */
  get records(): MappingRecord[] {
    return [...this.ended, ...this.live.values()];
  }

  add(r: Omit<MappingRecord, 'key' | 'live'>): MappingRecord {
    const rec: MappingRecord = {
      key: mappingKey(r.device, r.dma), device: r.device, dma: r.dma, size: r.size, phys: r.phys, dir: r.dir, bounce: r.bounce, kind: r.kind, line: r.line, live: true,
    };
    let s = this.starts.get(rec.device);
    if (!s) this.starts.set(rec.device, (s = { dmas: [], maxSize: 0n }));
    if (!this.live.has(rec.key)) {
      const dmas = s.dmas;
      // A driver loop maps above everything live (or nothing is live): append without splicing.
      if (dmas.length === 0 || dmas[dmas.length - 1] <= rec.dma) dmas.push(rec.dma);
      else dmas.splice(upperBound(dmas, rec.dma), 0, rec.dma);
    }
    if (rec.size > s.maxSize) s.maxSize = rec.size;
    this.live.set(rec.key, rec);
    return rec;
  }

  end(device: string, dma: bigint, line?: number): MappingRecord | undefined {
    return this.endKey(mappingKey(device, dma), device, dma, line);
  }

  /** end() with the mapping's key already made (mappingKey(device, dma)). */
  endKey(key: string, device: string, dma: bigint, line?: number): MappingRecord | undefined {
    const rec = this.live.get(key);
    if (rec) {
      rec.live = false;
      if (line !== undefined) rec.endLine = line;
      this.live.delete(key);
      const s = this.starts.get(device);
      if (s) {
        const dmas = s.dmas;
        if (dmas[dmas.length - 1] === dma) dmas.pop();
        else dmas.splice(upperBound(dmas, dma) - 1, 1);
      }
      this.ended.push(rec);
      if (this.ended.length > ENDED_KEPT * 2) this.ended.splice(0, this.ended.length - ENDED_KEPT);
    }
    return rec;
  }

  /** The live mapping of `device` whose DMA range contains addr (the one starting nearest below it when several do). */
  liveOf(device: string, addr: bigint): MappingRecord | undefined {
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
    for (let i = this.ended.length - 1; i >= 0; i--) if (within(this.ended[i])) return this.ended[i];
    return undefined;
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
