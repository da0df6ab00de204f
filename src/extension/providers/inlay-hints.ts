// Inlay hints provider: thin glue over src/lang/services/inlay-hints.ts.
// Switched by `dmascope.inlayHints.enabled` (read through Config).

import * as vscode from 'vscode';
import { inlayHints } from '../../lang/services/inlay-hints';
import { fromRange, modelOf, runOf, SELECTOR, toPos, trackDocuments, type ProviderDeps } from './shared';

class HintsProvider implements vscode.InlayHintsProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeInlayHints = this.changed.event;
  private readonly subscriptions: { dispose(): void }[];

  constructor(private readonly deps: ProviderDeps) {
    this.subscriptions = [
      // A new result (or lines moved by an edit) changes the hints; so does the setting.
      deps.store.onDidChange((e) => {
        if (e.kind !== 'busy') this.changed.fire();
      }),
      deps.config.onDidChange(() => this.changed.fire()),
    ];
  }

  provideInlayHints(document: vscode.TextDocument, range: vscode.Range): vscode.InlayHint[] {
    if (!this.deps.config.current.inlayHintsEnabled) return [];
    const run = runOf(this.deps.store, document);
    if (run === undefined) return [];
    return inlayHints(modelOf(document), run.result, fromRange(range), run.lines).map((h) => {
      const hint = new vscode.InlayHint(toPos(h.position), h.label);
      hint.tooltip = new vscode.MarkdownString(h.tooltip);
      hint.paddingLeft = true;
      return hint;
    });
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}

/** Each call's result in the last run (IOVA, errno name, bytes read) at the end of the call. */
export function registerInlayHints(context: vscode.ExtensionContext, deps: ProviderDeps): void {
  trackDocuments(context);
  const provider = new HintsProvider(deps);
  context.subscriptions.push(provider, vscode.languages.registerInlayHintsProvider(SELECTOR, provider));
}
