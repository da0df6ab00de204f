// Drawing of one domain's IOVA space and of where its mappings land in RAM.
// Addresses arrive as 32-bit halves; here they become float64 byte offsets
// (exact below 2^53, a 16-byte step at 2^57: far below a granule), so the
// draw loop is plain number arithmetic, never BigInt. The visible ranges are
// found by binary search over the sorted columns. Level of detail: a range
// at least a pixel wide is one rectangle; narrower ones add their share to
// their pixel column, and each run of columns with the same permission mix
// and density is one rectangle. So a frame costs one pass over the visible
// ranges and at most a few rectangles per pixel column, never one call or
// DOM node per mapping. The same code paints a canvas and an SVG (Painter).

import { PROT_KEYS, type IovaMapModel, type U64Halves } from '../../src/panels/iova-map-model';
import type { IovaMapState } from '../../src/protocol';

export const toNum = (h: U64Halves): number => h.hi * 4294967296 + h.lo;
const pairAt = (a: Uint32Array, i: number): number => a[2 * i] * 4294967296 + a[2 * i + 1];

/** The visible window: first address and bytes per pixel. */
export interface Viewport { start: number; bytesPerPixel: number }

/** Sorted spans as float64 columns, built once per model. */
export interface SpanIndex { starts: Float64Array; ends: Float64Array }

/** The model's columns as float64: IOVA ranges, allocations, and ranges in physical order. */
export interface MapIndex {
  ranges: SpanIndex;
  allocs: SpanIndex;
  /** physStarts[k], physEnds[k]: range model.ranges.physOrder[k] in RAM. */
  phys: SpanIndex;
  /** Largest end so far in physical order (ranges may overlap in RAM): lets a binary search find every range under an address. */
  physMaxEnd: Float64Array;
}

export function indexModel(m: IovaMapModel): MapIndex {
  const r = m.ranges;
  const n = r.count;
  const ranges = { starts: new Float64Array(n), ends: new Float64Array(n) };
  for (let i = 0; i < n; i++) { ranges.starts[i] = pairAt(r.start, i); ranges.ends[i] = pairAt(r.end, i); }
  const a = m.allocations;
  const allocs = { starts: new Float64Array(a.count), ends: new Float64Array(a.count) };
  for (let i = 0; i < a.count; i++) { allocs.starts[i] = pairAt(a.start, i); allocs.ends[i] = pairAt(a.end, i); }
  const phys = { starts: new Float64Array(n), ends: new Float64Array(n) };
  const physMaxEnd = new Float64Array(n);
  let max = 0;
  for (let k = 0; k < n; k++) {
    const i = r.physOrder[k];
    const p = pairAt(r.phys, i);
    phys.starts[k] = p;
    phys.ends[k] = p + (ranges.ends[i] - ranges.starts[i]);
    max = Math.max(max, phys.ends[k]);
    physMaxEnd[k] = max;
  }
  return { ranges, allocs, phys, physMaxEnd };
}

/** Index of the first span whose end is after `addr` (spans sorted and not overlapping, so ends are sorted too). */
export function firstEndingAfter(ends: Float64Array, addr: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid] <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first span starting at or after `addr`. */
export function firstStartingFrom(starts: Float64Array, addr: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] < addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The span nearest to `addr` within `slack` bytes (a few pixels' worth), or -1. */
export function spanNear(ix: SpanIndex, addr: number, slack: number): number {
  const dist = (k: number): number => (addr < ix.starts[k] ? ix.starts[k] - addr : addr >= ix.ends[k] ? addr - ix.ends[k] : 0);
  const i = firstEndingAfter(ix.ends, addr - slack);
  if (i >= ix.starts.length || ix.starts[i] > addr + slack) return -1;
  const j = i + 1;
  return j < ix.starts.length && ix.starts[j] <= addr + slack && dist(j) < dist(i) ? j : i;
}

/** The position k (in physical order) of a range under `addr` in RAM, or -1. */
export function physNear(ix: MapIndex, addr: number, slack: number): number {
  const st = ix.phys.starts;
  let k = firstStartingFrom(st, addr + slack + 1e-9) - 1;
  for (; k >= 0 && ix.physMaxEnd[k] > addr - slack; k--) if (ix.phys.ends[k] > addr - slack) return k;
  return -1;
}

/** What a picture is painted on: a canvas or an SVG document. */
export interface Painter {
  rect(x: number, y: number, w: number, h: number, colour: string, alpha?: number): void;
  frame(x: number, y: number, w: number, h: number, colour: string): void;
  text(x: number, y: number, s: string, colour: string, align?: 'left' | 'right' | 'center'): void;
}

export function canvasPainter(ctx: CanvasRenderingContext2D, font: string): Painter {
  ctx.font = font;
  ctx.textBaseline = 'top';
  return {
    rect(x, y, w, h, colour, alpha = 1) {
      ctx.globalAlpha = alpha;
      ctx.fillStyle = colour;
      ctx.fillRect(x, y, w, h);
      ctx.globalAlpha = 1;
    },
    frame(x, y, w, h, colour) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      ctx.strokeRect(x + 1, y + 1, Math.max(1, w - 2), Math.max(1, h - 2));
    },
    text(x, y, s, colour, align = 'left') {
      ctx.fillStyle = colour;
      ctx.textAlign = align;
      ctx.fillText(s, x, y);
    },
  };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Paints into SVG elements; `svg()` gives the document. */
export function svgPainter(): Painter & { body: string[]; svg(width: number, height: number, background: string, title: string): string } {
  const body: string[] = [];
  const n = (v: number): string => String(Math.round(v * 100) / 100);
  return {
    body,
    rect(x, y, w, h, colour, alpha = 1) {
      body.push(`<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" fill="${esc(colour)}"${alpha < 1 ? ` fill-opacity="${n(alpha)}"` : ''}/>`);
    },
    frame(x, y, w, h, colour) {
      body.push(`<rect x="${n(x + 1)}" y="${n(y + 1)}" width="${n(Math.max(1, w - 2))}" height="${n(Math.max(1, h - 2))}" fill="none" stroke="${esc(colour)}" stroke-width="2"/>`);
    },
    text(x, y, s, colour, align = 'left') {
      const anchor = align === 'left' ? 'start' : align === 'right' ? 'end' : 'middle';
      body.push(`<text x="${n(x)}" y="${n(y + 10)}" fill="${esc(colour)}" text-anchor="${anchor}">${esc(s)}</text>`);
    },
    svg(width, height, background, title) {
      return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">`
        + `<title>${esc(title)}</title><rect width="100%" height="100%" fill="${esc(background)}"/>${body.join('')}</svg>`;
    },
  };
}

export type Colours = Record<'r' | 'w' | 'rw' | 'none' | 'mmio' | 'mixed' | 'background' | 'band' | 'boundary' | 'change' | 'alloc' | 'cached' | 'fq'
  | 'exposed' | 'sanitizer' | 'mapped' | 'unmapped' | 'changed' | 'selected' | 'text' | 'muted', string>;

/** The strip along the bottom of the mapping band where DMA sanitizer findings are marked at their IOVA bytes. */
export const SANITIZER_STRIP = { y: 30 + 56 - 9, h: 9 } as const;

/** One band of spans: columns `starts`/`ends` from `from`, colour of span i by `colourOf` (a key index, -1: the band's one colour). */
function drawSpans(p: Painter, width: number, vp: Viewport, starts: Float64Array, ends: Float64Array, order: ((k: number) => number) | null,
  from: number, to: number, y: number, h: number, colourOf: (i: number) => number, palette: string[], wideColourOf: (i: number) => number = colourOf): void {
  const endAddr = vp.start + vp.bytesPerPixel * width;
  const cover = new Float32Array(width);
  const mix = new Int16Array(width).fill(-1);
  let any = false;
  for (let k = from; k < to; k++) {
    const s = starts[k];
    if (s >= endAddr) { if (order === null) break; continue; }
    const e = ends[k];
    if (e <= vp.start) continue;
    const x0 = (s - vp.start) / vp.bytesPerPixel;
    const x1 = (e - vp.start) / vp.bytesPerPixel;
    const i = order ? order(k) : k;
    if (x1 - x0 >= 1) {
      const a = Math.max(0, x0);
      p.rect(a, y, Math.min(width, x1) - a, h, palette[wideColourOf(i)]);
      continue;
    }
    const c = colourOf(i);
    const col = Math.max(0, Math.min(width - 1, Math.floor(x0)));
    cover[col] += x1 - x0;
    mix[col] = mix[col] === -1 || mix[col] === c ? c : palette.length - 1;
    any = true;
  }
  if (!any) return;
  // Columns of sub-pixel spans: one rectangle per run of equal colour and density (at least 35% so a lone mapping shows).
  const colKey = (x: number): number => mix[x] * 8 + Math.min(7, Math.floor(Math.max(0.35, Math.min(1, cover[x])) * 8));
  let x = 0;
  while (x < width) {
    if (mix[x] < 0) { x++; continue; }
    const key = colKey(x);
    let x1 = x + 1;
    while (x1 < width && mix[x1] >= 0 && colKey(x1) === key) x1++;
    p.rect(x, y, x1 - x, h, palette[key >> 3], ((key & 7) + 1) / 8);
    x = x1;
  }
}

/** Rows of the IOVA map picture (y and height). */
export const ROWS = { alloc: [14, 12], map: [30, 56], fq: [90, 10], compare: [104, 10], axis: [118, 14], height: 134 } as const;

/** The IOVA map: allocations, mapped ranges by permission, flush-queue entries, the comparison, the 32-bit line, the current change, the selection. */
export function drawIovaMap(p: Painter, width: number, model: IovaMapModel, ix: MapIndex, vp: Viewport, c: Colours, compare: IovaMapState['compare'], selected: number): void {
  const H = ROWS.height;
  p.rect(0, 0, width, H, c.background);
  p.rect(0, ROWS.map[0], width, ROWS.map[1], c.band);
  // The aperture outside: muted.
  const ap0 = (toNum(model.aperture.start) - vp.start) / vp.bytesPerPixel;
  const ap1 = (toNum(model.aperture.end) - vp.start) / vp.bytesPerPixel;
  if (ap0 > 0) p.rect(0, ROWS.map[0], Math.min(width, ap0), ROWS.map[1], c.background);
  if (ap1 < width) p.rect(Math.max(0, ap1), ROWS.map[0], width - Math.max(0, ap1), ROWS.map[1], c.background);
  const keyPalette = [...PROT_KEYS.map((k) => c[k]), c.mixed];
  const r = ix.ranges;
  const first = firstEndingAfter(r.ends, vp.start);
  drawSpans(p, width, vp, r.starts, r.ends, null, first, r.starts.length, ROWS.map[0], ROWS.map[1], (i) => model.ranges.key[i], keyPalette);
  const al = ix.allocs;
  drawSpans(p, width, vp, al.starts, al.ends, null, firstEndingAfter(al.ends, vp.start), al.starts.length, ROWS.alloc[0], ROWS.alloc[1],
    (i) => model.allocations.cached[i], [c.alloc, c.cached, c.mixed]);
  const mark = (s: number, e: number, y: number, h: number, colour: string, min = 2): void => {
    const x0 = (s - vp.start) / vp.bytesPerPixel;
    const x1 = (e - vp.start) / vp.bytesPerPixel;
    if (x1 < 0 || x0 > width) return;
    const a = Math.max(-2, x0);
    p.rect(a, y, Math.max(min, Math.min(width + 2, x1) - a), h, colour);
  };
  for (const f of model.flushQueue) mark(toNum(f.start), toNum(f.end), ROWS.fq[0], ROWS.fq[1], c.fq);
  // DMA sanitizer findings: a few bytes wide, so at least 5 px to be seen at any zoom.
  for (const f of model.sanitizer) mark(toNum(f.start), toNum(f.end), SANITIZER_STRIP.y, SANITIZER_STRIP.h, c.sanitizer, 5);
  if (compare) {
    for (const d of compare.diff) mark(toNum(d.start), toNum(d.end), ROWS.compare[0], ROWS.compare[1], c[d.kind], 3);
  }
  if (model.boundary32) {
    const x = (toNum(model.boundary32) - vp.start) / vp.bytesPerPixel;
    if (x >= 0 && x <= width) {
      p.rect(Math.floor(x), 0, 2, ROWS.axis[0], c.boundary);
      p.text(Math.min(width - 2, Math.floor(x) + 4), 0, '4 GiB', c.boundary, x > width - 60 ? 'right' : 'left');
    }
  }
  // The current event's change, framed wide enough to see at any zoom.
  for (const ch of model.change) {
    const x0 = (toNum(ch.start) - vp.start) / vp.bytesPerPixel;
    const x1 = (toNum(ch.end) - vp.start) / vp.bytesPerPixel;
    if (x1 < 0 || x0 > width) continue;
    const w = Math.max(6, x1 - x0);
    p.frame(Math.max(-2, x0 - (w - (x1 - x0)) / 2), ROWS.map[0] - 3, w, ROWS.map[1] + 6, c.change);
  }
  if (selected >= 0 && selected < r.starts.length) {
    const x0 = (r.starts[selected] - vp.start) / vp.bytesPerPixel;
    const x1 = (r.ends[selected] - vp.start) / vp.bytesPerPixel;
    if (x1 >= 0 && x0 <= width) p.frame(Math.max(-2, x0 - 2), ROWS.map[0] - 1, Math.max(4, x1 - x0 + 4), ROWS.map[1] + 2, c.selected);
  }
  p.text(2, 0, 'allocations', c.muted);
  p.text(2, ROWS.axis[0], hexAt(vp.start), c.text);
  p.text(width - 2, ROWS.axis[0], hexAt(vp.start + vp.bytesPerPixel * width), c.text, 'right');
  p.text(width / 2, ROWS.axis[0], `${sizeText(vp.bytesPerPixel * width)} shown`, c.muted, 'center');
}

/** Rows of the physical view. */
export const PHYS_ROWS = { map: [4, 40], axis: [48, 14], height: 64 } as const;

/** Where the mappings land in RAM, the bytes reachable outside their buffers marked. */
export function drawPhys(p: Painter, width: number, model: IovaMapModel, ix: MapIndex, vp: Viewport, c: Colours, selected: number): void {
  p.rect(0, 0, width, PHYS_ROWS.height, c.background);
  p.rect(0, PHYS_ROWS.map[0], width, PHYS_ROWS.map[1], c.band);
  const order = model.ranges.physOrder;
  const ph = ix.phys;
  // Physical order is sorted by start only (ranges may overlap), so the scan starts at the first that may reach the view.
  const from = firstEndingAfter(ix.physMaxEnd, vp.start);
  const to = firstStartingFrom(ph.starts, vp.start + vp.bytesPerPixel * width);
  drawSpans(p, width, vp, ph.starts, ph.ends, (k) => order[k], from, to, PHYS_ROWS.map[0], PHYS_ROWS.map[1], (i) => model.ranges.exposed[i], [c.mapped, c.exposed, c.exposed], () => 0);
  for (const f of model.findings) {
    const x0 = (parseInt(f.start, 16) - vp.start) / vp.bytesPerPixel;
    const x1 = (parseInt(f.end, 16) - vp.start) / vp.bytesPerPixel;
    if (x1 < 0 || x0 > width) continue;
    p.rect(Math.max(0, x0), PHYS_ROWS.map[0] + PHYS_ROWS.map[1] / 2, Math.max(2, Math.min(width, x1) - Math.max(0, x0)), PHYS_ROWS.map[1] / 2, c.exposed);
  }
  if (selected >= 0) {
    for (let k = 0; k < order.length; k++) {
      if (order[k] !== selected) continue;
      const x0 = (ph.starts[k] - vp.start) / vp.bytesPerPixel;
      const x1 = (ph.ends[k] - vp.start) / vp.bytesPerPixel;
      if (x1 >= 0 && x0 <= width) p.frame(Math.max(-2, x0 - 2), PHYS_ROWS.map[0] - 1, Math.max(4, x1 - x0 + 4), PHYS_ROWS.map[1] + 2, c.selected);
      break;
    }
  }
  p.text(2, PHYS_ROWS.axis[0], hexAt(vp.start), c.text);
  p.text(width - 2, PHYS_ROWS.axis[0], hexAt(vp.start + vp.bytesPerPixel * width), c.text, 'right');
}

/** Hex of a float64 address (labels only). */
export function hexAt(v: number): string {
  const x = Math.max(0, Math.floor(v));
  const hi = Math.floor(x / 4294967296);
  const lo = x - hi * 4294967296;
  return hi === 0 ? `0x${lo.toString(16)}` : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}

/** Bytes as B/KiB/MiB/GiB/TiB/PiB. */
export function sizeText(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}
