// The bounce buffers webview: the swiotlb pool picked (default, dynamic or
// transient) as a slot map on a canvas with its areas, a table of the slot
// runs in use, the selected run's detail with the bytes where bounce and
// original differ, and each VDUSE instance's bounce maps. The DMA sanitizer's
// findings on bounce memory are listed above (a row selects the run it
// touched, Enter or its line link goes to the line) and outline their runs.
// Hover shows a run, click or arrows select one, Enter reveals the line that
// mapped it. Pool and selection persist through setState for the panel
// serializer.

import type { BounceFindingModel, PoolModel, SlotRunModel, VduseModel } from '../../src/panels/bounce-model';
import type { BounceFromWebview, BouncePersistedState, BounceState, BounceToWebview } from '../../src/protocol';
import { themeColour } from '../common/export-image';
import { dropdown, fillDropdown, registerToolkit } from '../common/toolkit';
import { drawSlots, layoutFor, runAt, slotAt, slotMapSvg, type SlotColours, type SlotLayout } from './slot-map';

interface VsCodeApi { postMessage(m: BounceFromWebview): void; getState(): BouncePersistedState | undefined; setState(s: BouncePersistedState): void }
declare function acquireVsCodeApi(): VsCodeApi;

registerToolkit();

const vscode = acquireVsCodeApi();
const saved: BouncePersistedState = vscode.getState() ?? {};
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const poolPick = dropdown('pool');
const canvas = $<HTMLCanvasElement>('slots');
const tip = $<HTMLElement>('tooltip');
const summary = $<HTMLElement>('summary');
const poolInfo = $<HTMLElement>('pool-info');
const runsBody = $<HTMLElement>('runs-body');
const detail = $<HTMLElement>('detail');
const vduseRoot = $<HTMLElement>('vduse');
const swiotlbRoot = $<HTMLElement>('swiotlb');
const findingsRoot = $<HTMLElement>('findings');
const pos = $<HTMLElement>('pos');
const status = $<HTMLElement>('status');

let state: BounceState | undefined;
let pool: PoolModel | undefined;
let layout: SlotLayout | undefined;
let selected: string | undefined = saved.selected;
let nextRequest = 1;

function colours(): SlotColours & { text: string } {
  return {
    finding: themeColour('--vscode-editorError-foreground', '#f14c4c'),
    free: themeColour('--vscode-editorWidget-background', '#252526'),
    'in-sync': themeColour('--vscode-charts-green', '#89d185'),
    'out-of-sync': themeColour('--vscode-charts-red', '#f14c4c'),
    'in-use': themeColour('--vscode-charts-blue', '#3794ff'),
    pad: themeColour('--vscode-charts-yellow', '#cca700'),
    area: themeColour('--vscode-descriptionForeground', '#9d9d9d'),
    selected: themeColour('--vscode-focusBorder', '#007fd4'),
    background: themeColour('--vscode-editor-background', '#1e1e1e'),
    text: themeColour('--vscode-foreground', '#cccccc'),
  };
}

function persist(): void {
  vscode.setState({ uri: state?.position.uri ?? saved.uri, pool: pool?.id ?? saved.pool, selected });
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function lineLink(line: number): HTMLAnchorElement {
  const a = el('a', { href: '#', class: 'line', 'aria-label': `Go to line ${line}` }, `line ${line}`);
  a.addEventListener('click', (e) => {
    e.preventDefault();
    vscode.postMessage({ type: 'bounce/revealLine', line });
  });
  return a;
}

function byteText(b: number): string {
  const c = b >= 0x20 && b < 0x7f ? ` '${String.fromCharCode(b)}'` : '';
  return `0x${b.toString(16).padStart(2, '0')}${c}`;
}

function redraw(): void {
  if (!pool) return;
  const width = Math.max(256, swiotlbRoot.clientWidth - 4 || 800);
  layout = layoutFor(pool.nslabs, width);
  canvas.width = layout.width;
  canvas.height = layout.height;
  canvas.style.width = `${layout.width}px`;
  canvas.style.height = `${layout.height}px`;
  const ctx = canvas.getContext('2d');
  if (ctx) drawSlots(ctx, pool, layout, colours(), selected);
}

function renderDetail(r: SlotRunModel | undefined): void {
  if (!r) {
    detail.replaceChildren(el('p', { class: 'hint' }, 'Select a slot run (click the map, arrows on the map, or the table) to see its bytes.'));
    return;
  }
  const parts: Node[] = [el('h3', {}, r.state === 'free' ? `Free slots ${r.index}..${r.index + r.count - 1}` : `Slots ${r.index}..${r.index + r.count - 1}`)];
  const dl = el('dl');
  const row = (k: string, v: Node | string): void => {
    dl.append(el('dt', {}, k), el('dd', {}, v));
  };
  row('slot addresses', `${r.addr} .. ${r.end}`);
  row('area', String(r.area));
  if (r.state !== 'free') {
    row('orig_addr', r.origAddr ?? '?');
    row('alloc_size', String(r.allocSize));
    if (r.padSlots) row('padding slots', String(r.padSlots));
    row('direction', r.dir ?? '?');
    row('bounce and original', r.inSync === null ? 'not compared' : r.inSync ? 'in sync' : 'differ');
    if (r.mapping) {
      const p = el('span', {}, `${r.mapping.device} dma ${r.mapping.dma}, ${r.mapping.size} bytes, mapped at `);
      p.append(lineLink(r.mapping.line));
      row('mapping', p);
    }
  }
  parts.push(dl);
  if (r.findings) {
    const ul = el('ul', { class: 'findings', 'aria-label': 'DMA sanitizer findings on these slots' });
    for (const f of r.findings) ul.append(el('li', {}, lineLink(f.line), `: ${f.message}`));
    parts.push(el('h3', {}, `DMA sanitizer: ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'} on these slots`), ul);
  }
  if (r.diff && r.diff.differing > 0) {
    const t = el('table', { class: 'bytes', 'aria-label': 'Bytes where the bounce slot and the original differ' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'offset'), el('th', { scope: 'col' }, 'bounce (device sees)'), el('th', { scope: 'col' }, 'original (CPU sees)'))));
    const tb = el('tbody');
    for (const d of r.diff.bytes) tb.append(el('tr', {}, el('td', {}, `+0x${d.offset.toString(16)}`), el('td', {}, byteText(d.bounce)), el('td', {}, byteText(d.orig))));
    t.append(tb);
    parts.push(el('p', {}, `${r.diff.differing} of ${r.diff.compared} bytes differ${r.diff.listedAll ? '' : ` (the first ${r.diff.bytes.length} listed)`}:`), t);
  }
  detail.replaceChildren(...parts);
}

function select(id: string | undefined, reveal = false): void {
  selected = id;
  const r = pool?.runs.find((x) => x.id === id);
  renderDetail(r);
  for (const tr of Array.from(runsBody.querySelectorAll('tr'))) tr.setAttribute('aria-selected', String(tr.dataset.id === id));
  redraw();
  canvas.setAttribute('aria-label', `Slot map of the ${pool?.label ?? 'pool'}: ${pool?.used ?? 0} of ${pool?.nslabs ?? 0} slots in use${r ? `; selected: ${r.label}` : ''}. Arrows select the next or previous run in use, Enter goes to its line.`);
  if (reveal && r?.mapping) vscode.postMessage({ type: 'bounce/revealLine', line: r.mapping.line });
  persist();
}

function renderRuns(): void {
  const rows = (pool?.inUse ?? []).map((r) => {
    const tr = el('tr', { 'data-id': r.id, tabindex: '0', class: `state-${r.state}`, 'aria-label': r.label },
      el('td', {}, `${r.index}..${r.index + r.count - 1}`),
      el('td', {}, r.origAddr ?? '?'),
      el('td', {}, String(r.allocSize)),
      el('td', {}, r.dir ?? '?'),
      el('td', {}, r.inSync === null ? '?' : r.inSync ? 'in sync' : `${r.diff?.differing ?? '?'} bytes differ`,
        ...(r.findings ? [el('span', { class: 'finding' }, `; DMA sanitizer: line ${[...new Set(r.findings.map((f) => f.line))].join(', ')}`)] : [])),
      el('td', {}, r.mapping ? lineLink(r.mapping.line) : ''));
    tr.addEventListener('click', () => select(r.id));
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') select(r.id, true);
      else if (e.key === ' ') {
        e.preventDefault();
        select(r.id);
      }
    });
    return tr;
  });
  runsBody.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '6', class: 'hint' }, 'No slot in use in this pool.'))]));
}

function showPool(id: string | undefined): void {
  const sw = state?.model.swiotlb;
  pool = sw?.pools.find((p) => p.id === id) ?? sw?.pools[0];
  if (!pool) return;
  if (poolPick.value !== pool.id) poolPick.value = pool.id;
  poolInfo.textContent = `${pool.label}: ${pool.start}..${pool.end} (${pool.bytes} bytes), ${pool.nslabs} slots of ${pool.slotSize} bytes in ${pool.nareas} area${pool.nareas === 1 ? '' : 's'} (${pool.areas.map((a) => `area ${a.area}: ${a.used} used, next search at ${a.nextIndex}`).join('; ')})`;
  renderRuns();
  select(pool.runs.some((r) => r.id === selected) ? selected : undefined);
}

function renderVduse(list: VduseModel[]): void {
  vduseRoot.replaceChildren(...list.map((v) => {
    const sec = el('section', { class: 'vduse', 'aria-label': `VDUSE ${v.iommu}` });
    const withPage = v.maps.filter((m) => m.hasBouncePage).length;
    sec.append(el('h2', {}, `VDUSE ${v.iommu} (${v.name})`),
      el('p', {}, `bounce area 0..${v.bounceSize}: ${v.mapsTotal} bounce maps of 4K, ${withPage} with a bounce page; IOVA limit ${v.iovaLimit}`));
    const strip = el('canvas', { class: 'strip', role: 'img', 'aria-label': `Where the ${withPage} bounce maps with a page sit in the bounce area` }) as HTMLCanvasElement;
    sec.append(strip);
    const t = el('table', { class: 'maps', 'aria-label': `Bounce maps of ${v.iommu}` },
      el('thead', {}, el('tr', {}, ...['map', 'IOVA', 'bounce page', 'orig_phys', 'mapping', 'bounce and original'].map((h) => el('th', { scope: 'col' }, h)))));
    const tb = el('tbody');
    for (const m of v.maps) {
      tb.append(el('tr', { tabindex: '0', 'aria-label': m.label, class: m.inSync === false ? 'state-out-of-sync' : '' },
        el('td', {}, String(m.index)), el('td', {}, m.iova), el('td', {}, m.bouncePage ?? 'none'), el('td', {}, m.origPhys ?? 'INVALID_PHYS_ADDR'),
        el('td', {}, m.mapping ? el('span', {}, `${m.mapping.device} ${m.mapping.dir} `, lineLink(m.mapping.line)) : ''),
        el('td', {}, m.inSync === null ? '' : m.inSync ? 'in sync' : 'differ')));
    }
    if (v.maps.length === 0) tb.append(el('tr', {}, el('td', { colspan: '6', class: 'hint' }, 'No bounce map has a page yet: nothing was mapped.')));
    t.append(tb);
    sec.append(t);
    if (v.ranges.length) sec.append(el('p', { class: 'hint' }, `IOTLB ranges the daemon can reach: ${v.ranges.map((r) => `${r.start}..${r.last} → ${r.addr} ${r.perm}`).join('; ')}`));
    requestAnimationFrame(() => {
      const k = colours();
      strip.width = Math.max(256, sec.clientWidth - 4);
      strip.height = 14;
      const ctx = strip.getContext('2d');
      if (!ctx) return;
      ctx.fillStyle = k.free;
      ctx.fillRect(0, 0, strip.width, strip.height);
      for (const m of v.maps) {
        ctx.fillStyle = m.inSync === false ? k['out-of-sync'] : m.mapping ? k['in-sync'] : k['in-use'];
        ctx.fillRect(Math.floor((m.index / v.mapsTotal) * strip.width), 0, 2, strip.height);
      }
    });
    return sec;
  }));
}

/** The findings on bounce memory: what each touched; a row selects its slot run, Enter goes to its line. */
function renderFindings(list: BounceFindingModel[]): void {
  findingsRoot.hidden = list.length === 0;
  if (list.length === 0) {
    findingsRoot.replaceChildren();
    return;
  }
  const t = el('table', { 'aria-label': 'DMA sanitizer findings on bounce memory' },
    el('thead', {}, el('tr', {}, ...['line', 'device', 'touched', 'finding'].map((h) => el('th', { scope: 'col' }, h)))));
  const tb = el('tbody');
  for (const f of list) {
    const tr = el('tr', { tabindex: '0', 'aria-label': `Line ${f.line}: ${f.message}. Enter goes to the line.` },
      el('td', {}, lineLink(f.line)), el('td', {}, f.device ?? 'CPU'), el('td', {}, f.where.map(whereText).join(', ')), el('td', { class: 'finding' }, f.message));
    const run = f.where.find((w) => /^p\d+\.s\d+$/.test(w));
    const pick = (): void => {
      if (!run) return;
      const poolId = run.split('.')[0];
      if (pool?.id !== poolId) showPool(poolId);
      select(run);
    };
    tr.addEventListener('click', pick);
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') vscode.postMessage({ type: 'bounce/revealLine', line: f.line });
      else if (e.key === ' ') {
        e.preventDefault();
        pick();
      }
    });
    tb.append(tr);
  }
  t.append(tb);
  findingsRoot.replaceChildren(el('h2', {}, `DMA sanitizer: ${list.length} finding${list.length === 1 ? '' : 's'} on bounce memory`), t);
}

/** "p0.s12" as the slots it names; a VDUSE place as it is. */
function whereText(w: string): string {
  const m = /^p(\d+)\.s(\d+)$/.exec(w);
  if (!m) return w;
  const p = state?.model.swiotlb?.pools.find((x) => x.id === `p${m[1]}`);
  const r = p?.runs.find((x) => x.id === w);
  return `${p?.label ?? `pool ${m[1]}`} slots ${r ? `${r.index}..${r.index + r.count - 1}` : m[2]}`;
}

function render(s: BounceState): void {
  state = s;
  const p = s.position;
  pos.textContent = `${p.source === 'debug' ? 'debugger at' : 'state after'} event ${p.event + 1}${p.total !== null ? ` of ${p.total}` : ''}${p.line ? ` (line ${p.line})` : ''}`;
  summary.textContent = s.model.summary;
  renderFindings(s.model.findings);
  const sw = s.model.swiotlb;
  swiotlbRoot.hidden = !sw;
  if (sw) {
    fillDropdown(poolPick, sw.pools.map((x) => ({ value: x.id, label: `${x.label} (${x.used}/${x.nslabs})` })), pool?.id ?? saved.pool);
    $<HTMLElement>('sw-usage').textContent = `swiotlb pools${sw.forceBounce ? ' (swiotlb=force)' : ''}`;
    showPool(pool?.id ?? saved.pool);
  }
  renderVduse(s.model.vduse);
  persist();
}

// ---- events ---------------------------------------------------------------

function slotUnder(e: MouseEvent): number | undefined {
  // offsetX/Y: from the canvas's padding edge, where drawing starts (its border excluded).
  return pool && layout ? slotAt(layout, pool.nslabs, e.offsetX, e.offsetY) : undefined;
}

function runUnder(e: MouseEvent): SlotRunModel | undefined {
  if (!pool) return undefined;
  const slot = slotUnder(e);
  const i = slot === undefined ? undefined : runAt(pool.runs, slot);
  return i === undefined ? undefined : pool.runs[i];
}

canvas.addEventListener('mousemove', (e) => {
  const run = runUnder(e);
  if (!run || !pool || !layout) {
    tip.hidden = true;
    return;
  }
  const slot = slotUnder(e) ?? run.index;
  tip.textContent = `slot ${slot}\n${run.label}`;
  tip.style.left = `${e.clientX + window.scrollX + 12}px`;
  tip.style.top = `${e.clientY + window.scrollY + 12}px`;
  tip.hidden = false;
});
canvas.addEventListener('mouseleave', () => {
  tip.hidden = true;
});
canvas.addEventListener('click', (e) => {
  const run = runUnder(e);
  if (run) select(run.id);
});
canvas.addEventListener('keydown', (e) => {
  if (!pool) return;
  const list = pool.inUse.length ? pool.inUse : pool.runs;
  const i = list.findIndex((r) => r.id === selected);
  if (e.key === 'ArrowRight' || e.key === 'ArrowDown') select(list[Math.min(list.length - 1, i + 1)]?.id);
  else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') select(list[Math.max(0, i - 1)]?.id);
  else if (e.key === 'Home') select(list[0]?.id);
  else if (e.key === 'End') select(list[list.length - 1]?.id);
  else if (e.key === 'Enter') select(selected, true);
  else return;
  e.preventDefault();
});

poolPick.addEventListener('change', () => {
  selected = undefined;
  showPool(poolPick.value);
});

function step(dir: 1 | -1): void {
  const p = state?.position;
  if (!p) return;
  // Statement stops: the state after a statement is the event before the next statement starts.
  const ends = p.statements.map((s, i) => (i + 1 < p.statements.length ? p.statements[i + 1].event - 1 : (p.total ?? s.event + 1) - 1));
  const next = dir > 0 ? ends.find((e) => e > p.event) : [...ends].reverse().find((e) => e < p.event);
  if (next !== undefined) vscode.postMessage({ type: 'bounce/seek', event: next });
}
$<HTMLElement>('prev').addEventListener('click', () => step(-1));
$<HTMLElement>('next').addEventListener('click', () => step(1));

async function exportAs(format: 'svg' | 'png' | 'json'): Promise<void> {
  if (!state) return;
  let data: string;
  if (format === 'json') data = JSON.stringify({ position: state.position, bounce: state.model }, null, 2);
  else if (!pool || !layout) data = '';
  else if (format === 'png') data = canvas.toDataURL('image/png');
  else data = slotMapSvg(pool, layout, colours(), `${pool.label}: ${pool.used} of ${pool.nslabs} slots in use`).svg;
  if (!data) {
    status.textContent = 'No swiotlb pool to draw: export JSON instead.';
    return;
  }
  vscode.postMessage({ type: 'bounce/export', requestId: nextRequest++, format, data });
}
for (const f of ['svg', 'png', 'json'] as const) {
  $<HTMLElement>(`export-${f}`).addEventListener('click', () => {
    exportAs(f).catch((e: unknown) => {
      status.textContent = `Export failed: ${e instanceof Error ? e.message : String(e)}`;
    });
  });
}

window.addEventListener('resize', () => redraw());
window.addEventListener('message', (e: MessageEvent<BounceToWebview>) => {
  const m = e.data;
  if (m.type === 'bounce/state') render(m.state);
  else if (m.type === 'bounce/error') summary.textContent = m.message;
  else if (m.type === 'bounce/exported') status.textContent = m.path ? `Saved ${m.path}` : 'Export cancelled';
});

vscode.postMessage({ type: 'bounce/ready' });
