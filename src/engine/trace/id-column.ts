// An append-only column of 32-bit ids that costs what does not repeat. Ids are
// kept in blocks of 64; a full block is interned by content in a table shared
// by the columns copied from one another, and the column keeps one block id
// per 64 ids. A loop records the same few blocks again and again, so a
// million-iteration run costs a few bytes per hundred ids instead of four per
// id, and touches no fresh memory per id (on this kind of machine, the first
// write to a page costs as much as a thousand ids).

const BLOCK_BITS = 6;
const BLOCK = 1 << BLOCK_BITS;
const BLOCK_MASK = BLOCK - 1;
/** Block ids per chunk of a column (a chunk covers 64K ids). */
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;
/** Blocks per chunk of the table (16 KiB). */
const TABLE_BITS = 6;
const TABLE_CHUNK = 1 << TABLE_BITS;
const TABLE_MASK = TABLE_CHUNK - 1;

/** Distinct blocks of ids, interned by content. Append-only: a block id never changes meaning. */
export class BlockTable {
  /** Block b's ids are data[b >> TABLE_BITS][(b & TABLE_MASK) * BLOCK + j]. */
  private readonly data: Uint32Array[] = [];
  private hashes = new Int32Array(64);
  private next = new Int32Array(64);
  private buckets = new Int32Array(64).fill(-1);
  /** Per block, the block sealed after it last time (-1: none): a loop seals the same blocks in the same order, found without hashing. */
  private succ = new Int32Array(64).fill(-1);
  count = 0;

  /** Id j (0..63) of block b. */
  at(b: number, j: number): number {
    return this.data[b >>> TABLE_BITS][((b & TABLE_MASK) << BLOCK_BITS) | j];
  }

  /** The id of the block holding ids[off..off+64), added when new; `prev` is the block sealed before it (-1: none). */
  intern(ids: Uint32Array, off: number, prev: number): number {
    if (prev >= 0) {
      const guess = this.succ[prev];
      if (guess >= 0 && this.same(guess, ids, off)) return guess;
    }
    let h = 0x811c9dc5;
    for (let j = 0; j < BLOCK; j++) h = Math.imul(h ^ ids[off + j], 0x01000193);
    h ^= h >>> 15;
    const mask = this.buckets.length - 1;
    let found = -1;
    for (let b = this.buckets[h & mask]; b >= 0; b = this.next[b]) {
      if (this.hashes[b] === h && this.same(b, ids, off)) {
        found = b;
        break;
      }
    }
    if (found < 0) found = this.add(ids, off, h);
    if (prev >= 0) this.succ[prev] = found;
    return found;
  }

  private same(b: number, ids: Uint32Array, off: number): boolean {
    const chunk = this.data[b >>> TABLE_BITS];
    const at = (b & TABLE_MASK) << BLOCK_BITS;
    for (let j = 0; j < BLOCK; j++) if (chunk[at + j] !== ids[off + j]) return false;
    return true;
  }

  private add(ids: Uint32Array, off: number, h: number): number {
    const b = this.count++;
    const c = b >>> TABLE_BITS;
    if (c === this.data.length) this.data.push(new Uint32Array(TABLE_CHUNK << BLOCK_BITS));
    this.data[c].set(ids.subarray(off, off + BLOCK), (b & TABLE_MASK) << BLOCK_BITS);
    if (b === this.hashes.length) {
      this.hashes = grown(this.hashes);
      this.next = grown(this.next);
      const succ = grown(this.succ);
      succ.fill(-1, b);
      this.succ = succ;
    }
    this.hashes[b] = h;
    if (this.count > this.buckets.length) this.rehash();
    const mask = this.buckets.length - 1;
    this.next[b] = this.buckets[h & mask];
    this.buckets[h & mask] = b;
    return b;
  }

  private rehash(): void {
    const buckets = new Int32Array(this.buckets.length * 2).fill(-1);
    const mask = buckets.length - 1;
    for (let b = 0; b < this.count - 1; b++) {
      this.next[b] = buckets[this.hashes[b] & mask];
      buckets[this.hashes[b] & mask] = b;
    }
    this.buckets = buckets;
  }

  /** Bytes the table holds. */
  get byteLength(): number {
    return this.data.length * (TABLE_CHUNK << BLOCK_BITS) * 4 + (this.hashes.length + this.next.length + this.buckets.length) * 4;
  }
}

function grown(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

export class IdColumn {
  /** Block ids of the full blocks, CHUNK per chunk; a chunk may be shared with copies of this column (see owned). */
  private chunks: Uint32Array[] = [];
  /** Whether chunks[c] is this column's alone (a copy shares the others until it writes to them). */
  private owned: boolean[] = [];
  private blocks = 0;
  /** The ids after the last full block: whole blocks held back (see hold) and the block being filled. */
  private tail = new Uint32Array(BLOCK * 2);
  private readonly scratch = new Uint32Array(BLOCK);
  length = 0;
  /**
   * Ids from this index on may still change (set()): their blocks stay in
   * the tail, where a change is a store, until the holder moves it past them.
   */
  hold = Infinity;

  constructor(private readonly table: BlockTable = new BlockTable()) {}

  push(id: number): void {
    const i = this.length;
    const t = i - (this.blocks << BLOCK_BITS);
    if (t === this.tail.length) this.tail = grownTail(this.tail);
    this.tail[t] = id;
    this.length = i + 1;
    if ((i & BLOCK_MASK) === BLOCK_MASK) this.seal();
  }

  /** Interns the tail's full blocks below `hold`, moving what is left to the front of the tail. */
  private seal(): void {
    let b = this.blocks;
    const full = this.length >>> BLOCK_BITS;
    const limit = Math.min(full, Math.floor(this.hold / BLOCK));
    if (b >= limit) return;
    const first = b;
    let prev = b > 0 ? this.blockAt(b - 1) : -1;
    for (; b < limit; b++) {
      const c = b >>> CHUNK_BITS;
      if (c === this.chunks.length) {
        this.chunks.push(new Uint32Array(CHUNK));
        this.owned.push(true);
      } else if (!this.owned[c]) this.own(c);
      prev = this.table.intern(this.tail, (b - first) << BLOCK_BITS, prev);
      this.chunks[c][b & CHUNK_MASK] = prev;
    }
    this.blocks = b;
    const moved = (b - first) << BLOCK_BITS;
    this.tail.copyWithin(0, moved, this.length - (first << BLOCK_BITS));
  }

  private own(c: number): void {
    this.chunks[c] = this.chunks[c].slice();
    this.owned[c] = true;
  }

  private blockAt(b: number): number {
    return this.chunks[b >>> CHUNK_BITS][b & CHUNK_MASK];
  }

  get(i: number): number {
    const b = i >>> BLOCK_BITS;
    if (b >= this.blocks) return this.tail[i - (this.blocks << BLOCK_BITS)];
    return this.table.at(this.chunks[b >>> CHUNK_BITS][b & CHUNK_MASK], i & BLOCK_MASK);
  }

  set(i: number, id: number): void {
    const b = i >>> BLOCK_BITS;
    if (b >= this.blocks) {
      this.tail[i - (this.blocks << BLOCK_BITS)] = id;
      return;
    }
    // A full block: the same ids with this one changed, interned as another block.
    const old = this.blockAt(b);
    const s = this.scratch;
    for (let j = 0; j < BLOCK; j++) s[j] = this.table.at(old, j);
    if (s[i & BLOCK_MASK] === id) return;
    s[i & BLOCK_MASK] = id;
    const c = b >>> CHUNK_BITS;
    if (!this.owned[c]) this.own(c);
    this.chunks[c][b & CHUNK_MASK] = this.table.intern(s, 0, -1);
  }

  /** Keeps the first n ids. */
  truncate(n: number): void {
    if (n >= this.length) return;
    const b = n >>> BLOCK_BITS;
    if (b < this.blocks) {
      // The block n falls in becomes the tail again, written in place (copies never share a tail: copy() slices it), so
      // code compiled while the column held this tail array stays valid.
      const tail = this.tail;
      const at = this.blockAt(b);
      for (let j = 0; j < (n & BLOCK_MASK); j++) tail[j] = this.table.at(at, j);
      this.blocks = b;
      const chunks = (b + CHUNK_MASK) >>> CHUNK_BITS;
      this.chunks.length = chunks;
      this.owned.length = chunks;
    }
    this.length = n;
  }

  /** An independent copy: full chunks are shared until either side writes to them, the block table always. */
  copy(): IdColumn {
    const c = new IdColumn(this.table);
    c.chunks = this.chunks.slice();
    this.owned.fill(false);
    c.owned = this.owned.slice();
    c.blocks = this.blocks;
    c.tail = this.tail.slice();
    c.length = this.length;
    c.hold = this.hold;
    return c;
  }

  /** Bytes this column holds of its own (the block table is counted by whoever owns it). */
  get byteLength(): number {
    return this.chunks.length * CHUNK * 4 + this.tail.byteLength;
  }
}

function grownTail(a: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}
