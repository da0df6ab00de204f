// The walk as an SVG picture (the panel's "export SVG", and through a canvas
// its PNG): the title and outcome, then per IOMMU band its rows of reads as
// boxes, coloured like the panel, the read the walk stopped at outlined.

import type { WalkCell, WalkModel } from '../../src/panels/walk-model';
import { xml } from '../common/export-image';

export interface WalkSvgColours {
  background: string;
  text: string;
  muted: string;
  table: string;
  leaf: string;
  invalid: string;
  stage2: string;
  fault: string;
  border: string;
}

const CELL_W = 200;
const CELL_H = 38;
const GAP = 6;
const LABEL_W = 110;
const LINE = 18;

function box(c: WalkCell, x: number, y: number, k: WalkSvgColours): string {
  const fill = c.kind === 'invalid' ? k.invalid : c.kind === 'table' ? (c.stage === 2 ? k.stage2 : k.table) : k.leaf;
  const stroke = c.faulted ? k.fault : k.border;
  return `<g><rect x="${x}" y="${y}" width="${CELL_W}" height="${CELL_H}" rx="3" fill="${fill}" fill-opacity="0.35" stroke="${stroke}" stroke-width="${c.faulted ? 3 : 1}"/>` +
    `<text x="${x + 6}" y="${y + 15}" fill="${k.text}" font-size="12">${xml(c.summary)}</text>` +
    `<text x="${x + 6}" y="${y + 31}" fill="${k.muted}" font-size="11">${xml(`${c.desc} @ ${c.descAddr}`)}</text></g>`;
}

/** The SVG text and its size. */
export function walkSvg(model: WalkModel, k: WalkSvgColours): { svg: string; width: number; height: number } {
  const parts: string[] = [];
  let y = 10;
  const text = (x: number, s: string, size = 13, fill = k.text, weight = 'normal'): void => {
    y += LINE;
    parts.push(`<text x="${x}" y="${y}" fill="${fill}" font-size="${size}" font-weight="${weight}">${xml(s)}</text>`);
  };
  let width = 640;
  text(10, model.title, 15, k.text, 'bold');
  text(10, model.summary, 13);
  if (model.fault) {
    text(10, model.fault.reason, 12, k.fault);
    if (model.fault.kernelLine) text(10, model.fault.kernelLine, 11, k.muted);
  }
  for (const b of model.bands) {
    y += 8;
    text(10, `${b.iommu} (${b.kind}) · ${b.domain ?? 'no domain'}${b.format ? `, ${b.format}` : ''}${b.parent ? ` over ${b.parent.domain}` : ''}: ${b.input ?? '—'} → ${b.output ?? '—'}`, 13, k.text, 'bold');
    text(20, b.grid ? `${b.note}; ${b.grid.formula}, this walk ${b.grid.actual} reads` : b.note, 12, k.muted);
    const rows = b.grid ? b.grid.rows : b.rows;
    const subCols = b.grid ? b.grid.columns.length - 1 : Math.max(0, ...rows.map((r) => r.sub.length));
    y += GAP;
    for (const r of rows) {
      parts.push(`<text x="20" y="${y + 16}" fill="${k.text}" font-size="12">${xml(r.label)}</text>`);
      parts.push(`<text x="20" y="${y + 31}" fill="${k.muted}" font-size="11">${xml(r.input)}</text>`);
      let x = 20 + LABEL_W;
      for (let i = 0; i < subCols; i++) {
        if (r.sub[i]) parts.push(box(r.sub[i], x, y, k));
        x += CELL_W + GAP;
      }
      if (r.read) parts.push(box(r.read, x, y, k));
      else if (r.fault) parts.push(`<text x="${x}" y="${y + 20}" fill="${k.fault}" font-size="11">${xml(r.fault)}</text>`);
      width = Math.max(width, x + CELL_W + 20);
      y += CELL_H + GAP;
    }
  }
  const height = y + 14;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace">` +
    `<rect width="100%" height="100%" fill="${k.background}"/>${parts.join('')}</svg>`;
  return { svg, width, height };
}
