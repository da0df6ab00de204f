// The IOVA map webview: one domain's IOVA space on a canvas (draw.ts) and,
// below it, where its mappings land in RAM with the bytes a device can reach
// outside its buffer. Zoom (+/-, wheel, buttons) from the whole aperture down
// to a granule, pan (arrows, drag), hover for a range's IOVA, phys, size,
// prot and line, click or Enter to go to the line (while debugging, the
// debugger goes to the event that mapped it). A comparison with a pinned
// position, the current event's change, the granule-exposure findings and the
// DMA sanitizer's findings (click or Enter on a row goes to its line; while
// debugging, the debugger goes to the finding's event) are
// listed in data grids. View, domain, position and comparison persist through
// setState for the panel serializer. performance marks ('iova-map-painted',
// measures 'iova-map-draw') let the bench time a real paint.

import { IovaMapStateReceiver } from '../../src/panels/iova-map-delta';
import { rangeAt, rangesOf, hexOfHalves, type IovaMapModel } from '../../src/panels/iova-map-model';
import type { IovaMapFromWebview, IovaMapPersistedState, IovaMapState, IovaMapToWebview } from '../../src/protocol';
import { svgToPng, themeColour } from '../common/export-image';
import { dropdown, fillDropdown, fillGrid, onGridRowActivate, registerToolkit } from '../common/toolkit';
import {
  canvasPainter, drawIovaMap, drawPhys, firstEndingAfter, hexAt, indexModel, PHYS_ROWS, physNear, ROWS, sizeText, spanNear, svgPainter, toNum,
  type Colours, type MapIndex, type Viewport,
} from './draw';

registerToolkit();

interface VsCodeApi { postMessage(m: IovaMapFromWebview): void; getState(): IovaMapPersistedState | undefined; setState(s: IovaMapPersistedState): void }
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const saved: IovaMapPersistedState = vscode.getState() ?? {};
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('map');
const physCanvas = $<HTMLCanvasElement>('phys');
const tip = $<HTMLElement>('tooltip');
const picker = dropdown('domain');
const info = $<HTMLElement>('info');
const pos = $<HTMLElement>('pos');
const status = $<HTMLElement>('status');
const selection = $<HTMLElement>('selection');

let state: IovaMapState | undefined;
let model: IovaMapModel | undefined;
let ix: MapIndex | undefined;
let vp: Viewport = { start: 0, bytesPerPixel: 1 };
let pvp: Viewport = { start: 0, bytesPerPixel: 1 };
let selected = -1;
let nextRequest = 1;
let painted = false;
const received = new IovaMapStateReceiver();

function colours(): Colours {
  const hc = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  const v = themeColour;
  const focus = hc ? v('--vscode-contrastActiveBorder', '#f38518') : v('--vscode-focusBorder', '#007fd4');
  return {
    r: v('--vscode-charts-blue', '#3794ff'), w: v('--vscode-charts-orange', '#d18616'), rw: v('--vscode-charts-green', '#89d185'),
    none: v('--vscode-charts-red', '#f14c4c'), mmio: v('--vscode-charts-purple', '#b180d7'), mixed: v('--vscode-charts-foreground', '#cccccc'),
    background: v('--vscode-editor-background', '#1e1e1e'), band: v('--vscode-editorWidget-background', '#252526'),
    boundary: v('--vscode-charts-yellow', '#cca700'), change: hc ? v('--vscode-contrastActiveBorder', '#f38518') : v('--vscode-editorCursor-foreground', '#aeafad'),
    alloc: v('--vscode-descriptionForeground', '#9d9d9d'), cached: v('--vscode-terminal-ansiCyan', '#11a8cd'), fq: v('--vscode-charts-orange', '#d18616'),
    exposed: v('--vscode-errorForeground', '#f48771'), sanitizer: v('--vscode-editorError-foreground', '#f14c4c'), mapped: v('--vscode-charts-blue', '#3794ff'),
    unmapped: v('--vscode-charts-red', '#f14c4c'), changed: v('--vscode-charts-yellow', '#cca700'),
    selected: focus, text: v('--vscode-foreground', '#cccccc'), muted: v('--vscode-descriptionForeground', '#9d9d9d'),
  };
}

function font(): string {
  return `11px ${themeColour('--vscode-editor-font-family', 'monospace')}`;
}

function persist(): void {
  vscode.setState({
    uri: state?.position.uri ?? saved.uri, domain: model?.domain ?? saved.domain, viewStart: hexAt(vp.start), log2BytesPerPixel: Math.log2(vp.bytesPerPixel),
    event: state?.position.source === 'run' ? state.position.event : saved.event, compare: state ? state.compare?.event ?? null : saved.compare ?? null,
  });
}

// ---- viewport --------------------------------------------------------------

const widthOf = (c: HTMLCanvasElement): number => Math.max(200, Math.floor(c.clientWidth || 800));
const minBpp = (): number => (model ? Math.max(1, parseInt(model.granule, 16) || 4096) / 64 : 1);

function fitAll(): void {
  if (!model) return;
  const span = toNum(model.aperture.end) - toNum(model.aperture.start);
  vp = { start: toNum(model.aperture.start), bytesPerPixel: Math.max(minBpp(), span / widthOf(canvas)) };
}

function fitPhys(): void {
  const s = model?.physSpan;
  if (!s) { pvp = { start: 0, bytesPerPixel: 1 }; return; }
  const a = toNum(s.start);
  const b = toNum(s.end);
  const pad = Math.max(4096, (b - a) * 0.02);
  pvp = { start: Math.max(0, a - pad), bytesPerPixel: Math.max(1 / 8, (b - a + 2 * pad) / widthOf(physCanvas)) };
}

function clampView(): void {
  if (!model) return;
  const w = widthOf(canvas);
  const apStart = toNum(model.aperture.start);
  const apEnd = toNum(model.aperture.end);
  vp.bytesPerPixel = Math.min(Math.max(minBpp(), vp.bytesPerPixel), Math.max(minBpp(), (apEnd - apStart) / w));
  vp.start = Math.max(apStart, Math.min(vp.start, apEnd - vp.bytesPerPixel * w));
}

function zoom(factor: number, atX: number): void {
  const addr = vp.start + atX * vp.bytesPerPixel;
  vp.bytesPerPixel *= factor;
  vp.start = addr - atX * vp.bytesPerPixel;
  clampView();
  redraw();
  persist();
}

function pan(pixels: number): void {
  vp.start += pixels * vp.bytesPerPixel;
  clampView();
  redraw();
  persist();
}

// ---- drawing -----------------------------------------------------------------

function redraw(): void {
  if (!model || !ix) return;
  const t0 = performance.now();
  const w = widthOf(canvas);
  canvas.width = w;
  canvas.height = ROWS.height;
  const ctx = canvas.getContext('2d');
  const c = colours();
  if (ctx) drawIovaMap(canvasPainter(ctx, font()), w, model, ix, vp, c, state?.compare ?? null, selected);
  const pw = widthOf(physCanvas);
  physCanvas.width = pw;
  physCanvas.height = PHYS_ROWS.height;
  const pctx = physCanvas.getContext('2d');
  if (pctx) drawPhys(canvasPainter(pctx, font()), pw, model, ix, pvp, c, selected);
  performance.measure('iova-map-draw', { start: t0, end: performance.now() });
  canvas.setAttribute('aria-label', `IOVA space of ${model.domain} from ${hexAt(vp.start)} to ${hexAt(vp.start + vp.bytesPerPixel * w)}: ${model.ranges.count} mapped ranges, ${model.allocations.count} IOVA allocations, ${model.flushQueue.length} flush-queue entries${model.change.length ? `; this event ${model.change.map((x) => `${x.kind} ${x.iova}`).join(', ')}` : ''}. Keys: plus and minus zoom, arrows pan, Home whole aperture, brackets select a mapping, Enter goes to its line.`);
  physCanvas.setAttribute('aria-label', `Physical memory under the mappings of ${model.domain}: ${model.findingCount} granule exposure finding(s), ${model.exposedBytes} bytes reachable outside their buffers.`);
}

function describeSelected(): void {
  if (!model || selected < 0) return;
  const r = rangeAt(model.ranges, selected);
  selection.textContent = `Mapping ${selected + 1} of ${model.ranges.count}: IOVA ${r.iova} → phys ${r.phys}, size ${r.size}, prot ${r.prot}, line ${r.line}${r.exposed ? '; granule rounding exposes bytes outside its buffer' : ''}. Enter goes to the line.`;
}

function select(i: number, centre: boolean): void {
  if (!model || !ix || i < 0 || i >= model.ranges.count) return;
  selected = i;
  if (centre) {
    const w = widthOf(canvas);
    const s = ix.ranges.starts[i];
    const e = ix.ranges.ends[i];
    // Zoom so the range is a third of the width (or as far as a granule allows), centred.
    vp.bytesPerPixel = Math.max(minBpp(), ((e - s) * 3) / w);
    vp.start = (s + e) / 2 - (vp.bytesPerPixel * w) / 2;
    clampView();
  }
  describeSelected();
  redraw();
  persist();
}

function reveal(i: number): void {
  if (!model || i < 0) return;
  const r = rangeAt(model.ranges, i);
  if (r.line > 0) vscode.postMessage({ type: 'iovaMap/revealLine', line: r.line, iova: r.iova });
}

function fillGrids(): void {
  const diff = state?.compare ? state.compare.diff : model?.change ?? [];
  const title = state?.compare
    ? `Compared with event ${state.compare.event + 1}${state.compare.line ? ` (line ${state.compare.line})` : ''}: ${state.compare.total} difference(s)${state.compare.total > diff.length ? `, the first ${diff.length} listed` : ''}`
    : `This event: ${diff.length ? `${diff.length} change(s)` : 'no change to this domain'}`;
  $<HTMLElement>('changes-title').textContent = title;
  fillGrid('changes-grid', [{ key: 'kind', title: 'Change' }, { key: 'iova', title: 'IOVA' }, { key: 'size', title: 'Size' }, { key: 'before', title: 'Before (phys size prot)' }, { key: 'after', title: 'After' }],
    diff.map((d) => ({ kind: d.kind, iova: d.iova, size: d.size, before: d.before ?? '—', after: d.after ?? '—' })));
  const f = model?.findings ?? [];
  $<HTMLElement>('findings-title').textContent = model
    ? `Granule exposure: ${model.findingCount} finding(s), ${model.exposedBytes} bytes a device can reach outside its buffers${model.findingCount > f.length ? ` (the first ${f.length} listed)` : ''}`
    : 'Granule exposure';
  fillGrid('findings-grid', [{ key: 'range', title: 'Reachable bytes (phys)' }, { key: 'bytes', title: 'Bytes' }, { key: 'iova', title: 'Mapping IOVA' }, { key: 'buffer', title: 'Buffer' }, { key: 'line', title: 'Line' }],
    f.map((x) => ({ range: `${x.start}..${x.end}`, bytes: x.bytes, iova: x.iova, buffer: x.buffer, line: String(x.line) })));
  const san = model?.sanitizer ?? [];
  $<HTMLElement>('sanitizer-title').textContent = model
    ? `DMA sanitizer: ${model.sanitizerCount} finding(s) at this domain's IOVAs so far${model.sanitizerCount > san.length ? ` (the latest ${san.length} listed)` : ''}`
    : 'DMA sanitizer';
  fillGrid('sanitizer-grid', [{ key: 'iova', title: 'IOVA bytes' }, { key: 'device', title: 'Device' }, { key: 'line', title: 'Line' }, { key: 'message', title: 'Finding' }],
    san.map((x) => ({ iova: `${x.iova}..${hexOfHalves(x.end.hi, x.end.lo)}`, device: x.device, line: String(x.line), message: x.message, event: String(x.event) })));
}

// A row of the DMA sanitizer grid (click, or Enter in it) goes to its finding's line, and while debugging the debugger to its event; the host checks both.
onGridRowActivate('sanitizer-grid', (row) => {
  const line = Number(row.line);
  const event = Number(row.event);
  if (state && Number.isInteger(line) && line > 0) vscode.postMessage({ type: 'iovaMap/revealFinding', uri: state.position.uri, line, ...(Number.isInteger(event) && event >= 0 ? { event } : {}) });
});

function render(s: IovaMapState): void {
  const sameDomain = model !== undefined && s.model?.domain === model.domain;
  state = s;
  const p = s.position;
  pos.textContent = `${p.source === 'debug' ? 'debugger at' : 'state after'} event ${p.event + 1}${p.total !== null ? ` of ${p.total}` : ''}${p.line ? ` (line ${p.line})` : ''}`;
  fillDropdown(picker, s.domains.map((d) => ({ value: d.label, label: `${d.label} (${d.mappings})` })), s.model?.domain);
  $<HTMLElement>('compare-clear').hidden = s.compare === null;
  model = s.model ?? undefined;
  if (!model) {
    ix = undefined;
    info.textContent = 'No IOMMU domain has mappings or an IOVA allocator at this position.';
    fillGrids();
    persist();
    return;
  }
  const tIndex = performance.now();
  ix = indexModel(model);
  performance.measure('iova-map-index', { start: tIndex, end: performance.now() });
  if (selected >= model.ranges.count) selected = -1;
  if (!sameDomain) {
    if (!painted && saved.domain === model.domain && saved.viewStart !== undefined && saved.log2BytesPerPixel !== undefined) {
      vp = { start: parseInt(saved.viewStart, 16), bytesPerPixel: 2 ** saved.log2BytesPerPixel };
      clampView();
    } else {
      fitAll();
    }
    selected = -1;
  }
  fitPhys();
  info.textContent = `${model.domain}: ${model.ranges.count} mapped range(s), ${model.allocations.count} IOVA allocation(s), ${model.holeCount} hole(s); aperture ${model.aperture.startHex}..${model.aperture.endHex} (${model.apertureBits} bits), granule ${model.granule}`
    + `${model.flushQueue.length ? `, ${model.flushQueue.length} in the flush queue` : ''}${model.rcache.length ? `, rcache: ${model.rcache.map((r) => `order ${r.order}: ${r.cachedRanges} cached${r.depotMagazines ? `, ${r.depotMagazines} depot magazines` : ''}`).join('; ')}` : ''}`
    + `${model.change.length ? `; this event ${model.change.map((c) => `${c.kind} ${c.iova}`).join(', ')}` : ''}.`;
  const tGrids = performance.now();
  fillGrids();
  performance.measure('iova-map-grids', { start: tGrids, end: performance.now() });
  redraw();
  describeSelected();
  if (!painted) {
    painted = true;
    performance.mark('iova-map-painted');
  }
  persist();
}

// ---- hover, click, keys ----------------------------------------------------------

function showTip(e: MouseEvent, text: string): void {
  tip.textContent = text;
  tip.style.left = `${e.clientX + window.scrollX + 12}px`;
  tip.style.top = `${e.clientY + window.scrollY + 12}px`;
  tip.hidden = false;
}

function mapTipAt(x: number, y: number): { text: string; range: number } | undefined {
  if (!model || !ix) return undefined;
  const addr = vp.start + x * vp.bytesPerPixel;
  const slack = 3 * vp.bytesPerPixel;
  if (y >= ROWS.alloc[0] && y < ROWS.alloc[0] + ROWS.alloc[1]) {
    const a = spanNear(ix.allocs, addr, slack);
    if (a < 0) return undefined;
    const al = model.allocations;
    return { text: `IOVA allocation ${hexOfHalves(al.start[2 * a], al.start[2 * a + 1])}..${hexAt(ix.allocs.ends[a] - 1)}, ${al.pages[a]} granule(s)${al.cached[a] ? ', in an rcache magazine (free for the next allocation of its size)' : ''}`, range: -1 };
  }
  if (y >= ROWS.fq[0] && y < ROWS.fq[0] + ROWS.fq[1]) {
    const f = model.flushQueue.find((q) => toNum(q.start) - slack <= addr && addr < toNum(q.end) + slack);
    return f ? { text: `flush queue (CPU ${f.cpu}): ${f.iova}, ${f.pages} granule(s), freed once the flush counter passes ${f.counter}`, range: -1 } : undefined;
  }
  if (y >= ROWS.compare[0] && y < ROWS.compare[0] + ROWS.compare[1] && state?.compare) {
    const d = state.compare.diff.find((q) => toNum(q.start) - slack <= addr && addr < toNum(q.end) + slack);
    return d ? { text: `${d.kind} since event ${state.compare.event + 1}: ${d.iova} size ${d.size}\nbefore: ${d.before ?? '—'}\nafter: ${d.after ?? '—'}`, range: -1 } : undefined;
  }
  // DMA sanitizer marks (at least 5 px wide): their findings head the hover text.
  const half = Math.max(slack, 2.5 * vp.bytesPerPixel);
  const found = y >= ROWS.map[0] && y < ROWS.map[0] + ROWS.map[1]
    ? model.sanitizer.filter((f) => toNum(f.start) - half <= addr && addr < toNum(f.end) + half).map((f) => `DMA sanitizer, line ${f.line} (${f.device} at IOVA ${f.iova}): ${f.message}`).join('\n')
    : '';
  const i = spanNear(ix.ranges, addr, slack);
  if (found && i < 0) return { text: found, range: -1 };
  if (i >= 0) {
    const r = rangeAt(model.ranges, i);
    const f = r.exposed ? model.findings.find((x) => x.iova === r.iova) : undefined;
    return { text: `${found ? `${found}\n\n` : ''}IOVA ${r.iova}..${hexAt(ix.ranges.ends[i] - 1)}\nphys ${r.phys}\nsize ${r.size} (${sizeText(ix.ranges.ends[i] - ix.ranges.starts[i])})\nprot ${r.prot}\nline ${r.line} (click to go there)${f ? `\n${f.message}` : r.exposed ? '\ngranule rounding exposes bytes outside its buffer' : ''}`, range: i };
  }
  const k = firstEndingAfter(ix.ranges.ends, addr);
  const lo = k > 0 ? ix.ranges.ends[k - 1] : toNum(model.aperture.start);
  const hi = k < ix.ranges.starts.length ? ix.ranges.starts[k] : toNum(model.aperture.end);
  if (addr < toNum(model.aperture.start) || addr >= toNum(model.aperture.end)) return { text: `${hexAt(addr)}: outside the aperture ${model.aperture.startHex}..${model.aperture.endHex}`, range: -1 };
  return { text: `hole ${hexAt(lo)}..${hexAt(hi - 1)} (${sizeText(hi - lo)}): nothing mapped\nat ${hexAt(addr)}`, range: -1 };
}

let drag: { x: number; start: number; moved: boolean } | undefined;

canvas.addEventListener('mousemove', (e) => {
  if (drag && e.buttons === 1) {
    const dx = e.offsetX - drag.x;
    if (Math.abs(dx) > 2) drag.moved = true;
    if (drag.moved) {
      vp.start = drag.start - dx * vp.bytesPerPixel;
      clampView();
      redraw();
    }
    return;
  }
  const t = mapTipAt(e.offsetX, e.offsetY);
  if (t) showTip(e, t.text);
  else tip.hidden = true;
});
canvas.addEventListener('mousedown', (e) => { drag = { x: e.offsetX, start: vp.start, moved: false }; });
canvas.addEventListener('mouseleave', () => { tip.hidden = true; drag = undefined; });
canvas.addEventListener('click', (e) => {
  const moved = drag?.moved ?? false;
  drag = undefined;
  if (moved) { persist(); return; }
  const t = mapTipAt(e.offsetX, e.offsetY);
  if (!t || t.range < 0) return;
  select(t.range, false);
  reveal(t.range);
});
canvas.addEventListener('wheel', (e) => {
  e.preventDefault();
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) pan((e.deltaX || e.deltaY) / 2);
  else zoom(e.deltaY > 0 ? 2 : 0.5, e.offsetX);
}, { passive: false });
canvas.addEventListener('keydown', (e) => {
  const w = widthOf(canvas);
  const n = model?.ranges.count ?? 0;
  if (e.key === '+' || e.key === '=') zoom(0.5, selected >= 0 && ix ? Math.max(0, Math.min(w, (ix.ranges.starts[selected] - vp.start) / vp.bytesPerPixel)) : w / 2);
  else if (e.key === '-') zoom(2, w / 2);
  else if (e.key === 'ArrowLeft') pan(-w / 4);
  else if (e.key === 'ArrowRight') pan(w / 4);
  else if (e.key === 'Home') { fitAll(); redraw(); persist(); }
  else if (e.key === ']' || e.key === 'ArrowDown') select(selected < 0 ? (ix ? Math.min(n - 1, firstEndingAfter(ix.ranges.ends, vp.start)) : 0) : Math.min(n - 1, selected + 1), true);
  else if (e.key === '[' || e.key === 'ArrowUp') select(selected < 0 ? n - 1 : Math.max(0, selected - 1), true);
  else if (e.key === 'Enter') reveal(selected);
  else return;
  e.preventDefault();
});

physCanvas.addEventListener('mousemove', (e) => {
  if (!model || !ix) return;
  const addr = pvp.start + e.offsetX * pvp.bytesPerPixel;
  const k = physNear(ix, addr, 3 * pvp.bytesPerPixel);
  if (k < 0) { tip.hidden = true; return; }
  const r = rangeAt(model.ranges, model.ranges.physOrder[k]);
  const f = model.findings.filter((x) => x.iova === r.iova);
  showTip(e, `phys ${r.phys}..${hexAt(ix.phys.ends[k] - 1)} (${r.size})\nmapped at IOVA ${r.iova}, prot ${r.prot}, line ${r.line}${f.map((x) => `\nfinding: ${x.message}`).join('')}`);
});
physCanvas.addEventListener('mouseleave', () => { tip.hidden = true; });
physCanvas.addEventListener('click', (e) => {
  if (!model || !ix) return;
  const k = physNear(ix, pvp.start + e.offsetX * pvp.bytesPerPixel, 3 * pvp.bytesPerPixel);
  if (k >= 0) { select(model.ranges.physOrder[k], true); reveal(model.ranges.physOrder[k]); }
});
physCanvas.addEventListener('wheel', (e) => {
  e.preventDefault();
  const addr = pvp.start + e.offsetX * pvp.bytesPerPixel;
  pvp.bytesPerPixel = Math.max(1 / 8, pvp.bytesPerPixel * (e.deltaY > 0 ? 2 : 0.5));
  pvp.start = Math.max(0, addr - e.offsetX * pvp.bytesPerPixel);
  redraw();
}, { passive: false });
physCanvas.addEventListener('keydown', (e) => {
  const w = widthOf(physCanvas);
  if (e.key === '+' || e.key === '=') pvp.bytesPerPixel = Math.max(1 / 8, pvp.bytesPerPixel / 2);
  else if (e.key === '-') pvp.bytesPerPixel *= 2;
  else if (e.key === 'ArrowLeft') pvp.start = Math.max(0, pvp.start - (w / 4) * pvp.bytesPerPixel);
  else if (e.key === 'ArrowRight') pvp.start += (w / 4) * pvp.bytesPerPixel;
  else if (e.key === 'Home') fitPhys();
  else return;
  e.preventDefault();
  redraw();
});

// ---- toolbar -------------------------------------------------------------------

picker.addEventListener('change', () => {
  if (picker.value && picker.value !== model?.domain) vscode.postMessage({ type: 'iovaMap/domain', domain: picker.value });
});
$<HTMLElement>('zoom-in').addEventListener('click', () => zoom(0.5, widthOf(canvas) / 2));
$<HTMLElement>('zoom-out').addEventListener('click', () => zoom(2, widthOf(canvas) / 2));
$<HTMLElement>('zoom-fit').addEventListener('click', () => { fitAll(); redraw(); persist(); });
$<HTMLElement>('compare-pin').addEventListener('click', () => {
  if (state) vscode.postMessage({ type: 'iovaMap/compare', event: state.position.event });
});
$<HTMLElement>('compare-clear').addEventListener('click', () => vscode.postMessage({ type: 'iovaMap/compare', event: null }));

function step(dir: 1 | -1): void {
  const p = state?.position;
  if (!p) return;
  // Statement stops: the state after a statement is the event before the next statement starts.
  const ends = p.statements.map((s, i) => (i + 1 < p.statements.length ? p.statements[i + 1].event - 1 : (p.total ?? s.event + 1) - 1));
  const next = dir > 0 ? ends.find((e) => e > p.event) : [...ends].reverse().find((e) => e < p.event);
  if (next !== undefined) vscode.postMessage({ type: 'iovaMap/seek', event: next });
}
$<HTMLElement>('prev').addEventListener('click', () => step(-1));
$<HTMLElement>('next').addEventListener('click', () => step(1));

/** Both pictures as one SVG document (the IOVA space above, physical memory below). */
function pictureSvg(): { svg: string; width: number; height: number } | undefined {
  if (!model || !ix) return undefined;
  const w = widthOf(canvas);
  const c = colours();
  const top = svgPainter();
  top.text(2, 2, `IOVA map of ${model.domain}, ${state ? pos.textContent ?? '' : ''}`, c.text);
  const map = svgPainter();
  drawIovaMap(map, w, model, ix, vp, c, state?.compare ?? null, selected);
  const phys = svgPainter();
  phys.text(2, 0, 'Physical memory', c.text);
  const physBody = svgPainter();
  drawPhys(physBody, w, model, ix, pvp, c, selected);
  const height = 20 + ROWS.height + 18 + PHYS_ROWS.height;
  const all = svgPainter();
  all.body.push(...top.body, `<g transform="translate(0,20)">${map.body.join('')}</g>`, `<g transform="translate(0,${20 + ROWS.height + 2})">${phys.body.join('')}</g>`, `<g transform="translate(0,${20 + ROWS.height + 18})">${physBody.body.join('')}</g>`);
  return { svg: all.svg(w, height, c.background, `IOVA map of ${model.domain}`), width: w, height };
}

async function exportAs(format: 'svg' | 'png' | 'json'): Promise<void> {
  if (!state || !model) {
    status.textContent = 'Nothing to export yet.';
    return;
  }
  let data: string;
  if (format === 'json') {
    const m = model;
    const allocations = [];
    for (let i = 0; i < m.allocations.count; i++) {
      allocations.push({ start: hexOfHalves(m.allocations.start[2 * i], m.allocations.start[2 * i + 1]), end: hexOfHalves(m.allocations.end[2 * i], m.allocations.end[2 * i + 1]), pages: m.allocations.pages[i], cached: m.allocations.cached[i] === 1 });
    }
    data = JSON.stringify({
      position: state.position, domain: m.domain, granule: m.granule, aperture: [m.aperture.startHex, m.aperture.endHex], apertureBits: m.apertureBits,
      ranges: rangesOf(m.ranges).map((r) => ({ iova: r.iova, phys: r.phys, size: r.size, prot: r.prot, line: r.line, exposed: r.exposed })),
      allocations, flushQueue: m.flushQueue.map((f) => ({ cpu: f.cpu, iova: f.iova, pages: f.pages, counter: f.counter })), rcache: m.rcache,
      change: m.change.map((d) => ({ kind: d.kind, iova: d.iova, size: d.size, before: d.before, after: d.after })),
      compare: state.compare ? { event: state.compare.event, line: state.compare.line, total: state.compare.total, diff: state.compare.diff.map((d) => ({ kind: d.kind, iova: d.iova, size: d.size, before: d.before, after: d.after })) } : null,
      findings: m.findings, findingCount: m.findingCount, exposedBytes: m.exposedBytes,
    }, null, 2);
  } else {
    const pic = pictureSvg();
    if (!pic) return;
    data = format === 'svg' ? pic.svg : await svgToPng(pic.svg, pic.width, pic.height);
  }
  vscode.postMessage({ type: 'iovaMap/export', requestId: nextRequest++, format, data });
}
for (const f of ['svg', 'png', 'json'] as const) {
  $<HTMLElement>(`export-${f}`).addEventListener('click', () => {
    exportAs(f).catch((e: unknown) => {
      status.textContent = `Export failed: ${e instanceof Error ? e.message : String(e)}`;
    });
  });
}

window.addEventListener('resize', () => { clampView(); redraw(); });
// A theme change (light, dark, high contrast) recolours the canvases.
new MutationObserver(() => redraw()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
window.addEventListener('message', (e: MessageEvent<IovaMapToWebview>) => {
  const m = e.data;
  if (m.type === 'iovaMap/state' || m.type === 'iovaMap/delta') {
    if (!painted) performance.mark('iova-map-received');
    // A step's delta rebuilds the whole state from the one held; one that does not fit asks for the whole state.
    const whole = received.receive(m);
    if (whole === 'resync') vscode.postMessage({ type: 'iovaMap/resync', have: received.heldSeq() });
    else {
      // Counted for the e2e check that a debug step came as a delta.
      if (m.type === 'iovaMap/delta') performance.mark('iova-map-delta');
      render(whole);
    }
  }
  else if (m.type === 'iovaMap/error') info.textContent = m.message;
  else if (m.type === 'iovaMap/exported') status.textContent = m.path ? `Saved ${m.path}` : 'Export cancelled';
});

vscode.postMessage({ type: 'iovaMap/ready' });
