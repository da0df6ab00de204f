// Per-line code lenses from the last run: pass/fail on `expect` lines and the
// IOMMU walk of translate/dev_read/dev_write (src/lang/services/code-lenses.ts).
// Line-1 lenses (Run, summary) are run-lens.ts's; later lens kinds (Debug,
// IOVA map, Walk, Bounce buffers) are one more LensSource in the service.

import * as vscode from 'vscode';
import { codeLenses, DEFAULT_LENS_SOURCES, type LensInfo, type LensSource } from '../../lang/services/code-lenses';
import { modelOf, runOf, SELECTOR, toRange, trackDocuments, type ProviderDeps } from './shared';

/** Lenses that open a panel on the document (their command takes the document's URI first). */
const PANEL_LENSES = new Set<LensInfo['kind']>(['walk-panel', 'bounce', 'iova-map']);

/** Leading marks of the service's titles, shown as codicons. */
function title(l: LensInfo): string {
  if (l.title.startsWith('✓ ')) return `$(pass) ${l.title.slice(2)}`;
  if (l.title.startsWith('✗ ')) return `$(error) ${l.title.slice(2)}`;
  if (l.kind === 'walk') return `$(arrow-swap) ${l.title}`;
  if (l.kind === 'walk-panel') return `$(type-hierarchy) ${l.title}`;
  if (l.kind === 'bounce') return `$(files) ${l.title}`;
  if (l.kind === 'iova-map') return `$(symbol-array) ${l.title}`;
  return l.title;
}

class ResultLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: { dispose(): void };

  constructor(private readonly deps: ProviderDeps, private readonly sources: readonly LensSource[]) {
    this.subscription = deps.store.onDidChange((e) => {
      if (e.kind !== 'busy') this.changed.fire();
    });
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const run = runOf(this.deps.store, document);
    if (run === undefined) return [];
    return codeLenses(modelOf(document), run.result, { sources: this.sources, lines: run.lines }).map((l) => {
      // A lens without a command is not shown; '' makes an informational one.
      // Panel lenses open the panel on this document: its URI goes first.
      const args = l.command && PANEL_LENSES.has(l.kind) ? [document.uri, ...l.command.args] : l.command?.args;
      const command: vscode.Command = { title: title(l), command: l.command?.id ?? '', ...(args ? { arguments: args } : {}), ...(l.tooltip !== undefined ? { tooltip: l.tooltip } : {}) };
      return new vscode.CodeLens(toRange(l.range), command);
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

/** Pass/fail lenses on expect lines and walk lenses on device accesses. */
export function registerResultLenses(context: vscode.ExtensionContext, deps: ProviderDeps, sources: readonly LensSource[] = DEFAULT_LENS_SOURCES): void {
  trackDocuments(context);
  const provider = new ResultLensProvider(deps, sources);
  context.subscriptions.push(provider, vscode.languages.registerCodeLensProvider(SELECTOR, provider));
}
