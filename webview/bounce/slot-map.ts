// The swiotlb slot map: every slot of a pool as a cell of a grid on a canvas
// (a 64 MiB pool is 32768 slots: one DOM node each would be far too many),
// drawn run by run as row segments, so the cost follows the runs, not the
// slots. Hit testing maps a pixel to a slot and a binary search finds its
// run. Runs a DMA sanitizer finding touched are outlined in the error
// colour. The same layout gives the SVG export.

import type { PoolModel, SlotRunModel, SlotState } from '../../src/panels/bounce-model';
import { xml } from '../common/export-image';

export interface SlotLayout {
  cols: number;
  rows: number;
  cellW: number;
  cellH: number;
  width: number;
  height: number;
}

export type SlotColours = Record<SlotState | 'pad' | 'area' | 'selected' | 'background' | 'finding', string>;

/**
 * Columns a row holds: a power of two (area starts, multiples of a power of
 * two, fall on row starts), picked for the squarest cells that keep the map
 * within `maxHeight` (a 32768-slot pool included, its rows down to a pixel).
 */
export function layoutFor(nslabs: number, width: number, maxHeight = 400): SlotLayout {
  const n = Math.max(1, nslabs);
  let best: SlotLayout | undefined;
  let bestScore = -1;
  for (let cols = 1; cols <= 1024; cols *= 2) {
    const cellW = Math.floor(width / cols);
    const rows = Math.ceil(n / cols);
    if (cellW < 2 || rows > maxHeight) continue;
    const cellH = Math.max(1, Math.min(cellW, Math.floor(maxHeight / rows)));
    // Squarest first (the smaller side), then the larger cell.
    const score = Math.min(cellW, cellH) * 1e6 + cellW * cellH;
    if (score > bestScore) {
      bestScore = score;
      best = { cols, rows, cellW, cellH, width: cols * cellW, height: rows * cellH };
    }
  }
  if (best) return best;
  // Too narrow for 2-pixel cells within the height: 1-pixel cells, as many columns as fit.
  let cols = 1;
  while (cols * 2 <= Math.max(1, width)) cols *= 2;
  const rows = Math.ceil(n / cols);
  return { cols, rows, cellW: 1, cellH: 1, width: cols, height: rows };
}

/** The slot under a pixel, or undefined outside the pool. */
export function slotAt(l: SlotLayout, nslabs: number, x: number, y: number): number | undefined {
  if (x < 0 || y < 0 || x >= l.width || y >= l.height) return undefined;
  const slot = Math.floor(y / l.cellH) * l.cols + Math.floor(x / l.cellW);
  return slot < nslabs ? slot : undefined;
}

/** The run holding `slot` (runs are sorted by first slot and cover the pool). */
export function runAt(runs: SlotRunModel[], slot: number): number | undefined {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = runs[mid];
    if (slot < r.index) hi = mid - 1;
    else if (slot >= r.index + r.count) lo = mid + 1;
    else return mid;
  }
  return undefined;
}

/** Rectangles covering slots [first, first + count): at most two partial rows and one block of whole rows. */
export function segments(l: SlotLayout, first: number, count: number): { x: number; y: number; w: number; h: number }[] {
  const out: { x: number; y: number; w: number; h: number }[] = [];
  let s = first;
  const end = first + count;
  while (s < end) {
    const row = Math.floor(s / l.cols);
    const col = s % l.cols;
    if (col === 0 && end - s >= l.cols) {
      const whole = Math.floor((end - s) / l.cols);
      out.push({ x: 0, y: row * l.cellH, w: l.cols * l.cellW, h: whole * l.cellH });
      s += whole * l.cols;
      continue;
    }
    const n = Math.min(l.cols - col, end - s);
    out.push({ x: col * l.cellW, y: row * l.cellH, w: n * l.cellW, h: l.cellH });
    s += n;
  }
  return out;
}

export function drawSlots(ctx: CanvasRenderingContext2D, pool: PoolModel, l: SlotLayout, k: SlotColours, selected: string | undefined): void {
  ctx.fillStyle = k.background;
  ctx.fillRect(0, 0, l.width, l.height);
  for (const r of pool.runs) {
    ctx.fillStyle = k[r.state];
    for (const g of segments(l, r.index + r.padSlots, r.count - r.padSlots)) ctx.fillRect(g.x, g.y, g.w, g.h);
    if (r.padSlots > 0) {
      ctx.fillStyle = k.pad;
      for (const g of segments(l, r.index, r.padSlots)) ctx.fillRect(g.x, g.y, g.w, g.h);
    }
  }
  // Cell grid lines only where cells are big enough to tell apart.
  if (l.cellW >= 5 && l.cellH >= 5) {
    ctx.strokeStyle = k.background;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let c = 1; c < l.cols; c++) {
      ctx.moveTo(c * l.cellW + 0.5, 0);
      ctx.lineTo(c * l.cellW + 0.5, l.height);
    }
    for (let r = 1; r < l.rows; r++) {
      ctx.moveTo(0, r * l.cellH + 0.5);
      ctx.lineTo(l.width, r * l.cellH + 0.5);
    }
    ctx.stroke();
  }
  // Area boundaries.
  ctx.strokeStyle = k.area;
  ctx.lineWidth = 2;
  for (const a of pool.areas) {
    if (a.firstSlot === 0) continue;
    const y = Math.floor(a.firstSlot / l.cols) * l.cellH;
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(l.width, y);
    ctx.stroke();
  }
  // Runs a DMA sanitizer finding touched: outlined in the error colour (the selection's outline, drawn next, sits inside it).
  ctx.strokeStyle = k.finding;
  ctx.lineWidth = 2;
  for (const r of pool.runs) {
    if (!r.findings) continue;
    for (const g of segments(l, r.index, r.count)) ctx.strokeRect(g.x + 1, g.y + 1, Math.max(1, g.w - 2), Math.max(1, g.h - 2));
  }
  const sel = pool.runs.find((r) => r.id === selected);
  if (sel) {
    ctx.strokeStyle = k.selected;
    ctx.lineWidth = 2;
    const inset = sel.findings ? 3 : 1;
    for (const g of segments(l, sel.index, sel.count)) ctx.strokeRect(g.x + inset, g.y + inset, Math.max(1, g.w - 2 * inset), Math.max(1, g.h - 2 * inset));
  }
}

/** The slot map as SVG: one rect per row segment of each run, area lines, a caption. */
export function slotMapSvg(pool: PoolModel, l: SlotLayout, k: SlotColours & { text: string }, caption: string): { svg: string; width: number; height: number } {
  const top = 28;
  const parts: string[] = [`<text x="0" y="18" fill="${k.text}" font-size="13">${xml(caption)}</text>`];
  for (const r of pool.runs) {
    const fill = (first: number, count: number, colour: string): void => {
      for (const g of segments(l, first, count)) parts.push(`<rect x="${g.x}" y="${g.y + top}" width="${g.w}" height="${g.h}" fill="${colour}"><title>${xml(r.label)}</title></rect>`);
    };
    fill(r.index + r.padSlots, r.count - r.padSlots, k[r.state]);
    if (r.padSlots > 0) fill(r.index, r.padSlots, k.pad);
    if (r.findings) for (const g of segments(l, r.index, r.count)) parts.push(`<rect x="${g.x + 1}" y="${g.y + top + 1}" width="${Math.max(1, g.w - 2)}" height="${Math.max(1, g.h - 2)}" fill="none" stroke="${k.finding}" stroke-width="2"/>`);
  }
  for (const a of pool.areas) {
    if (a.firstSlot === 0) continue;
    const y = Math.floor(a.firstSlot / l.cols) * l.cellH + top;
    parts.push(`<line x1="0" y1="${y}" x2="${l.width}" y2="${y}" stroke="${k.area}" stroke-width="2"/>`);
  }
  const width = Math.max(l.width, 400);
  const height = l.height + top + 4;
  return {
    svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace"><rect width="100%" height="100%" fill="${k.background}"/>${parts.join('')}</svg>`,
    width,
    height,
  };
}
