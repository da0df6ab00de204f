// The translation walk panel's host side: one WebviewPanel beside the
// editor. Without the debugger it runs the scenario (ScenarioTimeline, cached
// per document version) and shows the walk of the lens's access as the
// machine stood right before it ran; while debugging it follows the
// debugger's position and asks the session ('dmascope/inspect', kind walk),
// falling back to its own replay of the same run. A reload restores it
// through its serializer (target from the webview's saved state).

import * as vscode from 'vscode';
import type { ScenarioTimeline } from '../../lang/timeline';
import { walkEventFor, walkSiteRun, walkStateAt, walkStateForLine, walkTargets, walkTimeline } from '../../panels/walk-source';
import { parseFromWebviewMessage, type WalkInspectResponse, type WalkPersistedState, type WalkState, type WalkTarget, type WalkToWebview } from '../../protocol';
import { COMMANDS } from '../command-ids';
import { DEBUG_TYPE } from '../debug/debug-config';
import { debugGoTo, debugPositionOf, onDebugPosition, panelHtml, panelOptions, revealLine, saveExport, type DebugPosition } from './panel-host';

const VIEW_TYPE = 'dmascope.walk';
const INSPECT_REQUEST = 'dmascope/inspect';

const BODY = `<form id="target" class="bar" aria-label="What to walk">
<label>Walk site <select id="site" aria-label="Walk site of the scenario"></select></label>
<label>Device <select id="device" aria-label="Device"></select></label>
<label>Address <input id="addr" aria-label="Device address (hex)" spellcheck="false"></label>
<label>PASID <input id="pasid" aria-label="PASID (empty: none)" placeholder="none"></label>
<label>Access <select id="access" aria-label="Access kind"><option value="">translate</option><option value="read">read</option><option value="write">write</option></select></label>
<button class="primary" type="submit" id="walk">Walk</button>
</form>
<div class="bar" role="toolbar" aria-label="Position and export">
<button id="prev" type="button" aria-label="Previous statement" title="Previous statement">◀</button>
<span id="pos" role="status" aria-live="polite"></span>
<button id="next" type="button" aria-label="Next statement" title="Next statement">▶</button>
<button id="export-svg" type="button" aria-label="Export the walk as SVG">SVG</button>
<button id="export-png" type="button" aria-label="Export the walk as PNG">PNG</button>
<button id="export-json" type="button" aria-label="Export the walk's data as JSON">JSON</button>
<span id="status" role="status"></span>
</div>
<section id="summary" aria-live="polite"></section>
<section id="fault" role="alert" hidden></section>
<main id="bands" aria-label="Translation walk, one section per IOMMU"></main>
<aside id="detail" aria-label="Selected descriptor read"></aside>
<div id="tooltip" role="tooltip" hidden></div>`;

export class WalkPanel {
  private static current: WalkPanel | undefined;
  private doc: vscode.TextDocument | undefined;
  private cached: { uri: string; version: number; tl: ScenarioTimeline } | undefined;
  private last: WalkState | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  private constructor(private readonly panel: vscode.WebviewPanel, root: vscode.Uri, private readonly log: (m: string) => void) {
    panel.webview.options = panelOptions(root);
    panel.webview.html = panelHtml(panel.webview, root, { name: 'walk', title: 'Translation walk', body: BODY });
    this.subscriptions.push(
      panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      onDebugPosition((p) => {
        if (this.doc && p.program === this.doc.uri.fsPath && this.last) void this.showDebug(p, this.last.target);
      }),
    );
    panel.onDidDispose(() => {
      if (WalkPanel.current === this) WalkPanel.current = undefined;
      for (const s of this.subscriptions) s.dispose();
    });
  }

  static show(context: vscode.ExtensionContext, doc: vscode.TextDocument, line: number | undefined, target: Partial<WalkTarget> | undefined, log: (m: string) => void): void {
    if (!WalkPanel.current) {
      const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'Translation walk', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, panelOptions(context.extensionUri));
      WalkPanel.current = new WalkPanel(panel, context.extensionUri, log);
    } else {
      WalkPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    WalkPanel.current.load(doc, line, target);
  }

  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, state: WalkPersistedState | undefined, log: (m: string) => void): void {
    const p = new WalkPanel(panel, context.extensionUri, log);
    WalkPanel.current = p;
    if (!state?.uri) return;
    void vscode.workspace.openTextDocument(vscode.Uri.parse(state.uri)).then(
      (d) => p.load(d, state.target?.line || undefined, state.target),
      () => p.post({ type: 'walk/error', message: `The scenario ${state.uri} is gone.` }),
    );
  }

  private post(m: WalkToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  private timeline(doc: vscode.TextDocument): ScenarioTimeline {
    const uri = doc.uri.toString();
    if (!this.cached || this.cached.uri !== uri || this.cached.version !== doc.version) this.cached = { uri, version: doc.version, tl: walkTimeline(doc.getText()) };
    return this.cached.tl;
  }

  private send(state: WalkState): void {
    this.last = state;
    this.panel.title = `Walk: ${state.target.device} ${state.target.addr}`;
    this.post({ type: 'walk/state', state });
  }

  /** A walk of `target` (complete or partial) or of the walk site on `line`. */
  private load(doc: vscode.TextDocument, line: number | undefined, target: Partial<WalkTarget> | undefined): void {
    this.doc = doc;
    try {
      const tl = this.timeline(doc);
      const uri = doc.uri.toString();
      const dbg = debugPositionOf(doc.uri.fsPath);
      let state = target?.addr ? undefined : walkStateForLine(tl, uri, line);
      if (!state) {
        const first = walkTargets(tl)[0];
        const devices = tl.final.machine ? [...tl.final.machine.devices.values()].map((d) => d.name) : [];
        const t: WalkTarget = { device: target?.device ?? first?.device ?? devices[0] ?? '', addr: target?.addr ?? first?.addr ?? '0x0', pasid: target?.pasid ?? null, access: target?.access ?? null, line: target?.line ?? 0 };
        const event = (t.line > 0 ? walkEventFor(tl, t, walkSiteRun(tl, t)) : undefined) ?? tl.trace.length - 1;
        state = walkStateAt(tl, uri, t, event);
        if (!t.device) state.error = 'This scenario declares no device yet: nothing to walk.';
      }
      if (dbg) void this.showDebug(dbg, state.target);
      else this.send(state);
    } catch (e) {
      this.post({ type: 'walk/error', message: `The scenario could not be run: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  /** While debugging: the walk at the debugger's position, from the session (or this panel's replay of the same run). */
  private async showDebug(p: DebugPosition, target: WalkTarget): Promise<void> {
    if (!this.doc) return;
    const tl = this.timeline(this.doc);
    const state = walkStateAt(tl, this.doc.uri.toString(), target, p.body.event);
    try {
      const r = (await p.session.customRequest(INSPECT_REQUEST, { kind: 'walk', event: p.body.event, target })) as WalkInspectResponse;
      if (r && 'model' in r) {
        state.model = r.model;
        state.error = r.error;
        state.devices = r.devices;
      }
    } catch {
      // An adapter without the request: this panel's replay of the same run stands in.
    }
    state.position = { ...state.position, source: 'debug', total: p.body.total !== null && p.body.total >= 0 ? p.body.total : null, backwards: p.body.backwards, line: p.body.line };
    this.send(state);
  }

  private onMessage(raw: unknown): void {
    const parsed = parseFromWebviewMessage(raw);
    if (!parsed.ok) {
      this.log(`walk panel: ignored a bad message from the webview: ${parsed.error}`);
      return;
    }
    const m = parsed.message;
    const doc = this.doc;
    switch (m.type) {
      case 'walk/ready':
        if (this.last) this.post({ type: 'walk/state', state: this.last });
        return;
      case 'walk/revealLine':
        if (doc) revealLine(doc.uri, m.line);
        return;
      case 'walk/export':
        void saveExport(`walk-${this.last?.target.device ?? 'dmascope'}-${this.last?.target.addr ?? ''}`, m.format, m.data, doc?.uri).then(
          (path) => this.post({ type: 'walk/exported', inReplyTo: m.requestId, path }),
          (e: unknown) => this.post({ type: 'walk/error', message: `Export failed: ${e instanceof Error ? e.message : String(e)}` }),
        );
        return;
      case 'walk/probe':
      case 'walk/seek': {
        if (!doc) return;
        const dbg = debugPositionOf(doc.uri.fsPath);
        if (m.type === 'walk/seek' && dbg) {
          debugGoTo(dbg, m.event);
          return;
        }
        const target = m.type === 'walk/probe' ? m.target : this.last?.target;
        if (!target) return;
        if (dbg) {
          void this.showDebug(dbg, target);
          return;
        }
        const tl = this.timeline(doc);
        // A site picked from the list: its own position; a typed target or a seek: the position asked for.
        const event = m.type === 'walk/seek' ? m.event : (target.line > 0 ? walkEventFor(tl, target, walkSiteRun(tl, target)) : undefined) ?? this.last?.position.event ?? tl.trace.length - 1;
        this.send(walkStateAt(tl, doc.uri.toString(), target, event));
        return;
      }
      default:
        this.log(`walk panel: ${m.type} is not a walk panel message`);
    }
  }
}

/** A hex address in a Variables entry or a string argument, for opening the walk on it. */
function addressArg(arg: unknown): string | undefined {
  const text = typeof arg === 'string' ? arg : typeof arg === 'object' && arg !== null ? String((arg as { variable?: { value?: unknown } }).variable?.value ?? '') : '';
  return /0x[0-9a-fA-F]{1,16}/.exec(text.replace(/_/g, ''))?.[0]?.toLowerCase();
}

export function registerWalkPanel(context: vscode.ExtensionContext, log: (m: string) => void): void {
  context.subscriptions.push(
    // (uri, line) from a lens; a Variables entry (its address) from the debug context menu; nothing from the palette.
    vscode.commands.registerCommand(COMMANDS.showWalk, async (uri?: unknown, line?: unknown) => {
      const dbg = vscode.debug.activeDebugSession;
      const fromDebug = dbg?.type === DEBUG_TYPE && typeof dbg.configuration.program === 'string' ? vscode.Uri.file(dbg.configuration.program) : undefined;
      const docUri = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.languageId === 'dmas' ? vscode.window.activeTextEditor.document.uri : fromDebug;
      if (!docUri) {
        void vscode.window.showWarningMessage('dmascope: open a .dmas scenario to show a translation walk.');
        return;
      }
      const doc = await vscode.workspace.openTextDocument(docUri);
      if (doc.languageId !== 'dmas') {
        void vscode.window.showWarningMessage('dmascope: the translation walk needs a .dmas scenario.');
        return;
      }
      const addr = uri instanceof vscode.Uri ? undefined : addressArg(uri);
      const cursor = vscode.window.activeTextEditor?.document === doc ? vscode.window.activeTextEditor.selection.active.line + 1 : undefined;
      WalkPanel.show(context, doc, typeof line === 'number' ? line : addr ? undefined : cursor, addr ? { addr } : undefined, log);
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: WalkPersistedState | undefined) => {
        WalkPanel.revive(panel, context, state, log);
      },
    }),
  );
}
