// Canvas drawing of one domain's IOVA space. Addresses arrive as 32-bit
// halves; here they become float64 byte offsets (exact below 2^53, within a
// byte-per-pixel error above), so the draw loop is plain number arithmetic.
// Zoomed out, each pixel column gets the union of the ranges that touch it
// (one fillRect per run of columns), never one call per mapping.

import type { DrawnRange, IovaMapModel, U64Halves } from '../../src/panels/iova-map-model';

export const toNum = (h: U64Halves): number => h.hi * 4294967296 + h.lo;

/** The visible window: first address and bytes per pixel. */
export interface Viewport { start: number; bytesPerPixel: number }

/** Index of the first range whose end is after `addr` (binary search over sorted starts/ends). */
export function firstRangeEndingAfter(ends: Float64Array, addr: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid] <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Ranges as flat arrays, built once per model. */
export interface RangeIndex { starts: Float64Array; ends: Float64Array; ranges: DrawnRange[] }

export function indexRanges(ranges: DrawnRange[]): RangeIndex {
  const starts = new Float64Array(ranges.length);
  const ends = new Float64Array(ranges.length);
  ranges.forEach((r, i) => { starts[i] = toNum(r.start); ends[i] = toNum(r.end); });
  return { starts, ends, ranges };
}

/** The range under address `addr`, if any. */
export function rangeAt(ix: RangeIndex, addr: number): DrawnRange | undefined {
  const i = firstRangeEndingAfter(ix.ends, addr);
  return i < ix.ranges.length && ix.starts[i] <= addr ? ix.ranges[i] : undefined;
}

export type Colours = Record<'r' | 'w' | 'rw' | 'none' | 'mmio' | 'hole' | 'boundary' | 'change' | 'alloc' | 'fq' | 'text', string>;

/** Draw the map band: ranges by permission, the 32-bit line, allocations, flush-queue entries and the current change. */
export function drawMap(ctx: CanvasRenderingContext2D, width: number, height: number, model: IovaMapModel, ix: RangeIndex, vp: Viewport, c: Colours): void {
  ctx.fillStyle = c.hole;
  ctx.fillRect(0, 0, width, height);
  const bandTop = 16;
  const bandH = height - 32;
  const endAddr = vp.start + vp.bytesPerPixel * width;
  let i = firstRangeEndingAfter(ix.ends, vp.start);
  while (i < ix.ranges.length && ix.starts[i] < endAddr) {
    const x0 = Math.max(0, Math.floor((ix.starts[i] - vp.start) / vp.bytesPerPixel));
    let x1 = Math.min(width, Math.max(x0 + 1, Math.ceil((ix.ends[i] - vp.start) / vp.bytesPerPixel)));
    const key = ix.ranges[i].key;
    i++;
    // Level of detail: absorb every following range that starts within this pixel run.
    while (i < ix.ranges.length && (ix.starts[i] - vp.start) / vp.bytesPerPixel < x1) {
      x1 = Math.min(width, Math.max(x1, Math.ceil((ix.ends[i] - vp.start) / vp.bytesPerPixel)));
      i++;
    }
    ctx.fillStyle = c[key];
    ctx.fillRect(x0, bandTop, x1 - x0, bandH);
  }
  const mark = (addr: number, colour: string, y: number, h: number): void => {
    const x = (addr - vp.start) / vp.bytesPerPixel;
    if (x < 0 || x > width) return;
    ctx.fillStyle = colour;
    ctx.fillRect(Math.floor(x), y, 2, h);
  };
  for (const a of model.allocations) mark(toNum(a.start), c.alloc, 0, 12);
  for (const f of model.flushQueue) mark(toNum(f.start), c.fq, height - 12, 12);
  for (const ch of model.change) mark(parseInt(ch.iova, 16), c.change, 0, height);
  if (model.boundary32) mark(toNum(model.boundary32), c.boundary, 0, height);
}
