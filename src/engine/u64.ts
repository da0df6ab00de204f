// Exact unsigned 64-bit arithmetic helpers. Addresses (dma_addr_t,
// phys_addr_t, IOVAs) are bigint everywhere in the engine so nothing loses
// precision above 2^53; page frame numbers that are provably below 2^53 may
// be plain numbers inside a unit (the IOVA allocator does this).

export const U64_MASK = (1n << 64n) - 1n;

/** DMA_MAPPING_ERROR: (dma_addr_t)~0. */
export const DMA_MAPPING_ERROR = U64_MASK;

/** Wrap to u64 the way C unsigned arithmetic does. */
export function u64(x: bigint): bigint {
  return x & U64_MASK;
}

/** DMA_BIT_MASK(n). */
export function dmaBitMask(bits: number): bigint {
  return bits >= 64 ? U64_MASK : (1n << BigInt(bits)) - 1n;
}

export function alignDown(x: bigint, align: bigint): bigint {
  return x & ~(align - 1n);
}

export function alignUp(x: bigint, align: bigint): bigint {
  return (x + align - 1n) & ~(align - 1n);
}

export function isAligned(x: bigint, align: bigint): boolean {
  return (x & (align - 1n)) === 0n;
}

export function isPowerOfTwo(x: bigint): boolean {
  return x > 0n && (x & (x - 1n)) === 0n;
}

/** __ffs: index of the lowest set bit (x must be non-zero). */
export function ffs(x: bigint): number {
  if (x <= 0xffff_ffffn) {
    const v = Number(x);
    return 31 - Math.clz32(v & -v);
  }
  let n = 0;
  while ((x & 0xffff_ffffn) === 0n) {
    x >>= 32n;
    n += 32;
  }
  return n + ffs(x & 0xffff_ffffn);
}

/** fls64 - 1 for x > 0: index of the highest set bit. */
export function fls(x: bigint): number {
  if (x <= 0n) return -1;
  if (x <= 0xffff_ffffn) return 31 - Math.clz32(Number(x));
  return x.toString(2).length - 1;
}

/** ilog2 of a power of two (or floor log2). */
export function ilog2(x: bigint): number {
  return fls(x);
}

/** roundup_pow_of_two. */
export function roundupPowOfTwo(x: bigint): bigint {
  if (x <= 1n) return 1n;
  return 1n << BigInt(fls(x - 1n) + 1);
}

/** "0x..." lowercase hex, as the run output writes addresses. */
export function hex(x: bigint | number): string {
  return '0x' + x.toString(16);
}

/** %016llx-style zero-padded hex without the prefix. */
export function hexPad(x: bigint, width = 16): string {
  return x.toString(16).padStart(width, '0');
}

/** %pa: the kernel prints phys_addr_t zero-padded to full width with 0x. */
export function fmtPa(x: bigint): string {
  return '0x' + hexPad(x, 16);
}

export function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** BigInt(n) << shift for a non-negative integer n, made as one BigInt when the product is exact as a number. */
export function shiftedUp(n: number, shift: bigint, multiplier: number): bigint {
  const product = n * multiplier;
  return product <= Number.MAX_SAFE_INTEGER ? BigInt(product) : BigInt(n) << shift;
}

/**
 * Number(x) that remembers its last conversion, for a call site that sees the
 * same value again (a driver loop maps the same buffer, unmaps the IOVA it
 * was just given): comparing two BigInts costs a fraction of converting one.
 */
export class NumberMemo {
  private big = 0n;
  private num = 0;

  of(x: bigint): number {
    if (x !== this.big) {
      this.big = x;
      this.num = Number(x);
    }
    return this.num;
  }

  /** Remember that x is n (the caller knows both): the next of(x) converts nothing. Returns n. */
  set(x: bigint, n: number): number {
    this.big = x;
    this.num = n;
    return n;
  }
}

/** BigInt(n) for an integer n, remembering its last conversion (as NumberMemo the other way). */
export class BigIntMemo {
  private num = 0;
  private big = 0n;

  of(n: number): bigint {
    if (n !== this.num) {
      this.num = n;
      this.big = BigInt(n);
    }
    return this.big;
  }
}

let lastBig = 0n;
let lastNumber = 0;

/**
 * Number(x) that remembers the last conversion: the map/unmap path converts
 * the same size (4 KiB) for several trace fields, and comparing a BigInt is
 * cheaper than converting one.
 */
export function numberOf(x: bigint): number {
  if (x !== lastBig) {
    lastBig = x;
    lastNumber = Number(x);
  }
  return lastNumber;
}
