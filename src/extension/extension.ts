// Extension entry: activation and the `dmascope.runScenario` command.
// The full editor experience (diagnostics, lenses, debugger, panels) comes later.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { runScenario } from '../lang/run';
import { formatRunReport } from '../report/format-report';

let output: vscode.OutputChannel | undefined;

function outputChannel(): vscode.OutputChannel {
  output ??= vscode.window.createOutputChannel('dmascope');
  return output;
}

function runActiveScenario(): void {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'dmas') {
    void vscode.window.showWarningMessage('dmascope: open a .dmas scenario in the editor to run it.');
    return;
  }
  const doc = editor.document;
  const fileName = doc.isUntitled ? doc.fileName : path.basename(doc.fileName);
  const channel = outputChannel();
  channel.clear();
  try {
    const result = runScenario(doc.getText(), fileName);
    channel.append(formatRunReport(result, fileName));
  } catch (err) {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    channel.appendLine(`dmascope: internal error while running ${fileName}:\n${detail}`);
  }
  channel.show(true);
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.commands.registerCommand('dmascope.runScenario', runActiveScenario));
  context.subscriptions.push({ dispose: () => { output?.dispose(); output = undefined; } });
}

export function deactivate(): void {
  output?.dispose();
  output = undefined;
}
