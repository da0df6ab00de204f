// The walk panel's DOM, built from the walk model (src/panels/walk-model.ts):
// one section per IOMMU band, each a grid whose rows are the reads (a nested
// band: stage-1 levels by stage-2 reads, then the final IPA). Cells are
// buttons in one roving-tabindex grid: arrows move, Enter selects.

import type { WalkBand, WalkCell, WalkModel, WalkRow } from '../../src/panels/walk-model';

export interface RenderedCell {
  cell: WalkCell;
  el: HTMLButtonElement;
  band: number;
  row: number;
  col: number;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export function cellAriaLabel(c: WalkCell): string {
  const where = `${c.iommu ?? ''} ${c.domain ? `domain ${c.domain}` : ''}`.trim();
  const fault = c.faulted ? ', the walk stopped here' : '';
  return `stage ${c.stage} level ${c.level} descriptor ${c.desc} at ${c.descAddr} (${where}): ${c.summary}${fault}`;
}

function cellButton(c: WalkCell): HTMLButtonElement {
  const b = el('button', {
    class: `cell kind-${c.kind} stage-${c.stage}${c.faulted ? ' faulted' : ''}`,
    'data-id': c.id,
    role: 'gridcell',
    tabindex: '-1',
    'aria-label': cellAriaLabel(c),
  });
  b.append(el('span', { class: 'sum' }, c.summary), el('span', { class: 'desc' }, c.desc));
  return b;
}

function bandHeading(b: WalkBand): string {
  const dom = b.domain ? `${b.domain}${b.domainType ? ` (${b.domainType}${b.format ? `, ${b.format}` : ''})` : ''}` : 'no domain';
  const parent = b.parent ? ` over ${b.parent.domain} (${b.parent.format ?? '?'})` : '';
  return `${b.iommu} · ${b.kind} · ${dom}${parent}`;
}

/** Renders the bands into `root`; returns the cells in reading order with their grid coordinates. */
export function renderBands(root: HTMLElement, model: WalkModel | null): RenderedCell[] {
  const cells: RenderedCell[] = [];
  const sections = (model?.bands ?? []).map((b, bi) => {
    const sec = el('section', { class: `band mode-${b.mode}${b.faulted ? ' faulted' : ''}`, 'aria-label': `${b.iommu}: ${b.note}` });
    sec.append(el('h2', {}, bandHeading(b)));
    const io = `${b.input ?? '—'} → ${b.output ?? (b.faulted ? 'fault' : '—')}`;
    sec.append(el('p', { class: 'io' }, el('span', { class: 'addr' }, io), el('span', { class: 'note' }, ` ${b.note}`)));
    const rows: WalkRow[] = b.grid ? b.grid.rows : b.rows;
    if (rows.length === 0) return sec;
    const subCols = b.grid ? b.grid.columns.length - 1 : Math.max(0, ...rows.map((r) => r.sub.length));
    const label = b.grid
      ? `Nested walk of ${b.iommu}: stage-1 levels by stage-2 reads; ${b.grid.formula} accesses for ${b.grid.s1Levels}+${b.grid.s2Levels} levels, this walk made ${b.grid.actual}`
      : `Descriptor reads of ${b.iommu}${subCols > 0 ? ', each fetched through the IOMMUs after it' : ''}`;
    const table = el('table', { class: b.grid ? 'grid nested' : 'grid', role: 'grid', 'aria-label': label });
    table.append(el('caption', {}, b.grid ? `${b.grid.formula} (${b.grid.s1Levels}+${b.grid.s2Levels} levels) · this walk: ${b.grid.actual} reads` : `${b.accesses} read${b.accesses === 1 ? '' : 's'}`));
    const head = el('tr', { role: 'row' }, el('th', { scope: 'col', role: 'columnheader' }, b.grid ? 'translates' : 'read'), el('th', { scope: 'col', role: 'columnheader' }, b.grid ? 'input IPA' : 'descriptor at'));
    const subHeads = b.grid ? b.grid.columns.slice(0, -1) : Array.from({ length: subCols }, (_, i) => `upstream read ${i + 1}`);
    for (const h of subHeads) head.append(el('th', { scope: 'col', role: 'columnheader' }, h));
    head.append(el('th', { scope: 'col', role: 'columnheader' }, b.grid ? 'stage-1 descriptor' : 'descriptor'));
    table.append(el('thead', {}, head));
    const body = el('tbody');
    rows.forEach((r, ri) => {
      const tr = el('tr', { role: 'row' }, el('th', { scope: 'row', role: 'rowheader' }, r.label), el('td', { class: 'addr' }, r.input));
      let col = 0;
      for (let i = 0; i < subCols; i++) {
        const c = r.sub[i];
        const td = el('td');
        if (c) {
          const btn = cellButton(c);
          td.append(btn);
          cells.push({ cell: c, el: btn, band: bi, row: ri, col: col++ });
        }
        tr.append(td);
      }
      const last = el('td');
      if (r.read) {
        const btn = cellButton(r.read);
        last.append(btn);
        cells.push({ cell: r.read, el: btn, band: bi, row: ri, col: subCols });
      } else if (r.fault) {
        last.append(el('span', { class: 'fetch-fault' }, r.fault));
      }
      tr.append(last);
      body.append(tr);
    });
    table.append(body);
    sec.append(table);
    return sec;
  });
  root.replaceChildren(...sections);
  return cells;
}

/** The detail of one read: where it was, what it holds, its fields. */
export function renderDetail(root: HTMLElement, c: WalkCell | undefined): void {
  if (!c) {
    root.replaceChildren(el('p', { class: 'hint' }, 'Select a descriptor read (click, or arrows and Enter) to see its bits.'));
    return;
  }
  const dl = el('dl');
  const row = (k: string, v: string): void => {
    dl.append(el('dt', {}, k), el('dd', {}, v));
  };
  row('read by', `${c.iommu ?? '?'}${c.domain ? `, domain ${c.domain}` : ''}${c.format ? ` (${c.format})` : ''}`);
  row('stage, level', `${c.stage}, ${c.level}`);
  row('table', `${c.table} [${c.index}]`);
  row('descriptor address', c.descAddr);
  row('descriptor', c.desc);
  row('kind', c.kind + (c.invalidWhy ? `: ${c.invalidWhy}` : ''));
  if (c.address) row(c.kind === 'table' ? 'next table' : 'output', c.address + (c.size ? ` (${c.size} bytes)` : ''));
  if (c.perms) row('grants', c.perms);
  const fields = el('table', { class: 'fields', 'aria-label': 'Descriptor fields' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'field'), el('th', { scope: 'col' }, 'bits'), el('th', { scope: 'col' }, 'value'), el('th', { scope: 'col' }, 'meaning'))));
  const tb = el('tbody');
  for (const f of c.fields) tb.append(el('tr', {}, el('td', {}, f.name), el('td', {}, f.bits), el('td', {}, f.value), el('td', {}, f.meaning)));
  fields.append(tb);
  root.replaceChildren(el('h3', {}, c.summary + (c.faulted ? ' — the walk stopped here' : '')), dl, fields);
}

/** The next cell for a navigation key, or undefined when the key is not one. */
export function moveFocus(cells: RenderedCell[], from: number, key: string): number | undefined {
  const cur = cells[from];
  if (!cur) return cells.length > 0 ? 0 : undefined;
  const sameRow = cells.map((c, i) => ({ c, i })).filter(({ c }) => c.band === cur.band && c.row === cur.row);
  switch (key) {
    case 'ArrowRight':
      return Math.min(cells.length - 1, from + 1);
    case 'ArrowLeft':
      return Math.max(0, from - 1);
    case 'Home':
      return sameRow[0]?.i;
    case 'End':
      return sameRow[sameRow.length - 1]?.i;
    case 'ArrowDown':
    case 'ArrowUp': {
      const dir = key === 'ArrowDown' ? 1 : -1;
      // The nearest column in the next row (of this band, or the next band).
      const rows = [...new Set(cells.map((c) => `${c.band}:${c.row}`))];
      const at = rows.indexOf(`${cur.band}:${cur.row}`) + dir;
      if (at < 0 || at >= rows.length) return from;
      const target = cells.map((c, i) => ({ c, i })).filter(({ c }) => `${c.band}:${c.row}` === rows[at]);
      return target.reduce((best, x) => (Math.abs(x.c.col - cur.col) < Math.abs(best.c.col - cur.col) ? x : best)).i;
    }
    default:
      return undefined;
  }
}
