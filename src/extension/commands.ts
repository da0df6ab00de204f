// The palette commands: run a scenario, show its report, new scenario from
// a template, open a shipped example. The report is the CLI's
// (formatRunReport), written to the "dmascope" output channel.

import * as vscode from 'vscode';
import type { RunResult } from '../lang/run-result';
import { formatRunReport } from '../report/format-report';
import { COMMANDS } from './command-ids';
import { RUN_NOTIFICATION_AFTER_MS, runProgressMessage } from './run-progress';
import type { RunOutcome } from './run-scheduler';
import { isScenario, LANGUAGE_ID, type RunService, scenarioFileName } from './run-service';
import type { RunStore } from './run-store';
import { SCENARIO_TEMPLATES } from './snippet-text';

export { COMMANDS } from './command-ids';

export interface CommandDeps {
  readonly service: RunService;
  readonly store: RunStore;
  readonly output: vscode.OutputChannel;
}

/** The scenario editor that was active last (the walkthrough runs commands while its own page has the focus). */
let lastScenario: vscode.TextDocument | undefined;

/**
 * The scenario a command acts on: the given URI (editor title, lens), else
 * the active editor's, else the one visible scenario editor, else the last
 * active scenario, brought back into view.
 */
async function targetDocument(uri: unknown): Promise<vscode.TextDocument | undefined> {
  if (uri instanceof vscode.Uri) {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    return open ?? vscode.workspace.openTextDocument(uri);
  }
  const active = vscode.window.activeTextEditor?.document;
  if (active && isScenario(active)) return active;
  const visible = vscode.window.visibleTextEditors.map((e) => e.document).filter(isScenario);
  if (visible.length === 1) return visible[0];
  if (visible.length === 0 && lastScenario && !lastScenario.isClosed) {
    await vscode.window.showTextDocument(lastScenario, { preview: false });
    return lastScenario;
  }
  return active;
}

async function scenarioOrWarn(uri: unknown): Promise<vscode.TextDocument | undefined> {
  const doc = await targetDocument(uri);
  if (doc && isScenario(doc)) return doc;
  void vscode.window.showWarningMessage('dmascope: open a .dmas scenario in the editor first.');
  return undefined;
}

/**
 * The whole report in the Output panel: every finding (expected ones too),
 * the kernel log, what the scenario printed and a trace summary, each at a
 * `/full/path:LINE` location VS Code turns into a link.
 */
function writeReport(output: vscode.OutputChannel, result: RunResult, doc: vscode.TextDocument, reportText?: string): void {
  output.clear();
  const locationPath = doc.uri.scheme === 'file' ? doc.uri.fsPath : undefined;
  output.append(reportText ?? formatRunReport(result, scenarioFileName(doc), { verbose: true, traceSummary: true, ...(locationPath ? { locationPath } : {}) }));
  output.show(true);
}

/** Runs a scenario now and writes its report; resolves with the result (undefined when there is none). */
async function runAndReport(deps: CommandDeps, doc: vscode.TextDocument): Promise<RunResult | undefined> {
  const fileName = scenarioFileName(doc);
  const run = deps.service.runNow(doc);
  let finished = false;
  let cancelledByUser = false;
  void run.then(() => (finished = true), () => (finished = true));
  // A long run gets a notification with its progress and a Cancel button.
  const timer = setTimeout(() => {
    if (finished) return;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `dmascope: running ${fileName}`, cancellable: true }, (progress, token) => {
      const uri = doc.uri.toString();
      const sub = deps.service.onDidProgress((e) => {
        if (e.uri === uri) progress.report({ message: runProgressMessage(e) });
      });
      token.onCancellationRequested(() => {
        cancelledByUser = deps.service.cancel(doc);
      });
      return run.then(() => sub.dispose(), () => sub.dispose());
    });
  }, RUN_NOTIFICATION_AFTER_MS);
  const outcome: RunOutcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `dmascope: running ${fileName}` }, () => run);
  clearTimeout(timer);
  switch (outcome.kind) {
    case 'result':
      writeReport(deps.output, outcome.result, doc, outcome.reportText);
      return outcome.result;
    case 'timeout': {
      const text = `the run did not finish within ${Math.round(outcome.limitMs / 1000)} s and was stopped`;
      deps.output.clear();
      deps.output.appendLine(`dmascope run ${fileName}\n${fileName}:1: error: ${text}`);
      deps.output.show(true);
      void vscode.window.showWarningMessage(`dmascope: ${fileName}: ${text}.`);
      return undefined;
    }
    case 'failed':
      deps.output.clear();
      deps.output.appendLine(`dmascope: internal error while running ${fileName}:\n${outcome.message}`);
      deps.output.show(true);
      void vscode.window.showErrorMessage(`dmascope: internal error while running ${fileName} (details in the dmascope output).`);
      return undefined;
    case 'cancelled':
      if (cancelledByUser) {
        deps.output.clear();
        deps.output.appendLine(`dmascope run ${fileName}\n${fileName}: the run was cancelled; nothing of it is kept (a run that reaches its time or memory budget keeps what it did: dmascope.run.timeBudgetSeconds, dmascope.run.memoryBudgetMb)`);
        deps.output.show(true);
      }
      return undefined;
  }
}

async function runScenarioCommand(deps: CommandDeps, uri?: unknown): Promise<RunResult | undefined> {
  const doc = await scenarioOrWarn(uri);
  return doc ? runAndReport(deps, doc) : undefined;
}

async function showReportCommand(deps: CommandDeps, uri?: unknown): Promise<RunResult | undefined> {
  const doc = await scenarioOrWarn(uri);
  if (!doc) return undefined;
  const entry = deps.store.get(doc.uri);
  if (entry && entry.version === doc.version && !deps.store.isRunning(doc.uri)) {
    writeReport(deps.output, entry.result, doc, entry.reportText);
    return entry.result;
  }
  return runAndReport(deps, doc);
}

async function newScenarioCommand(topic?: unknown): Promise<vscode.TextEditor | undefined> {
  let template = typeof topic === 'string' ? SCENARIO_TEMPLATES.find((t) => t.label === topic || t.prefix === topic) : undefined;
  if (!template) {
    const picked = await vscode.window.showQuickPick(
      SCENARIO_TEMPLATES.map((t) => ({ label: t.label, description: t.prefix, detail: t.description, template: t })),
      { title: 'New dmascope scenario', placeHolder: 'Pick a topic', matchOnDetail: true },
    );
    template = picked?.template;
  }
  if (!template) return undefined;
  const doc = await vscode.workspace.openTextDocument({ language: LANGUAGE_ID, content: '' });
  const editor = await vscode.window.showTextDocument(doc);
  await editor.insertSnippet(new vscode.SnippetString(template.body), new vscode.Position(0, 0));
  return editor;
}

/** The first comment line of an example (its one-line description). */
function exampleTitle(text: string): string {
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:#|\/\/)\s?(.*)$/.exec(line);
    if (m) {
      if (m[1]!.trim() !== '') return m[1]!.trim();
      continue;
    }
    if (line.trim() !== '') break;
  }
  return '';
}

async function openExampleCommand(context: vscode.ExtensionContext, name?: unknown): Promise<vscode.TextEditor | undefined> {
  const dir = vscode.Uri.joinPath(context.extensionUri, 'examples');
  let entries: [string, vscode.FileType][];
  try {
    entries = await vscode.workspace.fs.readDirectory(dir);
  } catch {
    void vscode.window.showErrorMessage('dmascope: the examples folder is missing from the extension.');
    return undefined;
  }
  const files = entries.filter(([n, t]) => t === vscode.FileType.File && n.endsWith('.dmas')).map(([n]) => n).sort();
  let file = typeof name === 'string' ? files.find((f) => f === name || f === `${name}.dmas`) : undefined;
  if (!file) {
    const items = await Promise.all(files.map(async (f) => {
      const bytes = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(dir, f));
      return { label: f, detail: exampleTitle(new TextDecoder().decode(bytes)) };
    }));
    const picked = await vscode.window.showQuickPick(items, { title: 'Open a dmascope example', placeHolder: 'Pick an example scenario', matchOnDetail: true });
    file = picked?.label;
  }
  if (!file) return undefined;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(dir, file));
  // Not a preview: it would replace the walkthrough's page, which runs this command.
  return vscode.window.showTextDocument(doc, { preview: false });
}

/**
 * Commands resolve to nothing: their results would be serialised back to
 * the window (palette, walkthrough links), and editors or large run results
 * have no business there. Tests read the run store instead.
 */
export function registerCommands(context: vscode.ExtensionContext, deps: CommandDeps): void {
  const quietly = <A extends unknown[]>(f: (...args: A) => Promise<unknown>) => async (...args: A): Promise<void> => {
    await f(...args);
  };
  const remember = (e: vscode.TextEditor | undefined): void => {
    if (e && isScenario(e.document)) lastScenario = e.document;
  };
  remember(vscode.window.activeTextEditor);
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor(remember),
    { dispose: () => { lastScenario = undefined; } },
    vscode.commands.registerCommand(COMMANDS.runScenario, quietly((uri?: unknown) => runScenarioCommand(deps, uri))),
    vscode.commands.registerCommand(COMMANDS.showReport, quietly((uri?: unknown) => showReportCommand(deps, uri))),
    vscode.commands.registerCommand(COMMANDS.newScenario, quietly((topic?: unknown) => newScenarioCommand(topic))),
    vscode.commands.registerCommand(COMMANDS.openExample, quietly((name?: unknown) => openExampleCommand(context, name))),
  );
}
