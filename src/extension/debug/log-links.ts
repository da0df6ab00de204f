// Clicking a kernel log line in the Debug Console moves the debugger to the
// event that printed it. The adapter ends each line with a URI of this
// extension (`<scheme>://<extension id>/goToEvent?event=N`, see
// LaunchArguments.eventLinks), which the Debug Console shows as a link; this
// URI handler receives the click and asks the dmascope session for
// dmascope/goToEvent.

import * as vscode from 'vscode';
import { GO_TO_EVENT_REQUEST } from '../../debug/session';
import { DEBUG_TYPE } from './debug-config';
import { EVENT_LINK_PATH, eventOfLink } from './go-to-event';


/** The URI prefix the adapter puts on log lines for this extension. */
export function eventLinkPrefix(context: vscode.ExtensionContext): string {
  return `${vscode.env.uriScheme}://${context.extension.id}${EVENT_LINK_PATH}`;
}


export function registerLogLinks(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.window.registerUriHandler({
      handleUri: async (uri) => {
        const event = eventOfLink(uri);
        if (event === undefined) return;
        const session = vscode.debug.activeDebugSession;
        if (session?.type !== DEBUG_TYPE) {
          void vscode.window.showWarningMessage('dmascope: that log line belongs to a debug session that has ended.');
          return;
        }
        try {
          await session.customRequest(GO_TO_EVENT_REQUEST, { event });
        } catch (e) {
          void vscode.window.showErrorMessage(`dmascope: ${e instanceof Error ? e.message : String(e)}`);
        }
      },
    }),
  );
}
