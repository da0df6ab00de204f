// Emulated physical memory: RAM ranges and their byte contents, stored
// sparsely in 4 KiB frames that are created (zeroed) on first write. A clone
// shares the frames copy-on-write, so a snapshot costs the frame table, and
// each side copies a frame only when it first writes it.

import { CLONE } from '../snapshot';

const FRAME_SHIFT = 12;
const FRAME_SIZE = 1 << FRAME_SHIFT;
const FRAME_MASK = BigInt(FRAME_SIZE - 1);
const FRAME_SHIFT_N = BigInt(FRAME_SHIFT);
/** Entries of the halves view cache (a power of two). */
const VIEW_SLOTS = 16;
// Descriptors are little-endian; BigUint64Array uses the host's order, which is little-endian on every host Node runs this on.

export interface RamRange {
  start: bigint;
  /** Exclusive. */
  end: bigint;
}

export class PhysicalMemory {
  private frames = new Map<number, Uint8Array>();
  /** 64-bit views of the same frames, for descriptor loads and stores (created with the frame). */
  private words = new Map<number, BigUint64Array>();
  /** 32-bit views of the same frames: a descriptor read as two halves, without a BigInt. */
  private halves = new Map<number, Uint32Array>();
  /** Frames this instance may write in place; the others may be shared with a clone. */
  private owned = new Set<number>();
  /**
   * The 32-bit views looked up last, direct-mapped by frame number: a table
   * walk reads the same few table pages on every map, unmap and lookup, and a
   * Map lookup costs more than the rest of a walk step. Refreshed wherever a
   * frame's views are replaced (frame()); a clone starts with its own.
   */
  private readonly viewPfn = new Float64Array(VIEW_SLOTS).fill(-1);
  private readonly viewHalves: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(VIEW_SLOTS).fill(undefined);
  /** The frame last written in place through writeU64HalvesN (owned then; a clone makes it shared again). */
  private writablePfn = -1;
  private writableHalves: Uint32Array | null = null;
  /** Counts writes (every write path bumps it): table walkers keep what they read while it is unchanged. A clone starts from the same count, as its contents are the same. */
  generation = 0;

  constructor(readonly ram: readonly RamRange[]) {}

  /** Copy-on-write clone: both sides keep the frames and give up writing them in place. */
  [CLONE](): PhysicalMemory {
    const copy = new PhysicalMemory(this.ram);
    copy.frames = new Map(this.frames);
    copy.words = new Map(this.words);
    copy.halves = new Map(this.halves);
    copy.generation = this.generation;
    this.owned = new Set();
    this.writablePfn = -1;
    this.writableHalves = null;
    return copy;
  }

  isRam(addr: bigint, len: bigint = 1n): boolean {
    const end = addr + len;
    return this.ram.some((r) => addr >= r.start && end <= r.end);
  }

  read(addr: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = addr + BigInt(done);
      const pfn = Number(a >> BigInt(FRAME_SHIFT));
      const off = Number(a & FRAME_MASK);
      const n = Math.min(len - done, FRAME_SIZE - off);
      const frame = this.frames.get(pfn);
      if (frame) out.set(frame.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  write(addr: bigint, bytes: Uint8Array): void {
    this.generation++;
    let done = 0;
    while (done < bytes.length) {
      const a = addr + BigInt(done);
      const off = Number(a & FRAME_MASK);
      const n = Math.min(bytes.length - done, FRAME_SIZE - off);
      this.frame(a).set(bytes.subarray(done, done + n), off);
      done += n;
    }
  }

  fill(addr: bigint, len: number, value: number): void {
    this.generation++;
    let done = 0;
    while (done < len) {
      const a = addr + BigInt(done);
      const off = Number(a & FRAME_MASK);
      const n = Math.min(len - done, FRAME_SIZE - off);
      const pfn = Number(a >> BigInt(FRAME_SHIFT));
      if (value !== 0 || this.frames.has(pfn)) this.frame(a).fill(value, off, off + n);
      done += n;
    }
  }

  /** Little-endian 64-bit load (page-table descriptors). `addr` must be 8-byte aligned. */
  readU64(addr: bigint): bigint {
    const words = this.words.get(Number(addr >> FRAME_SHIFT_N));
    if (!words) return 0n;
    return words[Number(addr & FRAME_MASK) >> 3];
  }

  writeU64(addr: bigint, value: bigint): void {
    this.generation++;
    this.frame(addr);
    const words = this.words.get(Number(addr >> FRAME_SHIFT_N)) as BigUint64Array;
    words[Number(addr & FRAME_MASK) >> 3] = value;
  }

  /** readU64 at an address below 2^53 given as a number: the page-table walkers' path, without BigInt arithmetic. */
  readU64N(addr: number): bigint {
    const pfn = Math.floor(addr / FRAME_SIZE);
    const words = this.words.get(pfn);
    if (!words) return 0n;
    return words[(addr - pfn * FRAME_SIZE) >> 3];
  }

  readU64NumN(addr: number): number {
    const pfn = Math.floor(addr / FRAME_SIZE);
    const halves = this.halves.get(pfn);
    if (!halves) return 0;
    // The offset by subtraction: % on an address above 2^31 is a floating-point remainder.
    const i = (addr - pfn * FRAME_SIZE) >> 2;
    const hi = halves[i + 1];
    return hi < 0x20_0000 ? hi * 0x1_0000_0000 + halves[i] : -1;
  }

  /** The high half of the word readU64LoN read last (a second result without an object). */
  lastHigh = 0;

  /** The 64-bit word at a number address as two 32-bit halves: returns the low half, leaves the high one in lastHigh. No BigInt. */
  readU64LoN(addr: number): number {
    const pfn = Math.floor(addr / FRAME_SIZE);
    const halves = this.halvesOf(pfn);
    if (!halves) {
      this.lastHigh = 0;
      return 0;
    }
    const i = (addr - pfn * FRAME_SIZE) >> 2;
    this.lastHigh = halves[i + 1];
    return halves[i];
  }

  /** writeU64N of the word hi * 2^32 + lo (both unsigned 32-bit), without a BigInt. */
  writeU64HalvesN(addr: number, lo: number, hi: number): void {
    this.generation++;
    const pfn = Math.floor(addr / FRAME_SIZE);
    let halves = this.writableHalves;
    if (pfn !== this.writablePfn || halves === null) {
      this.frame(BigInt(pfn) << FRAME_SHIFT_N);
      halves = this.halves.get(pfn) as Uint32Array;
      this.writablePfn = pfn;
      this.writableHalves = halves;
    }
    const i = (addr - pfn * FRAME_SIZE) >> 2;
    halves[i] = lo;
    halves[i + 1] = hi;
  }

  writeU64N(addr: number, value: bigint): void {
    this.generation++;
    const pfn = Math.floor(addr / FRAME_SIZE);
    let words = this.words.get(pfn);
    if (!words || !this.owned.has(pfn)) {
      this.frame(BigInt(pfn) << FRAME_SHIFT_N);
      words = this.words.get(pfn) as BigUint64Array;
    }
    words[(addr - pfn * FRAME_SIZE) >> 3] = value;
  }

  /** Copy `len` bytes from `src` to `dst` (swiotlb and VDUSE bounces). */
  copy(dst: bigint, src: bigint, len: number): void {
    this.write(dst, this.read(src, len));
  }

  /** this.halves.get(pfn) through the view cache. */
  private halvesOf(pfn: number): Uint32Array | undefined {
    const slot = pfn & (VIEW_SLOTS - 1);
    if (this.viewPfn[slot] === pfn) return this.viewHalves[slot];
    const halves = this.halves.get(pfn);
    if (halves) {
      this.viewPfn[slot] = pfn;
      this.viewHalves[slot] = halves;
    }
    return halves;
  }

  /** The frame holding addr, ready to be written: created zeroed, or copied first if it may be shared. */
  private frame(addr: bigint): Uint8Array {
    const pfn = Number(addr >> BigInt(FRAME_SHIFT));
    let frame = this.frames.get(pfn);
    if (!frame || !this.owned.has(pfn)) {
      const words = frame ? new BigUint64Array(frame.buffer.slice(0)) : new BigUint64Array(FRAME_SIZE / 8);
      frame = new Uint8Array(words.buffer);
      this.frames.set(pfn, frame);
      this.words.set(pfn, words);
      const halves = new Uint32Array(words.buffer);
      this.halves.set(pfn, halves);
      this.owned.add(pfn);
      const slot = pfn & (VIEW_SLOTS - 1);
      if (this.viewPfn[slot] === pfn) this.viewHalves[slot] = halves;
    }
    return frame;
  }
}
