// The translation walk panel's host side: one WebviewPanel beside the
// editor. Without the debugger it runs the scenario (ScenarioTimeline, cached
// per document version) and shows the walk of the lens's access as the
// machine stood right before it ran; while a dmascope debug session is
// paused on the scenario it runs nothing itself: it follows the debugger's
// position and reads the walk, the walk sites and the statement stops from
// the session ('dmascope/inspect', kind walk: the state the debugger holds,
// memory edits included). A reload restores it through its serializer
// (target from the webview's saved state).

import * as vscode from 'vscode';
import type { ScenarioTimeline } from '../../lang/timeline';
import { walkEventFor, walkSiteRun, walkStateAt, walkStateForLine, walkTargets, walkTimeline } from '../../panels/walk-source';
import { parseFromWebviewMessage, type WalkPersistedState, type WalkState, type WalkTarget, type WalkToWebview } from '../../protocol';
import { COMMANDS } from '../command-ids';
import { DEBUG_TYPE } from '../debug/debug-config';
import { debuggerOn, inspectWalkAtDebugger } from '../debug/debug-inspect';
import { debugGoTo, debugPositionOf, onDebugPosition, panelHtml, panelOptions, revealLine, saveExport } from './panel-host';

const VIEW_TYPE = 'dmascope.walk';

const BODY = `<div id="target" class="bar" role="form" aria-label="What to walk">
<label for="site">Walk site</label> <vscode-dropdown id="site" aria-label="Walk site of the scenario"></vscode-dropdown>
<label for="device">Device</label> <vscode-dropdown id="device" aria-label="Device"></vscode-dropdown>
<vscode-text-field id="addr" aria-label="Device address (hex)" spellcheck="false" size="18">Address</vscode-text-field>
<vscode-text-field id="pasid" aria-label="PASID (empty: none)" placeholder="none" size="7">PASID</vscode-text-field>
<label for="access">Access</label> <vscode-dropdown id="access" aria-label="Access kind"><vscode-option value="">translate</vscode-option><vscode-option value="read">read</vscode-option><vscode-option value="write">write</vscode-option></vscode-dropdown>
<vscode-button appearance="primary" id="walk">Walk</vscode-button>
</div>
<div class="bar" role="toolbar" aria-label="Position and export">
<vscode-button id="prev" appearance="icon" aria-label="Previous statement" title="Previous statement">◀</vscode-button>
<span id="pos" role="status" aria-live="polite"></span>
<vscode-button id="next" appearance="icon" aria-label="Next statement" title="Next statement">▶</vscode-button>
<vscode-button id="export-svg" appearance="secondary" aria-label="Export the walk as SVG">SVG</vscode-button>
<vscode-button id="export-png" appearance="secondary" aria-label="Export the walk as PNG">PNG</vscode-button>
<vscode-button id="export-json" appearance="secondary" aria-label="Export the walk's data as JSON">JSON</vscode-button>
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
        if (this.doc && p.program === this.doc.uri.fsPath) void this.showDebug(this.last ? { target: this.last.target } : {});
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
    if (debuggerOn(doc)) {
      void this.showDebug(target?.addr ? { partial: target } : { line });
      return;
    }
    try {
      const tl = this.timeline(doc);
      const uri = doc.uri.toString();
      let state = target?.addr ? undefined : walkStateForLine(tl, uri, line);
      if (!state) {
        const first = walkTargets(tl)[0];
        const devices = tl.final.machine ? [...tl.final.machine.devices.values()].map((d) => d.name) : [];
        const t: WalkTarget = { device: target?.device ?? first?.device ?? devices[0] ?? '', addr: target?.addr ?? first?.addr ?? '0x0', pasid: target?.pasid ?? null, access: target?.access ?? null, line: target?.line ?? 0 };
        const event = (t.line > 0 ? walkEventFor(tl, t, walkSiteRun(tl, t)) : undefined) ?? tl.trace.length - 1;
        state = walkStateAt(tl, uri, t, event);
        if (!t.device) state.error = 'This scenario declares no device yet: nothing to walk.';
      }
      this.send(state);
    } catch (e) {
      this.post({ type: 'walk/error', message: `The scenario could not be run: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  /** Answers to debugger requests older than this one are dropped (positions can come faster than answers). */
  private debugAsked = 0;

  /**
   * While debugging: the walk at the debugger's position, all of it from the
   * session: of `target`, of the walk site on `line`, or of an address typed
   * elsewhere (`partial`, completed with the first walk site's device).
   */
  private async showDebug(want: { target?: WalkTarget; line?: number; partial?: Partial<WalkTarget> }): Promise<void> {
    const doc = this.doc;
    if (!doc) return;
    const asked = ++this.debugAsked;
    try {
      let r = await inspectWalkAtDebugger(doc, { target: want.target, line: want.line, withTargets: true });
      if (r && want.partial?.addr) {
        const p = want.partial;
        const target: WalkTarget = { device: p.device ?? r.target?.device ?? r.devices[0] ?? '', addr: p.addr ?? '0x0', pasid: p.pasid ?? null, access: p.access ?? null, line: p.line ?? 0 };
        r = target.device ? await inspectWalkAtDebugger(doc, { target, withTargets: true }) : r;
      }
      if (asked !== this.debugAsked) return;
      if (!r) {
        // The session ended meanwhile: the panel runs the scenario itself again.
        this.load(doc, want.target?.line ?? want.line, want.target ?? want.partial);
        return;
      }
      const p = r.position;
      this.send({
        position: { source: 'debug', event: p.event, total: p.total, line: p.line, backwards: p.backwards, statements: p.statements, uri: doc.uri.toString() },
        target: r.target ?? { device: r.devices[0] ?? '', addr: '0x0', pasid: null, access: null, line: 0 },
        model: r.model,
        error: r.error,
        targets: r.targets ?? this.last?.targets ?? [],
        devices: r.devices,
      });
    } catch (e) {
      if (asked === this.debugAsked) this.post({ type: 'walk/error', message: `The debugger could not show this walk: ${e instanceof Error ? e.message : String(e)}` });
    }
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
        revealLine(doc, { line: m.line }, 'walk panel', this.log);
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
          void this.showDebug({ target });
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
