// Where the debugger is in the run: a status bar item ("event k of N", and
// whether the last move went backwards) fed by the adapter's position event,
// and "dmascope: Go to event" (an event number, a percentage, or the next
// event of a kind).

import * as vscode from 'vscode';
import { GO_TO_EVENT_REQUEST, POSITION_EVENT, WHERE_FROM_REQUEST } from '../../debug/session';
import { COMMANDS } from '../command-ids';
import { DEBUG_TYPE } from './debug-config';
import { parseGoToEvent } from './go-to-event';

interface Position {
  event: number;
  total: number;
  backwards: boolean;
  line: number;
}

function isPosition(x: unknown): x is Position {
  const p = x as Partial<Position> | null;
  return typeof p === 'object' && p !== null && typeof p.event === 'number' && typeof p.total === 'number' && typeof p.backwards === 'boolean';
}

export function registerTimelinePosition(context: vscode.ExtensionContext): void {
  const item = vscode.window.createStatusBarItem('dmascope.timeline', vscode.StatusBarAlignment.Left, 10);
  item.name = 'dmascope timeline position';
  item.command = COMMANDS.goToEvent;
  context.subscriptions.push(
    item,
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.session.type !== DEBUG_TYPE || e.event !== POSITION_EVENT || !isPosition(e.body)) return;
      const p = e.body;
      item.text = `${p.backwards ? '$(debug-step-back)' : '$(debug-step-over)'} event ${p.event + 1}${p.total >= 0 ? ` of ${p.total}` : ''}`;
      item.tooltip = `dmascope: position in the run's trace (line ${p.line})${p.backwards ? ', reached going backwards' : ''}. Click to go to another event.`;
      item.show();
    }),
    vscode.debug.onDidTerminateDebugSession((s) => {
      if (s.type === DEBUG_TYPE) item.hide();
    }),
    vscode.commands.registerCommand(COMMANDS.whereFrom, async (arg?: unknown) => {
      const session = vscode.debug.activeDebugSession;
      if (session?.type !== DEBUG_TYPE) {
        void vscode.window.showWarningMessage('dmascope: start debugging a scenario first (F5).');
        return undefined;
      }
      const editor = vscode.window.activeTextEditor;
      const selected = editor ? editor.document.getText(editor.selection.isEmpty ? editor.document.getWordRangeAtPosition(editor.selection.active, /0x[0-9a-fA-F_]+/) : editor.selection) : '';
      // From the Variables view's context menu: the variable's value holds the address.
      const fromVariable = typeof arg === 'object' && arg !== null ? /0x[0-9a-fA-F]+/.exec(String((arg as { variable?: { value?: unknown } }).variable?.value ?? ''))?.[0] : undefined;
      const text = typeof arg === 'string' ? arg : fromVariable ?? await vscode.window.showInputBox({
        title: 'dmascope: Where did this come from',
        prompt: 'An IOVA or a physical address: the debugger goes back to the event that last wrote it',
        value: selected.replace(/_/g, ''),
      });
      if (!text) return undefined;
      const address = text.trim().replace(/_/g, '');
      // An address is tried as an IOVA first (what a device used), then as a physical address.
      for (const space of ['iova', 'phys'] as const) {
        try {
          return await session.customRequest(WHERE_FROM_REQUEST, { address, space });
        } catch {
          // not in that space: try the next
        }
      }
      void vscode.window.showInformationMessage(`dmascope: nothing wrote ${address} before this point of the run.`);
      return undefined;
    }),
    vscode.commands.registerCommand(COMMANDS.goToEvent, async (arg?: unknown) => {
      const session = vscode.debug.activeDebugSession;
      if (session?.type !== DEBUG_TYPE) {
        void vscode.window.showWarningMessage('dmascope: start debugging a scenario first (F5).');
        return undefined;
      }
      const text = typeof arg === 'string' ? arg : await vscode.window.showInputBox({
        title: 'dmascope: Go to event',
        prompt: 'An event number (1234), a percentage of the run (50%), or the next event of a kind (iommu:io_page_fault, alloc_iova_fast)',
      });
      if (text === undefined) return undefined;
      const target = parseGoToEvent(text);
      if (typeof target === 'string') {
        void vscode.window.showErrorMessage(`dmascope: ${target}`);
        return undefined;
      }
      return session.customRequest(GO_TO_EVENT_REQUEST, target);
    }),
  );
}
