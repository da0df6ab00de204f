// The IOVA map webview: receives the state from the host, draws it on a
// canvas, zooms (+/-, wheel) and pans (arrows), shows a tooltip on hover and
// asks the host to reveal the scenario line on click. Zoom and scroll persist
// through vscode.setState so a reload restores them.

import type { IovaMapFromWebview, IovaMapPersistedState, IovaMapToWebview } from '../../src/protocol';
import { buildIovaMapModel, type IovaMapModel } from '../../src/panels/iova-map-model';
import { drawMap, indexRanges, rangeAt, toNum, type Colours, type RangeIndex, type Viewport } from './draw';

interface VsCodeApi { postMessage(m: IovaMapFromWebview): void; getState(): IovaMapPersistedState | undefined; setState(s: IovaMapPersistedState): void }
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const saved = vscode.getState() ?? {};
const canvas = document.getElementById('map') as HTMLCanvasElement;
const tip = document.getElementById('tooltip') as HTMLDivElement;
const picker = document.getElementById('domain') as HTMLSelectElement;
const info = document.getElementById('info') as HTMLDivElement;
let model: IovaMapModel | undefined;
let ix: RangeIndex = indexRanges([]);
let vp: Viewport = { start: 0, bytesPerPixel: 1 };
let lastState: Extract<IovaMapToWebview, { type: 'iovaMap/state' }>['state'] | undefined;

function colours(): Colours {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
  return {
    r: v('--vscode-charts-blue', '#3794ff'), w: v('--vscode-charts-orange', '#d18616'), rw: v('--vscode-charts-green', '#89d185'),
    none: v('--vscode-charts-red', '#f14c4c'), mmio: v('--vscode-charts-purple', '#b180d7'), hole: v('--vscode-editor-background', '#1e1e1e'),
    boundary: v('--vscode-charts-yellow', '#cca700'), change: v('--vscode-editorCursor-foreground', '#ffffff'), alloc: v('--vscode-charts-foreground', '#cccccc'),
    fq: v('--vscode-charts-red', '#f14c4c'), text: v('--vscode-foreground', '#cccccc'),
  };
}

function persist(): void {
  vscode.setState({ ...saved, uri: lastState?.position.uri ?? saved.uri, domain: model?.domain, viewStart: vp.start.toString(16), log2BytesPerPixel: Math.log2(vp.bytesPerPixel) });
}

function redraw(): void {
  const ctx = canvas.getContext('2d');
  if (!ctx || !model) return;
  canvas.width = canvas.clientWidth || 800;
  drawMap(ctx, canvas.width, canvas.height, model, ix, vp, colours());
  info.textContent = `${model.domain}: ${model.ranges.length} mappings, aperture ${model.aperture.startHex}..${model.aperture.endHex} (${model.apertureBits} bits)` +
    `, ${model.findings.length} finding(s)${model.change.length ? `, this event: ${model.change.map((c) => `${c.kind} ${c.iova}`).join(', ')}` : ''}`;
  canvas.setAttribute('aria-label', info.textContent);
}

function fitAll(): void {
  if (!model) return;
  const span = toNum(model.aperture.end) - toNum(model.aperture.start);
  vp = { start: toNum(model.aperture.start), bytesPerPixel: Math.max(1 / 64, span / (canvas.clientWidth || 800)) };
}

function zoom(factor: number, atX: number): void {
  const addr = vp.start + atX * vp.bytesPerPixel;
  vp = { bytesPerPixel: Math.max(1 / 64, vp.bytesPerPixel * factor), start: 0 };
  vp.start = Math.max(0, addr - atX * vp.bytesPerPixel);
  redraw();
  persist();
}

function setModel(domain: string | undefined): void {
  if (!lastState) return;
  const domains = lastState.machine.domains.filter((d) => d.mappings.length > 0 || d.iova !== null).map((d) => d.label);
  picker.replaceChildren(...domains.map((l) => new Option(l, l)));
  const label = domain && domains.includes(domain) ? domain : domains[0];
  if (!label) { info.textContent = 'No IOMMU domain with mappings at this position.'; model = undefined; return; }
  picker.value = label;
  const first = model === undefined;
  model = buildIovaMapModel(lastState.machine, label, lastState.previous);
  ix = indexRanges(model?.ranges ?? []);
  if (first && saved.log2BytesPerPixel !== undefined && saved.viewStart !== undefined) vp = { start: parseInt(saved.viewStart, 16), bytesPerPixel: 2 ** saved.log2BytesPerPixel };
  else if (first) fitAll();
  redraw();
}

window.addEventListener('message', (e: MessageEvent<IovaMapToWebview>) => {
  const m = e.data;
  if (m.type === 'iovaMap/state') { lastState = m.state; setModel(m.selectDomain ?? model?.domain ?? saved.domain); persist(); }
  else if (m.type === 'iovaMap/error') info.textContent = m.message;
});
picker.addEventListener('change', () => { model = undefined; setModel(picker.value); persist(); });
canvas.addEventListener('wheel', (e) => { e.preventDefault(); zoom(e.deltaY > 0 ? 2 : 0.5, e.offsetX); }, { passive: false });
canvas.addEventListener('keydown', (e) => {
  const w = canvas.width;
  if (e.key === '+' || e.key === '=') zoom(0.5, w / 2);
  else if (e.key === '-') zoom(2, w / 2);
  else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
    vp.start = Math.max(0, vp.start + (e.key === 'ArrowLeft' ? -1 : 1) * vp.bytesPerPixel * w / 4);
    redraw();
    persist();
  } else if (e.key === 'Home') { fitAll(); redraw(); persist(); } else return;
  e.preventDefault();
});
canvas.addEventListener('mousemove', (e) => {
  const r = rangeAt(ix, vp.start + e.offsetX * vp.bytesPerPixel);
  if (!r) { tip.hidden = true; return; }
  tip.hidden = false;
  tip.textContent = `IOVA ${r.iova}  phys ${r.phys}  size ${r.size}  prot ${r.prot}  line ${r.line}`;
  tip.style.left = `${e.offsetX + 8}px`;
});
canvas.addEventListener('click', (e) => {
  const r = rangeAt(ix, vp.start + e.offsetX * vp.bytesPerPixel);
  if (r && r.line > 0) vscode.postMessage({ type: 'iovaMap/revealLine', line: r.line });
});
window.addEventListener('resize', redraw);
vscode.postMessage({ type: 'iovaMap/ready' });
