// The IOVA map panel's host side: one WebviewPanel beside the editor (shell,
// CSP and resource roots from panel-host.ts). Without the debugger it runs
// the scenario (ScenarioTimeline, cached per document version) and shows the
// state after the lens's line; while a dmascope debug session is paused on
// the scenario it follows the debugger and reads the machine from the session
// ('dmascope/inspect': the state the debugger holds, memory edits included).
// The host builds the drawn model (BigInt work happens here, once) and sends
// packed columns; a comparison with a pinned position is diffed here too.
// A step posts only the rows changed since the state the webview holds
// (iova-map-delta.ts); the first paint, a reload and a domain change go whole.
// A reload restores the panel through its serializer (the webview's saved
// state: scenario, domain, position, view).

import * as vscode from 'vscode';
import { inspectMachine } from '../../engine/inspect';
import type { MachineView } from '../../engine/inspect/types';
import { sanitizerFindings, type SanitizerFindingView } from '../../engine/sanitizer';
import { WHERE_FROM_REQUEST } from '../../debug/session';
import type { ScenarioTimeline } from '../../lang/timeline';
import { eventAfterLine } from '../../panels/bounce-source';
import { IovaMapStateSender } from '../../panels/iova-map-delta';
import { buildIovaMapModel, diffDomains, domainChoices } from '../../panels/iova-map-model';
import { IOVA_MAP_BODY } from '../../panels/iova-map-page';
import { statementStops, walkTimeline } from '../../panels/walk-source';
import { parseFromWebviewMessage, type IovaMapPersistedState, type IovaMapState, type IovaMapToWebview, type PositionInfo } from '../../protocol';
import { COMMANDS } from '../command-ids';
import { DEBUG_TYPE } from '../debug/debug-config';
import { debuggerOn, inspectAtDebugger } from '../debug/debug-inspect';
import { CAPTURE_LANGUAGE_ID } from '../capture/capture-commands';
import { debugGoTo, debugPositionOf, onDebugPosition, panelHtml, panelOptions, revealLine, saveExport } from './panel-host';

const VIEW_TYPE = 'dmascope.iovaMap';

/** The machines a state is made of: now, right before the current event, at the compare position. */
interface Machines { position: PositionInfo; now: MachineView; previous: MachineView | null; compare: MachineView | null; findings: readonly SanitizerFindingView[] }

export class IovaMapPanel {
  private static current: IovaMapPanel | undefined;
  private doc: vscode.TextDocument | undefined;
  private cached: { uri: string; version: number; tl: ScenarioTimeline } | undefined;
  private last: IovaMapState | undefined;
  /** Posts each state whole or as the rows changed since the state the webview holds. */
  private readonly sender = new IovaMapStateSender();
  private domain: string | undefined;
  private compareEvent: number | null = null;
  private readonly subscriptions: vscode.Disposable[] = [];

  private constructor(private readonly panel: vscode.WebviewPanel, root: vscode.Uri, private readonly log: (m: string) => void) {
    panel.webview.options = panelOptions(root);
    panel.webview.html = panelHtml(panel.webview, root, { name: 'iova-map', title: 'IOVA map', body: IOVA_MAP_BODY });
    this.subscriptions.push(
      panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      onDebugPosition((p) => {
        if (this.doc && p.program === this.doc.uri.fsPath) void this.showDebug();
      }),
    );
    panel.onDidDispose(() => {
      if (IovaMapPanel.current === this) IovaMapPanel.current = undefined;
      for (const s of this.subscriptions) s.dispose();
    });
  }

  static show(context: vscode.ExtensionContext, doc: vscode.TextDocument, line: number | undefined, log: (m: string) => void): void {
    if (!IovaMapPanel.current) {
      const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'IOVA map', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, panelOptions(context.extensionUri));
      IovaMapPanel.current = new IovaMapPanel(panel, context.extensionUri, log);
    } else {
      IovaMapPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    IovaMapPanel.current.load(doc, line, undefined);
  }

  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, state: IovaMapPersistedState | undefined, log: (m: string) => void): void {
    const p = new IovaMapPanel(panel, context.extensionUri, log);
    IovaMapPanel.current = p;
    if (!state?.uri) return;
    p.domain = state.domain;
    p.compareEvent = typeof state.compare === 'number' ? state.compare : null;
    void vscode.workspace.openTextDocument(vscode.Uri.parse(state.uri)).then(
      (d) => p.load(d, undefined, typeof state.event === 'number' ? state.event : undefined),
      () => p.post({ type: 'iovaMap/error', message: `The scenario ${state.uri} is gone.` }),
    );
  }

  private post(m: IovaMapToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  private timeline(doc: vscode.TextDocument): ScenarioTimeline {
    const uri = doc.uri.toString();
    if (!this.cached || this.cached.uri !== uri || this.cached.version !== doc.version) this.cached = { uri, version: doc.version, tl: walkTimeline(doc.getText()) };
    return this.cached.tl;
  }

  /** The drawn state from the machines: the picked domain (or the first with something to draw) and the comparison. */
  private send(ms: Machines, compareLine: number): void {
    const domains = domainChoices(ms.now);
    const label = domains.some((d) => d.label === this.domain) ? this.domain : domains[0]?.label;
    const model = label ? buildIovaMapModel(ms.now, label, ms.previous, ms.findings) ?? null : null;
    let compare: IovaMapState['compare'] = null;
    if (label && ms.compare && this.compareEvent !== null) {
      const diff = diffDomains(ms.compare.domains.find((d) => d.label === label) ?? null, ms.now.domains.find((d) => d.label === label) ?? null);
      compare = { event: this.compareEvent, line: compareLine, diff: diff.slice(0, 500), total: diff.length };
    }
    const state: IovaMapState = { position: ms.position, domains, model, compare };
    this.last = state;
    this.panel.title = label ? `IOVA map: ${label}` : 'IOVA map';
    this.post(this.sender.next(state));
  }

  /** Run mode: the state right after `event` of the run. */
  private at(doc: vscode.TextDocument, event: number): void {
    try {
      const tl = this.timeline(doc);
      const k = Math.max(-1, Math.min(event, tl.trace.length - 1));
      const m = tl.stateAt(k).machine;
      if (!m) throw new Error('The scenario has not set up the machine at this point.');
      const now = inspectMachine(m);
      const statements = statementStops(tl);
      // "The change" in a run: what the statement holding this event changed (the state before it started vs now).
      let stmtStart = k;
      for (const st of statements) if (st.event <= k) stmtStart = st.event;
      const before = k >= 0 ? tl.stateAt(Math.min(k, stmtStart) - 1).machine : undefined;
      // Column reads of the trace: no event object is built for a line number.
      const position: PositionInfo = { source: 'run', event: k, total: tl.trace.length, line: k >= 0 ? tl.trace.lineAt(k) : 0, backwards: false, statements, uri: doc.uri.toString() };
      let compare: MachineView | null = null;
      let compareLine = 0;
      if (this.compareEvent !== null) {
        const c = Math.max(-1, Math.min(this.compareEvent, tl.trace.length - 1));
        const cm = tl.stateAt(c).machine;
        compare = cm ? inspectMachine(cm) : null;
        compareLine = c >= 0 ? tl.trace.lineAt(c) : 0;
      }
      this.send({ position, now, previous: before ? inspectMachine(before) : null, compare, findings: sanitizerFindings(m.trace.checks) }, compareLine);
    } catch (e) {
      this.post({ type: 'iovaMap/error', message: `The scenario could not be run: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  /** The state after `line` (a lens), at `event` (a restored panel), or at the end of the run. */
  private load(doc: vscode.TextDocument, line: number | undefined, event: number | undefined): void {
    this.doc = doc;
    if (debuggerOn(doc)) {
      void this.showDebug();
      return;
    }
    try {
      this.at(doc, event ?? eventAfterLine(this.timeline(doc), line));
    } catch (e) {
      this.post({ type: 'iovaMap/error', message: `The scenario could not be run: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  /** Answers to debugger requests older than this one are dropped (positions can come faster than answers). */
  private debugAsked = 0;

  /** While debugging: the machine at the debugger's position (and at the compare position), all of it from the session. */
  private async showDebug(): Promise<void> {
    const doc = this.doc;
    if (!doc) return;
    const asked = ++this.debugAsked;
    try {
      // Two streams (the position and the comparison): each step brings only what changed on each.
      const r = await inspectAtDebugger(doc, { withPrevious: true }, 'iova-map');
      const c = r && this.compareEvent !== null ? await inspectAtDebugger(doc, { event: this.compareEvent }, 'iova-map-compare').catch(() => undefined) : undefined;
      if (asked !== this.debugAsked) return;
      if (!r) {
        // The session ended meanwhile: the panel runs the scenario itself again.
        this.at(doc, this.last?.position.event ?? eventAfterLine(this.timeline(doc), undefined));
        return;
      }
      const p = r.position;
      const position: PositionInfo = { source: 'debug', event: p.event, total: p.total, line: p.line, backwards: p.backwards, statements: p.statements, uri: doc.uri.toString() };
      this.send({ position, now: r.machine, previous: r.previous, compare: c?.machine ?? null, findings: r.findings ?? [] }, c?.position.line ?? 0);
    } catch (e) {
      if (asked === this.debugAsked) this.post({ type: 'iovaMap/error', message: `The debugger could not show the IOVA map: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  /** Shows the state again at the same position (another domain, another comparison). */
  private refresh(): void {
    const doc = this.doc;
    if (!doc) return;
    if (debuggerOn(doc)) void this.showDebug();
    else this.at(doc, this.last?.position.event ?? eventAfterLine(this.timeline(doc), undefined));
  }

  private onMessage(raw: unknown): void {
    const parsed = parseFromWebviewMessage(raw);
    if (!parsed.ok) {
      this.log(`IOVA map: ignored a bad message from the webview: ${parsed.error}`);
      return;
    }
    const m = parsed.message;
    const doc = this.doc;
    switch (m.type) {
      case 'iovaMap/ready':
      case 'iovaMap/resync': {
        // A (re)loaded webview holds nothing, a lost one asks again: the state goes whole.
        if (m.type === 'iovaMap/resync') this.log(`IOVA map: the webview holds state ${m.have ?? 'none'}, not the one a step's delta applies to; sending the whole state`);
        const whole = this.sender.whole();
        if (whole) this.post(whole);
        else this.sender.forget();
        return;
      }
      case 'iovaMap/domain':
        this.domain = m.domain;
        this.refresh();
        return;
      case 'iovaMap/compare':
        this.compareEvent = m.event;
        this.refresh();
        return;
      case 'iovaMap/seek': {
        if (!doc) return;
        const dbg = debugPositionOf(doc.uri.fsPath);
        if (dbg) debugGoTo(dbg, m.event);
        else this.at(doc, m.event);
        return;
      }
      case 'iovaMap/revealLine': {
        if (!doc || !revealLine(doc, { line: m.line }, 'IOVA map', this.log)) return;
        // While debugging, the debugger goes back to the event that mapped the IOVA ('dmascope/whereFrom').
        const dbg = debugPositionOf(doc.uri.fsPath);
        if (dbg && m.iova) void Promise.resolve(dbg.session.customRequest(WHERE_FROM_REQUEST, { address: m.iova, space: 'iova' })).catch((e: unknown) => this.log(`IOVA map: ${e instanceof Error ? e.message : String(e)}`));
        return;
      }
      case 'iovaMap/revealFinding': {
        // A row of the DMA sanitizer grid: the finding's line, if it is one of this panel's scenario; while debugging, the debugger goes to the finding's event too.
        if (!doc || !revealLine(doc, { uri: m.uri, line: m.line }, 'IOVA map', this.log)) return;
        const dbg = debugPositionOf(doc.uri.fsPath);
        if (dbg && m.event !== undefined) debugGoTo(dbg, m.event);
        return;
      }
      case 'iovaMap/export':
        void saveExport(`iova-map-${(this.last?.model?.domain ?? 'dmascope').replace(/[^A-Za-z0-9_.-]+/g, '-')}`, m.format, m.data, doc?.uri).then(
          (path) => this.post({ type: 'iovaMap/exported', inReplyTo: m.requestId, path }),
          (e: unknown) => this.post({ type: 'iovaMap/error', message: `Export failed: ${e instanceof Error ? e.message : String(e)}` }),
        );
        return;
      default:
        this.log(`IOVA map: ${m.type} is not an IOVA map message`);
    }
  }
}

export function registerIovaMapPanel(context: vscode.ExtensionContext, log: (m: string) => void): void {
  context.subscriptions.push(
    // (uri, line) from a lens; nothing from the palette, the debug toolbar or the Variables context menu.
    vscode.commands.registerCommand(COMMANDS.showIovaMap, async (uri?: unknown, line?: unknown) => {
      const dbg = vscode.debug.activeDebugSession;
      const fromDebug = dbg?.type === DEBUG_TYPE && typeof dbg.configuration.program === 'string' ? vscode.Uri.file(dbg.configuration.program) : undefined;
      const editor = vscode.window.activeTextEditor;
      // A kernel capture being debugged has an IOVA map too: the replayed mappings the capture session answers with.
      const mapsHere = (d: vscode.TextDocument | undefined): d is vscode.TextDocument => d !== undefined && (d.languageId === 'dmas' || ((d.languageId === CAPTURE_LANGUAGE_ID || !d.uri.fsPath.endsWith('.dmas')) && debuggerOn(d) !== undefined));
      const docUri = uri instanceof vscode.Uri ? uri : mapsHere(editor?.document) ? editor.document.uri : fromDebug;
      if (!docUri) {
        void vscode.window.showWarningMessage('dmascope: open a .dmas scenario to show its IOVA map.');
        return;
      }
      const doc = await vscode.workspace.openTextDocument(docUri);
      if (!mapsHere(doc)) {
        void vscode.window.showWarningMessage('dmascope: the IOVA map needs a .dmas scenario, or a kernel capture being debugged.');
        return;
      }
      IovaMapPanel.show(context, doc, typeof line === 'number' ? line : undefined, log);
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: IovaMapPersistedState | undefined) => {
        IovaMapPanel.revive(panel, context, state, log);
      },
    }),
  );
}
