// The bounce buffers panel's host side: one WebviewPanel beside the editor.
// Without the debugger it runs the scenario (ScenarioTimeline, cached per
// document version) and shows the swiotlb and VDUSE state after the lens's
// line; while a dmascope debug session is paused on the scenario it runs
// nothing itself: it follows the debugger's position and reads the state
// from the session ('dmascope/inspect', kind bounce: the state the debugger
// holds, bytes edited in the debugger included). Restored after a reload by
// its serializer.

import * as vscode from 'vscode';
import { ScenarioTimeline } from '../../lang/timeline';
import { bounceStateAt, eventAfterLine } from '../../panels/bounce-source';
import { parseFromWebviewMessage, type BouncePersistedState, type BounceState, type BounceToWebview } from '../../protocol';
import { COMMANDS } from '../command-ids';
import { DEBUG_TYPE } from '../debug/debug-config';
import { debuggerOn, inspectBounceAtDebugger } from '../debug/debug-inspect';
import { debugGoTo, debugPositionOf, onDebugPosition, panelHtml, panelOptions, revealLine, saveExport } from './panel-host';

const VIEW_TYPE = 'dmascope.bounce';

const BODY = `<div class="bar" role="toolbar" aria-label="Position, pool and export">
<vscode-button id="prev" appearance="icon" aria-label="Previous statement" title="Previous statement">◀</vscode-button>
<span id="pos" role="status" aria-live="polite"></span>
<vscode-button id="next" appearance="icon" aria-label="Next statement" title="Next statement">▶</vscode-button>
<vscode-button id="export-svg" appearance="secondary" aria-label="Export the slot map as SVG">SVG</vscode-button>
<vscode-button id="export-png" appearance="secondary" aria-label="Export the slot map as PNG">PNG</vscode-button>
<vscode-button id="export-json" appearance="secondary" aria-label="Export the bounce state as JSON">JSON</vscode-button>
<span id="status" role="status"></span>
</div>
<section id="summary" aria-live="polite"></section>
<section id="findings" aria-label="DMA sanitizer findings on bounce memory" hidden></section>
<section id="swiotlb" aria-label="swiotlb">
<h2 id="sw-usage"></h2>
<label for="pool">Pool</label> <vscode-dropdown id="pool" aria-label="swiotlb pool"></vscode-dropdown>
<canvas id="slots" tabindex="0" role="img" aria-label="Slot map"></canvas>
<div class="legend" aria-hidden="true"><span class="free">free</span><span class="in-sync">in sync</span><span class="out-of-sync">bounce and original differ</span><span class="in-use">in use</span><span class="pad">padding</span><span class="finding">DMA sanitizer finding</span></div>
<p id="pool-info"></p>
<table id="runs" aria-label="Slots in use"><thead><tr><th scope="col">slots</th><th scope="col">orig_addr</th><th scope="col">alloc_size</th><th scope="col">direction</th><th scope="col">bounce and original</th><th scope="col">mapped at</th></tr></thead><tbody id="runs-body"></tbody></table>
<section id="detail" aria-live="polite" aria-label="Selected slot run"></section>
</section>
<section id="vduse" aria-label="VDUSE bounce maps"></section>
<div id="tooltip" role="tooltip" hidden></div>`;

export class BouncePanel {
  private static current: BouncePanel | undefined;
  private doc: vscode.TextDocument | undefined;
  private cached: { uri: string; version: number; tl: ScenarioTimeline } | undefined;
  private last: BounceState | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  private constructor(private readonly panel: vscode.WebviewPanel, root: vscode.Uri, private readonly log: (m: string) => void) {
    panel.webview.options = panelOptions(root);
    panel.webview.html = panelHtml(panel.webview, root, { name: 'bounce', title: 'Bounce buffers', body: BODY });
    this.subscriptions.push(
      panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      onDebugPosition((p) => {
        if (this.doc && p.program === this.doc.uri.fsPath) void this.showDebug();
      }),
    );
    panel.onDidDispose(() => {
      if (BouncePanel.current === this) BouncePanel.current = undefined;
      for (const s of this.subscriptions) s.dispose();
    });
  }

  static show(context: vscode.ExtensionContext, doc: vscode.TextDocument, line: number | undefined, log: (m: string) => void): void {
    if (!BouncePanel.current) {
      const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'Bounce buffers', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, panelOptions(context.extensionUri));
      BouncePanel.current = new BouncePanel(panel, context.extensionUri, log);
    } else {
      BouncePanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    BouncePanel.current.load(doc, line);
  }

  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, state: BouncePersistedState | undefined, log: (m: string) => void): void {
    const p = new BouncePanel(panel, context.extensionUri, log);
    BouncePanel.current = p;
    if (!state?.uri) return;
    void vscode.workspace.openTextDocument(vscode.Uri.parse(state.uri)).then(
      (d) => p.load(d, undefined),
      () => p.post({ type: 'bounce/error', message: `The scenario ${state.uri} is gone.` }),
    );
  }

  private post(m: BounceToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  private timeline(doc: vscode.TextDocument): ScenarioTimeline {
    const uri = doc.uri.toString();
    if (!this.cached || this.cached.uri !== uri || this.cached.version !== doc.version) this.cached = { uri, version: doc.version, tl: new ScenarioTimeline(doc.getText()) };
    return this.cached.tl;
  }

  private send(state: BounceState): void {
    this.last = state;
    this.post({ type: 'bounce/state', state });
  }

  private at(event: number): void {
    if (!this.doc) return;
    try {
      this.send(bounceStateAt(this.timeline(this.doc), this.doc.uri.toString(), event));
    } catch (e) {
      this.post({ type: 'bounce/error', message: e instanceof Error ? e.message : String(e) });
    }
  }

  private load(doc: vscode.TextDocument, line: number | undefined): void {
    this.doc = doc;
    if (debuggerOn(doc)) {
      void this.showDebug(line);
      return;
    }
    try {
      this.at(eventAfterLine(this.timeline(doc), line));
    } catch (e) {
      this.post({ type: 'bounce/error', message: `The scenario could not be run: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  /** Answers to debugger requests older than this one are dropped (positions can come faster than answers). */
  private debugAsked = 0;

  /** While debugging: the bounce state at the debugger's position, all of it from the session. `line`: the lens's, should the session be gone. */
  private async showDebug(line?: number): Promise<void> {
    const doc = this.doc;
    if (!doc) return;
    const asked = ++this.debugAsked;
    try {
      const r = await inspectBounceAtDebugger(doc);
      if (asked !== this.debugAsked) return;
      if (!r) {
        // The session ended meanwhile: the panel runs the scenario itself again.
        this.load(doc, line);
        return;
      }
      const p = r.position;
      this.send({ position: { source: 'debug', event: p.event, total: p.total, line: p.line, backwards: p.backwards, statements: p.statements, uri: doc.uri.toString() }, model: r.model });
    } catch (e) {
      if (asked === this.debugAsked) this.post({ type: 'bounce/error', message: `The debugger could not show the bounce buffers: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  private onMessage(raw: unknown): void {
    const parsed = parseFromWebviewMessage(raw);
    if (!parsed.ok) {
      this.log(`bounce panel: ignored a bad message from the webview: ${parsed.error}`);
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case 'bounce/ready':
        if (this.last) this.post({ type: 'bounce/state', state: this.last });
        return;
      case 'bounce/revealLine':
        revealLine(this.doc, { line: m.line }, 'bounce panel', this.log);
        return;
      case 'bounce/seek': {
        const dbg = this.doc ? debugPositionOf(this.doc.uri.fsPath) : undefined;
        if (dbg) debugGoTo(dbg, m.event);
        else this.at(m.event);
        return;
      }
      case 'bounce/export':
        void saveExport('bounce-buffers', m.format, m.data, this.doc?.uri).then(
          (path) => this.post({ type: 'bounce/exported', inReplyTo: m.requestId, path }),
          (e: unknown) => this.post({ type: 'bounce/error', message: `Export failed: ${e instanceof Error ? e.message : String(e)}` }),
        );
        return;
      default:
        this.log(`bounce panel: ${m.type} is not a bounce panel message`);
    }
  }
}

export function registerBouncePanel(context: vscode.ExtensionContext, log: (m: string) => void): void {
  context.subscriptions.push(
    // (uri, line) from a lens; nothing from the palette, the debug toolbar or the Variables context menu.
    vscode.commands.registerCommand(COMMANDS.showBounce, async (uri?: unknown, line?: unknown) => {
      const dbg = vscode.debug.activeDebugSession;
      const fromDebug = dbg?.type === DEBUG_TYPE && typeof dbg.configuration.program === 'string' ? vscode.Uri.file(dbg.configuration.program) : undefined;
      const editor = vscode.window.activeTextEditor;
      const docUri = uri instanceof vscode.Uri ? uri : editor?.document.languageId === 'dmas' ? editor.document.uri : fromDebug;
      if (!docUri) {
        void vscode.window.showWarningMessage('dmascope: open a .dmas scenario to show its bounce buffers.');
        return;
      }
      const doc = await vscode.workspace.openTextDocument(docUri);
      if (doc.languageId !== 'dmas') {
        void vscode.window.showWarningMessage('dmascope: the bounce buffers panel needs a .dmas scenario.');
        return;
      }
      BouncePanel.show(context, doc, typeof line === 'number' ? line : undefined, log);
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: BouncePersistedState | undefined) => {
        BouncePanel.revive(panel, context, state, log);
      },
    }),
  );
}
