// The IOVA map panel's host side: one WebviewPanel beside the editor, strict
// CSP with a nonce, resources only from media/ and dist/, restored after a
// reload by its serializer. Without a debugger it shows the state of a run of
// the scenario after the line asked for (or at the end of the run).

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { inspectMachine } from '../../engine/inspect';
import { ScenarioTimeline } from '../../lang/timeline';
import { parseFromWebviewMessage, type IovaMapState, type IovaMapToWebview } from '../../protocol';

const VIEW_TYPE = 'dmascope.iovaMap';
import { COMMANDS } from '../command-ids';

function html(webview: vscode.Webview, root: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'dist', 'webview', 'iova-map.js'));
  const css = webview.asWebviewUri(vscode.Uri.joinPath(root, 'media', 'panels', 'iova-map.css'));
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource} data:; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<link rel="stylesheet" href="${css}"><title>IOVA map</title></head><body>
<label for="domain">Domain</label> <select id="domain" aria-label="IOMMU domain"></select>
<div id="info" role="status"></div>
<canvas id="map" tabindex="0" height="120" aria-label="IOVA map"></canvas>
<div id="tooltip" hidden></div>
<script nonce="${nonce}" src="${script}"></script></body></html>`;
}

/** The state after the last event of `line` (or the end of the run). */
function stateFor(source: string, uri: string, line: number | undefined): IovaMapState {
  const tl = new ScenarioTimeline(source);
  let event = tl.trace.length - 1;
  if (line !== undefined) for (let i = 0; i < tl.trace.length; i++) if (tl.trace.eventAt(i).line === line) event = i;
  const at = tl.stateAt(event).machine;
  const before = event >= 0 ? tl.stateAt(event - 1).machine : undefined;
  const statements: { event: number; line: number }[] = [];
  for (let i = 0; i < tl.trace.length; i++) { const e = tl.trace.eventAt(i); if (e.name === 'engine:statement') statements.push({ event: i, line: e.line }); }
  if (!at) throw new Error('The scenario does not use the machine yet.');
  return {
    position: { source: 'run', event, total: tl.trace.length, line: line ?? 0, backwards: false, statements, uri },
    machine: inspectMachine(at),
    previous: before ? inspectMachine(before) : null,
    compare: null,
  };
}

export class IovaMapPanel {
  private static current: IovaMapPanel | undefined;
  private docUri: vscode.Uri | undefined;

  private constructor(private readonly panel: vscode.WebviewPanel, root: vscode.Uri, private readonly log: (m: string) => void) {
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(root, 'media'), vscode.Uri.joinPath(root, 'dist')] };
    panel.webview.html = html(panel.webview, root);
    panel.onDidDispose(() => { if (IovaMapPanel.current === this) IovaMapPanel.current = undefined; });
    panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw));
  }

  static show(context: vscode.ExtensionContext, doc: vscode.TextDocument, line: number | undefined, log: (m: string) => void): void {
    if (!IovaMapPanel.current) {
      const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'IOVA map', vscode.ViewColumn.Beside, { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'media'), vscode.Uri.joinPath(context.extensionUri, 'dist')] });
      IovaMapPanel.current = new IovaMapPanel(panel, context.extensionUri, log);
    }
    IovaMapPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    IovaMapPanel.current.load(doc, line);
  }

  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, state: { uri?: string } | undefined, log: (m: string) => void): void {
    IovaMapPanel.current = new IovaMapPanel(panel, context.extensionUri, log);
    if (state?.uri) void vscode.workspace.openTextDocument(vscode.Uri.parse(state.uri)).then((d) => IovaMapPanel.current?.load(d, undefined), () => undefined);
  }

  private load(doc: vscode.TextDocument, line: number | undefined): void {
    this.docUri = doc.uri;
    let msg: IovaMapToWebview;
    try { msg = { type: 'iovaMap/state', state: stateFor(doc.getText(), doc.uri.toString(), line) }; } catch (e) { msg = { type: 'iovaMap/error', message: e instanceof Error ? e.message : String(e) }; }
    void this.panel.webview.postMessage(msg);
  }

  private onMessage(raw: unknown): void {
    const parsed = parseFromWebviewMessage(raw);
    if (!parsed.ok) { this.log(`IOVA map: ignored a bad message from the webview: ${parsed.error}`); return; }
    const m = parsed.message;
    if (m.type === 'iovaMap/revealLine' && this.docUri) {
      const pos = new vscode.Position(m.line - 1, 0);
      void vscode.window.showTextDocument(this.docUri, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(pos, pos) });
    } else if (m.type === 'iovaMap/ready' && this.docUri) {
      void vscode.workspace.openTextDocument(this.docUri).then((d) => this.load(d, undefined));
    }
  }
}

export function registerIovaMapPanel(context: vscode.ExtensionContext): void {
  const out = vscode.window.createOutputChannel('dmascope panels');
  const log = (m: string): void => out.appendLine(m);
  context.subscriptions.push(out,
    vscode.commands.registerCommand(COMMANDS.showIovaMap, (uri?: vscode.Uri, line?: number) => {
      const editor = vscode.window.activeTextEditor;
      const docP = uri instanceof vscode.Uri ? vscode.workspace.openTextDocument(uri) : Promise.resolve(editor?.document);
      void Promise.resolve(docP).then((doc) => {
        if (!doc || doc.languageId !== 'dmas') { void vscode.window.showWarningMessage('dmascope: open a .dmas scenario to show its IOVA map.'); return; }
        IovaMapPanel.show(context, doc, typeof line === 'number' ? line : undefined, log);
      });
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: { uri?: string } | undefined) => { IovaMapPanel.revive(panel, context, state, log); },
    }));
}
