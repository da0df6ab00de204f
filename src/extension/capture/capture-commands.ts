// Kernel captures in VS Code: "dmascope: Open kernel capture" imports a
// dmesg / journal / ftrace / trace-cmd file (src/traceimport) behind a
// cancellable progress notification and shows its findings in the Problems
// view at their lines of the capture; "dmascope: Convert capture to
// scenario" turns one device's captured DMA sequence into a .dmas scenario
// beside it; "dmascope: Debug capture" starts the debugger on it (the
// adapter's side is src/debug/capture-session.ts).

import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as vscode from 'vscode';
import { importCaptureFile, importCaptureStream, type ImportOptions } from '../../traceimport/import-stream';
import { captureProblems, looksLikeCapture } from '../../traceimport/problems';
import { captureDevices, captureToScenario } from '../../traceimport/to-scenario';
import type { ImportResult } from '../../traceimport/types';
import { COMMANDS } from '../command-ids';

export const CAPTURE_LANGUAGE_ID = 'dmascope-capture';
const FILTERS = { 'Kernel captures': ['log', 'txt', 'dmesg', 'ftrace', 'trace', 'journal'], 'All files': ['*'] };

/** The last import of each capture, for converting it without reading it again. */
const imported = new Map<string, ImportResult>();

const SEVERITY: Record<string, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

async function importUri(uri: vscode.Uri, token: vscode.CancellationToken, progress: vscode.Progress<{ message?: string; increment?: number }>): Promise<ImportResult> {
  const abort = new AbortController();
  const sub = token.onCancellationRequested(() => abort.abort());
  let total = 0;
  try {
    total = (await vscode.workspace.fs.stat(uri)).size;
  } catch {
    total = 0;
  }
  let reported = 0;
  const opts: ImportOptions = {
    keepEvents: true,
    signal: abort.signal,
    onProgress: (bytes, lines) => {
      const pct = total > 0 ? Math.min(100, (bytes / total) * 100) : 0;
      progress.report({ message: `${lines.toLocaleString('en')} lines`, increment: pct - reported });
      reported = pct;
    },
  };
  try {
    if (uri.scheme === 'file') return await importCaptureFile(uri.fsPath, opts);
    // A virtual file system: its bytes, still read line by line.
    const bytes = await vscode.workspace.fs.readFile(uri);
    return await importCaptureStream(Readable.from([Buffer.from(bytes)]), opts);
  } finally {
    sub.dispose();
  }
}

function toDiagnostics(doc: vscode.TextDocument | undefined, r: ImportResult): vscode.Diagnostic[] {
  return captureProblems(r).map((p) => {
    const start = new vscode.Position(p.line - 1, 0);
    const endLine = Math.max(p.line, p.endLine) - 1;
    const endChar = doc !== undefined && endLine < doc.lineCount ? doc.lineAt(endLine).text.length : 10_000;
    const d = new vscode.Diagnostic(new vscode.Range(start, new vscode.Position(endLine, endChar)), p.message, SEVERITY[p.severity] ?? vscode.DiagnosticSeverity.Warning);
    d.source = 'dmascope';
    d.code = p.code;
    return d;
  });
}

async function openCapture(collection: vscode.DiagnosticCollection, uriArg: unknown): Promise<{ uri: vscode.Uri; result: ImportResult } | undefined> {
  let uri = uriArg instanceof vscode.Uri ? uriArg : undefined;
  // From the palette with a capture in the editor: import that one.
  const active = vscode.window.activeTextEditor?.document;
  if (uri === undefined && active !== undefined && active.languageId === CAPTURE_LANGUAGE_ID && !active.isUntitled) uri = active.uri;
  if (uri === undefined) {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Import capture', filters: FILTERS, title: 'dmascope: open a kernel capture (dmesg, journal, ftrace, trace-cmd report)' });
    uri = picked?.[0];
  }
  if (uri === undefined) return undefined;
  const target = uri;
  const name = path.basename(target.path);
  let result: ImportResult;
  try {
    result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `dmascope: importing ${name}`, cancellable: true }, (progress, token) => importUri(target, token, progress));
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') {
      void vscode.window.showInformationMessage(`dmascope: import of ${name} cancelled.`);
    } else {
      void vscode.window.showErrorMessage(`dmascope: cannot import ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return undefined;
  }
  imported.set(target.toString(), result);
  let doc: vscode.TextDocument | undefined;
  try {
    doc = await vscode.workspace.openTextDocument(target);
    await vscode.window.showTextDocument(doc, { preview: false });
  } catch {
    // Too large for an editor: the Problems view still lists the findings by file and line.
    doc = undefined;
  }
  collection.set(target, toDiagnostics(doc, result));
  const errors = result.findings.filter((f) => f.severity === 'error').length;
  const summary = `dmascope: ${name} (${result.format}): ${result.lines.toLocaleString('en')} lines, ${result.accounting.event} events, ${result.findings.length} findings (${errors} errors), ${result.unknown.count} unknown, ${result.malformed.length} malformed.`;
  if (result.error !== undefined) void vscode.window.showWarningMessage(`${summary} ${result.error.message}`);
  else void vscode.window.showInformationMessage(summary, 'Show Problems').then((pick) => pick && vscode.commands.executeCommand('workbench.actions.view.problems'));
  return { uri: target, result };
}

async function convertCapture(collection: vscode.DiagnosticCollection, uriArg: unknown): Promise<void> {
  let uri = uriArg instanceof vscode.Uri ? uriArg : undefined;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (uri === undefined && active !== undefined && imported.has(active.toString())) uri = active;
  let result = uri !== undefined ? imported.get(uri.toString()) : undefined;
  if (result === undefined) {
    const opened = await openCapture(collection, uri);
    if (opened === undefined) return;
    ({ uri, result } = opened);
  }
  if (uri === undefined) return;
  const devices = captureDevices(result);
  if (devices.length === 0) {
    void vscode.window.showWarningMessage('dmascope: the capture has no DMA events or faults of any device to convert.');
    return;
  }
  const pick =
    devices.length === 1
      ? devices[0]
      : (
          await vscode.window.showQuickPick(
            devices.map((d) => ({ label: d.device, description: `${d.events} DMA events, ${d.faults} faults`, d })),
            { title: 'dmascope: convert which device to a scenario?' },
          )
        )?.d;
  if (pick === undefined) return;
  const s = captureToScenario(result, result.events, pick.device, { captureName: path.basename(uri.path) });
  const doc = await vscode.workspace.openTextDocument({ language: 'dmas', content: s.source });
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false });
  if (s.skipped.length > 0) void vscode.window.showInformationMessage(`dmascope: ${s.ops} operations of ${s.device} converted; ${s.skipped.length} events left out (see the comments).`);
}

/** Starts the debugger on a capture (the explorer's or editor title's file, else the active capture), stopping at its first record. */
async function debugCapture(uriArg: unknown): Promise<boolean> {
  const active = vscode.window.activeTextEditor?.document;
  const uri = uriArg instanceof vscode.Uri ? uriArg : active?.languageId === CAPTURE_LANGUAGE_ID ? active.uri : undefined;
  if (uri === undefined || uri.scheme !== 'file') {
    void vscode.window.showWarningMessage('dmascope: open a kernel capture (dmesg, journal, ftrace, trace-cmd report) saved as a file first.');
    return false;
  }
  return vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(uri) ?? vscode.workspace.workspaceFolders?.[0], {
    type: 'dmascope', request: 'launch', name: 'Debug capture', program: uri.fsPath, capture: true, stopOnEntry: true,
  });
}

/** Plain-text files that look like a capture open as one (language id), so the commands offer themselves there. */
function recogniseByContent(doc: vscode.TextDocument): void {
  if (doc.languageId !== 'plaintext' && doc.languageId !== 'log') return;
  const lines: string[] = [];
  for (let i = 0; i < Math.min(20, doc.lineCount); i++) lines.push(doc.lineAt(i).text);
  if (looksLikeCapture(lines)) void vscode.languages.setTextDocumentLanguage(doc, CAPTURE_LANGUAGE_ID);
}

export function registerCaptureCommands(context: vscode.ExtensionContext): void {
  const collection = vscode.languages.createDiagnosticCollection('dmascope-capture');
  context.subscriptions.push(
    collection,
    vscode.commands.registerCommand(COMMANDS.openCapture, (uri?: unknown) => openCapture(collection, uri)),
    vscode.commands.registerCommand(COMMANDS.captureToScenario, (uri?: unknown) => convertCapture(collection, uri)),
    vscode.commands.registerCommand(COMMANDS.debugCapture, (uri?: unknown) => debugCapture(uri)),
    vscode.workspace.onDidOpenTextDocument(recogniseByContent),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      if (doc.languageId === CAPTURE_LANGUAGE_ID) imported.delete(doc.uri.toString());
    }),
  );
  for (const doc of vscode.workspace.textDocuments) recogniseByContent(doc);
}
