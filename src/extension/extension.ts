// Extension entry. Activation is cheap: it wires the parts together and
// checks/runs only the .dmas documents already open; the run worker starts
// with the first run.

import * as vscode from 'vscode';
import { registerCaptureCommands } from './capture/capture-commands';
import { registerCommands } from './commands';
import { registerDebugger } from './debug/register-debugger';
import { Config } from './config';
import type { ExtensionDeps } from './deps';
import { DiagnosticsPublisher } from './diagnostics';
import { registerFolding } from './folding';
import { registerBouncePanel } from './panels/bounce-panel';
import { registerIovaMapPanel } from './panels/iova-map-panel';
import { trackDebugPositions } from './panels/panel-host';
import { registerWalkPanel } from './panels/walk-panel';
import { registerLanguageProviders } from './providers';
import { registerRunLens } from './run-lens';
import { RunService } from './run-service';
import { RunStore } from './run-store';

export function activate(context: vscode.ExtensionContext): ExtensionDeps {
  const config = new Config();
  const store = new RunStore();
  const output = vscode.window.createOutputChannel('dmascope');
  const workerScript = vscode.Uri.joinPath(context.extensionUri, 'dist', 'run-worker.js').fsPath;
  const service = new RunService(workerScript, config, store);
  const diagnostics = new DiagnosticsPublisher(service, store);
  context.subscriptions.push(config, store, output, service, diagnostics);

  const deps: ExtensionDeps = { config, store, service, output };
  registerCommands(context, deps);
  registerRunLens(context, deps);
  registerFolding(context);
  // The debugger: step forward and back through the run's trace.
  registerDebugger(context);
  // Completions, signature help, hovers, inlay hints, per-line lenses, semantic tokens, quick fixes.
  registerLanguageProviders(context, deps);
  // Panels beside the editor (IOVA map, translation walk, bounce buffers), and the debugger position they follow.
  trackDebugPositions(context);
  registerIovaMapPanel(context, (m) => output.appendLine(m));
  registerWalkPanel(context, (m) => output.appendLine(m));
  registerBouncePanel(context, (m) => output.appendLine(m));
  // Kernel captures (dmesg, ftrace): import them, findings in the Problems view, convert to a scenario.
  registerCaptureCommands(context);

  service.start();
  return deps;
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}
