// The translation walk webview: receives the walk state from the host,
// renders the bands and grids (render.ts), lets the user pick another walk
// site or type a device/address/PASID, steps the position by statement,
// shows a tooltip on hover and the descriptor's bits on selection, exports
// the view (SVG, PNG) and its data (JSON). Target and selection persist
// through setState, so a reload (WebviewPanelSerializer) restores them.

import type { WalkFromWebview, WalkPersistedState, WalkState, WalkTarget, WalkToWebview } from '../../src/protocol';
import { svgToPng, themeColour } from '../common/export-image';
import { dropdown, fillDropdown, registerToolkit, textField } from '../common/toolkit';
import { moveFocus, renderBands, renderDetail, type RenderedCell } from './render';
import { walkSvg } from './walk-svg';

interface VsCodeApi { postMessage(m: WalkFromWebview): void; getState(): WalkPersistedState | undefined; setState(s: WalkPersistedState): void }
declare function acquireVsCodeApi(): VsCodeApi;

registerToolkit();

const vscode = acquireVsCodeApi();
const saved: WalkPersistedState = vscode.getState() ?? {};
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const site = dropdown('site');
const device = dropdown('device');
const addr = textField('addr');
const pasid = textField('pasid');
const access = dropdown('access');
const summary = $<HTMLElement>('summary');
const fault = $<HTMLElement>('fault');
const bands = $<HTMLElement>('bands');
const detail = $<HTMLElement>('detail');
const tip = $<HTMLElement>('tooltip');
const pos = $<HTMLElement>('pos');
const status = $<HTMLElement>('status');

let state: WalkState | undefined;
let cells: RenderedCell[] = [];
let focused = 0;
let selected: string | undefined = saved.selected;
let nextRequest = 1;

function persist(): void {
  vscode.setState({ uri: state?.position.uri ?? saved.uri, target: state?.target ?? saved.target, selected });
}

function targetLabel(t: WalkTarget): string {
  const call = t.access === 'read' ? 'dev_read' : t.access === 'write' ? 'dev_write' : 'translate';
  return `line ${t.line}: ${call}(${t.device}, ${t.addr}${t.pasid !== null ? `, pasid = ${t.pasid}` : ''})`;
}

function sameTarget(a: WalkTarget, b: WalkTarget): boolean {
  return a.line === b.line && a.device === b.device && a.addr === b.addr && a.pasid === b.pasid && a.access === b.access;
}

function fillPickers(s: WalkState): void {
  const choices = s.targets.map((t, i) => ({ value: String(i), label: targetLabel(t) }));
  const at = s.targets.findIndex((t) => sameTarget(t, s.target));
  if (at < 0) choices.unshift({ value: 'typed', label: `typed: ${targetLabel({ ...s.target, line: 0 }).replace(/^line 0: /, '')}` });
  fillDropdown(site, choices, at < 0 ? 'typed' : String(at));
  fillDropdown(device, s.devices.map((d) => ({ value: d, label: d })), s.target.device);
  addr.value = s.target.addr;
  pasid.value = s.target.pasid === null ? '' : String(s.target.pasid);
  access.value = s.target.access ?? '';
}

function select(id: string | undefined, focus: boolean): void {
  selected = id;
  const i = cells.findIndex((c) => c.cell.id === id);
  for (const c of cells) c.el.setAttribute('aria-selected', String(c.cell.id === id));
  renderDetail(detail, cells[i]?.cell);
  if (i >= 0) setFocus(i, focus);
  persist();
}

function setFocus(i: number, focus: boolean): void {
  if (!cells[i]) return;
  cells[focused]?.el.setAttribute('tabindex', '-1');
  focused = i;
  cells[i].el.setAttribute('tabindex', '0');
  if (focus) cells[i].el.focus();
}

function positionText(s: WalkState): string {
  const p = s.position;
  const where = p.source === 'debug' ? 'debugger at' : 'state at';
  return `${where} event ${p.event + 1}${p.total !== null ? ` of ${p.total}` : ''}${p.line ? ` (line ${p.line})` : ''}`;
}

function render(s: WalkState): void {
  state = s;
  fillPickers(s);
  pos.textContent = positionText(s);
  const m = s.model;
  if (!m) {
    summary.replaceChildren(s.error ?? 'Nothing to walk.');
    fault.hidden = true;
    cells = renderBands(bands, null);
    renderDetail(detail, undefined);
    persist();
    return;
  }
  const iotlb = document.createElement('span');
  // A hit through an entry the page table no longer backs (a deferred invalidation) is the DMA sanitizer's stale-IOTLB finding.
  iotlb.className = `badge ${m.staleIotlb ? 'stale' : m.iotlbHit ? 'hit' : 'miss'}`;
  iotlb.textContent = m.staleIotlb ? 'stale IOTLB hit' : m.iotlbHit ? 'IOTLB hit' : 'IOTLB miss';
  if (m.staleIotlb) iotlb.title = 'The IOTLB still holds a translation the page table no longer has: a DMA sanitizer finding (sanitize_stale_iotlb)';
  const title = document.createElement('h1');
  title.textContent = m.title;
  const line = document.createElement('p');
  line.textContent = m.summary;
  const parts: Node[] = [title, line];
  if (m.bands.length > 0) parts.splice(1, 0, iotlb);
  if (s.target.line > 0) {
    const a = document.createElement('a');
    a.href = '#';
    a.id = 'reveal';
    a.textContent = `line ${s.target.line}`;
    a.onclick = (e) => {
      e.preventDefault();
      vscode.postMessage({ type: 'walk/revealLine', line: s.target.line });
    };
    const p = document.createElement('p');
    p.append('from ', a, ` · accesses ${m.accesses}${m.domains.length ? ` · through ${m.domains.join(' → ')}` : ''}`);
    parts.push(p);
  }
  summary.replaceChildren(...parts);
  if (m.fault) {
    fault.hidden = false;
    const h = document.createElement('strong');
    h.textContent = `Fault${m.fault.where ? ` at ${m.fault.where}` : ''}: `;
    const reason = document.createElement('span');
    reason.textContent = m.fault.reason;
    const kernel = document.createElement('pre');
    kernel.textContent = m.fault.kernelLine ?? 'translate() raises no fault: a dev_read or dev_write here would.';
    fault.replaceChildren(h, reason, kernel);
  } else {
    fault.hidden = true;
  }
  cells = renderBands(bands, m);
  focused = 0;
  if (cells[0]) cells[0].el.setAttribute('tabindex', '0');
  const keep = cells.some((c) => c.cell.id === selected) ? selected : m.fault?.cell ?? undefined;
  select(keep, false);
}

// ---- events -------------------------------------------------------------

bands.addEventListener('click', (e) => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.cell');
  if (b) select(b.dataset.id, true);
});

bands.addEventListener('keydown', (e) => {
  const i = cells.findIndex((c) => c.el === document.activeElement);
  if (i < 0) return;
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    select(cells[i].cell.id, true);
    return;
  }
  const next = moveFocus(cells, i, e.key);
  if (next === undefined) return;
  e.preventDefault();
  setFocus(next, true);
});

function showTip(b: HTMLButtonElement): void {
  const c = cells.find((x) => x.el === b)?.cell;
  if (!c) return;
  tip.textContent = `${c.summary}\n${c.desc} read at ${c.descAddr} (${c.table}[${c.index}])${c.invalidWhy ? `\n${c.invalidWhy}` : ''}${c.faulted ? '\nthe walk stopped here' : ''}`;
  const r = b.getBoundingClientRect();
  tip.style.left = `${Math.max(0, r.left + window.scrollX)}px`;
  tip.style.top = `${r.bottom + window.scrollY + 4}px`;
  tip.hidden = false;
}

bands.addEventListener('mouseover', (e) => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.cell');
  if (b) showTip(b);
});
bands.addEventListener('mouseout', (e) => {
  if (!(e.relatedTarget instanceof Node) || !bands.contains(e.relatedTarget)) tip.hidden = true;
});
bands.addEventListener('focusin', (e) => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.cell');
  if (b) showTip(b);
});
bands.addEventListener('focusout', () => {
  tip.hidden = true;
});

site.addEventListener('change', () => {
  const t = state?.targets[Number(site.value)];
  if (t) vscode.postMessage({ type: 'walk/probe', target: t });
});

function typedTarget(): WalkTarget | string {
  const a = addr.value.trim().replace(/_/g, '');
  if (!/^0x[0-9a-fA-F]{1,16}$/.test(a)) return 'The address must be hex, 0x...';
  const p = pasid.value.trim();
  if (p !== '' && !/^\d+$/.test(p)) return 'The PASID must be a number, or empty for none';
  const acc = access.value === 'read' || access.value === 'write' ? access.value : null;
  return { device: device.value, addr: a.toLowerCase(), pasid: p === '' ? null : Number(p), access: acc, line: 0 };
}

function walkTyped(): void {
  const t = typedTarget();
  if (typeof t === 'string') {
    status.textContent = t;
    return;
  }
  status.textContent = '';
  vscode.postMessage({ type: 'walk/probe', target: t });
}
$<HTMLElement>('walk').addEventListener('click', walkTyped);
for (const field of [addr, pasid]) {
  field.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      walkTyped();
    }
  });
}

function step(dir: 1 | -1): void {
  const p = state?.position;
  if (!p) return;
  const stops = p.statements;
  const next = dir > 0 ? stops.find((s) => s.event > p.event) : [...stops].reverse().find((s) => s.event < p.event);
  if (next) vscode.postMessage({ type: 'walk/seek', event: next.event });
}
$<HTMLElement>('prev').addEventListener('click', () => step(-1));
$<HTMLElement>('next').addEventListener('click', () => step(1));

function colours(): Parameters<typeof walkSvg>[1] {
  return {
    background: themeColour('--vscode-editor-background', '#1e1e1e'),
    text: themeColour('--vscode-foreground', '#cccccc'),
    muted: themeColour('--vscode-descriptionForeground', '#9d9d9d'),
    table: themeColour('--vscode-charts-blue', '#3794ff'),
    leaf: themeColour('--vscode-charts-green', '#89d185'),
    invalid: themeColour('--vscode-charts-red', '#f14c4c'),
    stage2: themeColour('--vscode-charts-purple', '#b180d7'),
    fault: themeColour('--vscode-errorForeground', '#f48771'),
    border: themeColour('--vscode-panel-border', '#80808059'),
  };
}

async function exportAs(format: 'svg' | 'png' | 'json'): Promise<void> {
  const m = state?.model;
  if (!m || !state) return;
  let data: string;
  if (format === 'json') {
    data = JSON.stringify({ position: state.position, target: state.target, walk: m }, null, 2);
  } else {
    const pic = walkSvg(m, colours());
    data = format === 'svg' ? pic.svg : await svgToPng(pic.svg, pic.width, pic.height);
  }
  vscode.postMessage({ type: 'walk/export', requestId: nextRequest++, format, data });
}
for (const f of ['svg', 'png', 'json'] as const) {
  $<HTMLElement>(`export-${f}`).addEventListener('click', () => {
    exportAs(f).catch((e: unknown) => {
      status.textContent = `Export failed: ${e instanceof Error ? e.message : String(e)}`;
    });
  });
}

window.addEventListener('message', (e: MessageEvent<WalkToWebview>) => {
  const m = e.data;
  if (m.type === 'walk/state') render(m.state);
  else if (m.type === 'walk/error') {
    summary.textContent = m.message;
    fault.hidden = true;
  } else if (m.type === 'walk/exported') status.textContent = m.path ? `Saved ${m.path}` : 'Export cancelled';
});

vscode.postMessage({ type: 'walk/ready' });
