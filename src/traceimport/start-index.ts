// The live start addresses of an IOVA space, filed by the 64 KiB block they
// are in, each with the order in which it became live: an iommu:unmap looks
// only at the blocks its range covers instead of scanning every live
// mapping, and takes what it finds in the order a scan of the space's live
// map would (a Map iterates its keys in insertion order).

export interface StartEntry {
  /** The start address (below 2^53). */
  readonly start: number;
  /** Its key in the live map (the canonical hex of start). */
  readonly key: string;
  /** When the key became live: later keys come later in the live map. */
  readonly seq: number;
}

/** Bytes of address a block covers. */
const BLOCK = 1 << 16;

export class StartIndex {
  /** Entries by block (start / BLOCK), in no order within a block. */
  private blocks = new Map<number, StartEntry[]>();
  private nextSeq = 0;
  /** Live keys at 2^53 or past it (not indexed): while any is live, the caller scans instead. */
  unindexed = 0;

  /** A key became live; start NaN when it is not below 2^53. */
  add(key: string, start: number): void {
    if (!(start < 2 ** 53)) {
      this.unindexed++;
      return;
    }
    const e: StartEntry = { start, key, seq: this.nextSeq++ };
    const b = Math.floor(start / BLOCK);
    const list = this.blocks.get(b);
    if (list === undefined) this.blocks.set(b, [e]);
    else list.push(e);
  }

  /** A key is no longer live (start as given to add). */
  remove(start: number): void {
    if (!(start < 2 ** 53)) {
      this.unindexed--;
      return;
    }
    const b = Math.floor(start / BLOCK);
    const list = this.blocks.get(b);
    if (list === undefined) return;
    for (let j = 0; j < list.length; j++) {
      if (list[j].start !== start) continue;
      if (list.length === 1) this.blocks.delete(b);
      else {
        list[j] = list[list.length - 1];
        list.length--;
      }
      return;
    }
  }

  /** Fills `out` with the entries starting in [lo, hi), in the order they became live; returns out. */
  within(lo: number, hi: number, out: StartEntry[]): StartEntry[] {
    out.length = 0;
    const first = Math.floor(lo / BLOCK);
    const last = Math.floor((hi - 1) / BLOCK);
    if (last - first + 1 <= this.blocks.size) {
      for (let b = first; b <= last; b++) {
        const list = this.blocks.get(b);
        if (list !== undefined) for (const e of list) if (e.start >= lo && e.start < hi) out.push(e);
      }
    } else {
      for (const list of this.blocks.values()) for (const e of list) if (e.start >= lo && e.start < hi) out.push(e);
    }
    if (out.length > 1) out.sort((x, y) => x.seq - y.seq);
    return out;
  }

  /** A copy that later changes of either do not touch (entries are never changed). */
  clone(): StartIndex {
    const c = new StartIndex();
    for (const [b, list] of this.blocks) c.blocks.set(b, list.slice());
    c.nextSeq = this.nextSeq;
    c.unindexed = this.unindexed;
    return c;
  }
}
