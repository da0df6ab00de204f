// The debug adapter's session: a scenario's (ScenarioDebugSession, session.ts)
// unless the launch names a kernel capture, whose launch and every request
// after it then go to CaptureDebugSession. The same class runs inline in the
// extension and standalone over stdio (debug-adapter.ts). No vscode here.

import type { DebugProtocol } from '@vscode/debugprotocol';
import { CaptureDebugSession, isCaptureProgram } from './capture-session';
import { ScenarioDebugSession } from './session';

export class DmascopeDebugSession extends ScenarioDebugSession {
  /** A kernel capture being debugged: its launch and every request after it go to its own session. */
  private capture: CaptureDebugSession | undefined;

  protected override dispatchRequest(request: DebugProtocol.Request): void {
    if (this.capture === undefined && request.command === 'launch') {
      const a = (request.arguments ?? {}) as { program?: unknown; capture?: unknown };
      if (isCaptureProgram(a.program, a.capture)) this.capture = this.captureSession();
    }
    if (this.capture !== undefined) return this.capture.handleMessage(request);
    super.dispatchRequest(request);
  }

  /** The capture session, its responses and events sent on as this session's. */
  private captureSession(): CaptureDebugSession {
    const inner = new CaptureDebugSession();
    inner.onDidSendMessage((m) => {
      const msg = m as DebugProtocol.ProtocolMessage;
      if (msg.type === 'response') this.sendResponse({ ...(msg as DebugProtocol.Response), seq: 0 });
      else if (msg.type === 'event') this.sendEvent(msg as DebugProtocol.Event);
    });
    return inner;
  }
}
