// The debugger in VS Code: the inline adapter (the same DAP session as
// dist/debug-adapter.js), the configuration F5 uses without a launch.json,
// and the "Debug scenario" command behind the editor-title button.

import * as vscode from 'vscode';
import { DmascopeDebugSession } from '../../debug/dmascope-session';
import { CAPTURE_LANGUAGE_ID } from '../capture/capture-commands';
import { COMMANDS } from '../command-ids';
import { DEBUG_TYPE, resolveLaunch, type DmascopeLaunch } from './debug-config';
import { eventLinkPrefix, registerLogLinks } from './log-links';
import { registerTimelinePosition } from './timeline-position';

function activeScenario(): string | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  return (doc?.languageId === 'dmas' || doc?.languageId === CAPTURE_LANGUAGE_ID) && doc.uri.scheme === 'file' ? doc.uri.fsPath : undefined;
}

/** F5 on a kernel capture debugs the capture (capture-session.ts). */
function activeIsCapture(): boolean {
  return vscode.window.activeTextEditor?.document.languageId === CAPTURE_LANGUAGE_ID;
}

export function registerDebugger(context: vscode.ExtensionContext): void {
  registerTimelinePosition(context);
  registerLogLinks(context);
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, {
      createDebugAdapterDescriptor: () => new vscode.DebugAdapterInlineImplementation(new DmascopeDebugSession()),
    }),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, {
      resolveDebugConfiguration: async (_folder, config) => {
        const resolved = resolveLaunch(config as Partial<DmascopeLaunch>, activeScenario(), activeIsCapture());
        if (typeof resolved === 'string') {
          void vscode.window.showWarningMessage(resolved);
          return undefined;
        }
        // Unsaved edits are what the user means to debug: the adapter reads the file.
        const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === resolved.program);
        if (doc?.isDirty) await doc.save();
        // Kernel log lines in the Debug Console link back to their event (log-links.ts).
        resolved.eventLinks ??= eventLinkPrefix(context);
        return resolved as vscode.DebugConfiguration;
      },
    }),
    vscode.commands.registerCommand(COMMANDS.debugScenario, async (uri?: vscode.Uri) => {
      const program = uri instanceof vscode.Uri ? uri.fsPath : activeScenario();
      if (!program) {
        void vscode.window.showWarningMessage('dmascope: open a .dmas scenario in the editor first.');
        return false;
      }
      return vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], { type: DEBUG_TYPE, request: 'launch', name: 'Debug scenario', program, stopOnEntry: true });
    }),
  );
}
