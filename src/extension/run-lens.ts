// Code lenses on line 1 of a scenario: "Run" and the last run's summary.
// Lenses come from a list of contributors so later ones (Debug, IOVA map,
// Walk, Bounce buffers) are one more entry in LINE1_LENS_CONTRIBUTORS, each
// reading the same run entry.

import * as vscode from 'vscode';
import { COMMANDS } from './command-ids';
import type { RunEntry, RunStore } from './run-store';
import { LANGUAGE_ID } from './run-service';

export interface LensContext {
  readonly document: vscode.TextDocument;
  /** The latest run (possibly of an older version), if the scenario ran. */
  readonly entry: RunEntry | undefined;
  /** A run is in flight. */
  readonly running: boolean;
  /** The entry is the run of the document's current text. */
  readonly upToDate: boolean;
  /** Where line-1 lenses go. */
  readonly range: vscode.Range;
}

export interface LensContributor {
  readonly id: string;
  provide(ctx: LensContext): vscode.CodeLens[];
}

const STATUS_ICON = { pass: '$(pass)', fail: '$(error)', error: '$(error)' } as const;

/** "Run" (runs now) and the summary of the last run (shows its report). */
export const runLens: LensContributor = {
  id: 'run',
  provide(ctx) {
    const uri = ctx.document.uri;
    const lenses = [
      new vscode.CodeLens(ctx.range, {
        title: ctx.running ? '$(sync~spin) Running…' : '$(play) Run',
        tooltip: 'Run the scenario and show its report (dmascope: Run scenario)',
        command: COMMANDS.runScenario,
        arguments: [uri],
      }),
    ];
    if (ctx.entry) {
      const s = ctx.entry.summary;
      const outdated = ctx.upToDate ? '' : ' (before the last edits)';
      lenses.push(new vscode.CodeLens(ctx.range, {
        title: `${STATUS_ICON[s.status]} ${s.text}${outdated}`,
        tooltip: s.tooltip,
        command: COMMANDS.showReport,
        arguments: [uri],
      }));
    }
    return lenses;
  },
};

/** "Debug": starts the debugger on the scenario, stopped at its first statement. */
export const debugLens: LensContributor = {
  id: 'debug',
  provide(ctx) {
    return [new vscode.CodeLens(ctx.range, {
      title: '$(debug-alt) Debug',
      tooltip: 'Step forward and back through the scenario (dmascope: Debug scenario)',
      command: COMMANDS.debugScenario,
      arguments: [ctx.document.uri],
    })];
  },
};

/** Line-1 lenses, left to right. Later: IOVA map, Walk, Bounce buffers. */
export const LINE1_LENS_CONTRIBUTORS: LensContributor[] = [runLens, debugLens];

class Line1LensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: { dispose(): void };

  constructor(private readonly store: RunStore, private readonly contributors: readonly LensContributor[]) {
    this.subscription = store.onDidChange((e) => {
      if (e.kind !== 'edit') this.changed.fire();
    });
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const entry = this.store.get(document.uri);
    const ctx: LensContext = {
      document,
      entry,
      running: this.store.isRunning(document.uri),
      upToDate: entry !== undefined && entry.version === document.version,
      range: new vscode.Range(0, 0, 0, 0),
    };
    const out: vscode.CodeLens[] = [];
    for (const c of this.contributors) {
      try {
        out.push(...c.provide(ctx));
      } catch (err) {
        console.error(`dmascope: lens contributor ${c.id} failed`, err);
      }
    }
    return out;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

export function registerRunLens(
  context: vscode.ExtensionContext,
  deps: { readonly store: RunStore },
  contributors: readonly LensContributor[] = LINE1_LENS_CONTRIBUTORS,
): void {
  const provider = new Line1LensProvider(deps.store, contributors);
  context.subscriptions.push(provider, vscode.languages.registerCodeLensProvider({ language: LANGUAGE_ID }, provider));
}
