// What every panel's host side shares: the HTML shell (strict CSP with a
// nonce, the shared webview controls and the panel's script from dist/webview, its style from
// media/panels), webview options limited to media/ and dist/, saving an
// export the webview made, revealing a scenario line, and the debugger's
// position (the last 'dmascope/position' of each session) for panels opened
// while debugging. The walk and bounce panels build on it; the IOVA map panel
// can too (its host predates this file).

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { GO_TO_EVENT_REQUEST, POSITION_EVENT } from '../../debug/session';
import { checkRevealTarget, type RevealAsk } from '../../panels/reveal-target';
import { parsePositionEvent, type PositionEventBody } from '../../protocol';
import { DEBUG_TYPE } from '../debug/debug-config';

export interface PanelPage {
  /** Bundle name under dist/webview/ and style name under media/panels/ (without extension). */
  name: string;
  title: string;
  /** Static body markup (no run data: that comes by message). */
  body: string;
}

export function panelOptions(root: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(root, 'media'), vscode.Uri.joinPath(root, 'dist')] };
}

export function panelHtml(webview: vscode.Webview, root: vscode.Uri, page: PanelPage): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'dist', 'webview', `${page.name}.js`));
  // The webview controls, shared by the panels' bundles (esbuild.mjs): before the panel's script.
  const toolkit = webview.asWebviewUri(vscode.Uri.joinPath(root, 'dist', 'webview', 'toolkit.js'));
  const css = webview.asWebviewUri(vscode.Uri.joinPath(root, 'media', 'panels', `${page.name}.css`));
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource} data:; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}"><title>${page.title}</title></head><body>
${page.body}
<script nonce="${nonce}" src="${toolkit}"></script>
<script nonce="${nonce}" src="${script}"></script></body></html>`;
}

/** Asks where to save an export and writes it; the path, or null when cancelled. PNG data comes as a data: URL. */
export async function saveExport(base: string, format: 'png' | 'svg' | 'json', data: string, near: vscode.Uri | undefined): Promise<string | null> {
  const dir = near ? vscode.Uri.joinPath(near, '..') : vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    defaultUri: dir ? vscode.Uri.joinPath(dir, `${base}.${format}`) : undefined,
    filters: { [format.toUpperCase()]: [format] },
    title: `dmascope: export ${base} as ${format.toUpperCase()}`,
  });
  if (!target) return null;
  const bytes = format === 'png'
    ? Buffer.from(data.replace(/^data:image\/png;base64,/, ''), 'base64')
    : Buffer.from(data, 'utf8');
  await vscode.workspace.fs.writeFile(target, bytes);
  return target.fsPath;
}

/**
 * Shows the line a webview asked for (1-based) of the panel's scenario `doc`
 * in the first editor column, after checking it against the document
 * (checkRevealTarget: another document, a line past its end); a refused ask
 * is logged as `panel`'s and shows nothing. Whether it was shown.
 */
export function revealLine(doc: vscode.TextDocument | undefined, ask: RevealAsk, panel: string, log: (m: string) => void): boolean {
  const err = checkRevealTarget(ask, doc ? { uri: doc.uri.toString(), lineCount: doc.lineCount } : undefined);
  if (err || !doc) {
    log(`${panel}: ignored a bad message from the webview: ${err ?? 'no scenario'}`);
    return false;
  }
  const pos = new vscode.Position(ask.line - 1, 0);
  void vscode.window.showTextDocument(doc.uri, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(pos, pos) });
  return true;
}

/** A dmascope debug session and where it is. */
export interface DebugPosition {
  session: vscode.DebugSession;
  /** The scenario file the session debugs. */
  program: string;
  body: PositionEventBody;
}

const positions = new Map<string, DebugPosition>();
const listeners = new Set<(p: DebugPosition) => void>();

/** Keeps the last position of every dmascope session and tells the panels. Register once. */
export function trackDebugPositions(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.session.type !== DEBUG_TYPE || e.event !== POSITION_EVENT) return;
      const body = parsePositionEvent(e.body);
      const program = e.session.configuration.program;
      if (!body || typeof program !== 'string') return;
      const p = { session: e.session, program, body };
      positions.set(e.session.id, p);
      for (const l of listeners) l(p);
    }),
    vscode.debug.onDidTerminateDebugSession((s) => {
      positions.delete(s.id);
    }),
  );
}

/** Calls `f` at each debugger position; dispose to stop. */
export function onDebugPosition(f: (p: DebugPosition) => void): vscode.Disposable {
  listeners.add(f);
  return new vscode.Disposable(() => listeners.delete(f));
}

/** Where the active dmascope session debugging `file` is, if one is. */
export function debugPositionOf(file: string | undefined): DebugPosition | undefined {
  const active = vscode.debug.activeDebugSession;
  const p = active ? positions.get(active.id) : undefined;
  if (p && (file === undefined || p.program === file)) return p;
  return [...positions.values()].find((x) => x.program === file);
}

/** Moves the debugger to `event` (the panel's position buttons while debugging). */
export function debugGoTo(p: DebugPosition, event: number): void {
  void Promise.resolve(p.session.customRequest(GO_TO_EVENT_REQUEST, { event })).catch(() => undefined);
}
