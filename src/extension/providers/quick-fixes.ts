// Code actions (quick fixes): thin glue over src/lang/services/code-actions.ts.

import * as vscode from 'vscode';
import type { Diagnostic } from '../../lang/run-result';
import { quickFixes } from '../../lang/services/code-actions';
import { fromRange, modelOf, runOf, SELECTOR, toRange, trackDocuments, type ProviderDeps } from './shared';

function codeOf(d: vscode.Diagnostic): string {
  const c = d.code;
  if (c === undefined) return '';
  return typeof c === 'object' ? String(c.value) : String(c);
}

/** The editor's diagnostics as the service's (1-based lines, endColumn exclusive). */
function toLang(d: vscode.Diagnostic): Diagnostic {
  const severity = d.severity === vscode.DiagnosticSeverity.Error ? 'error' : d.severity === vscode.DiagnosticSeverity.Warning ? 'warning' : 'info';
  return { line: d.range.start.line + 1, column: d.range.start.character + 1, endLine: d.range.end.line + 1, endColumn: d.range.end.character + 1, severity, code: codeOf(d), message: d.message };
}

class QuickFixProvider implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly deps: ProviderDeps) {}

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    if (context.only !== undefined && !context.only.contains(vscode.CodeActionKind.QuickFix) && !vscode.CodeActionKind.QuickFix.contains(context.only)) return [];
    const run = runOf(this.deps.store, document);
    const fixes = quickFixes(modelOf(document), run?.result, fromRange(range), context.diagnostics.map(toLang), run?.lines);
    return fixes.map((f) => {
      const action = new vscode.CodeAction(f.title, vscode.CodeActionKind.QuickFix);
      const edit = new vscode.WorkspaceEdit();
      for (const e of f.edits) edit.replace(document.uri, toRange(e.range), e.newText);
      action.edit = edit;
      action.isPreferred = f.preferred;
      // The diagnostics the fix resolves: same line, and the message (or its code) matches.
      const matching = context.diagnostics.filter((d) => d.range.start.line === f.fixes.line - 1 && (d.message === f.fixes.message || d.message.includes(f.fixes.message) || codeOf(d) === f.fixes.code));
      if (matching.length > 0) action.diagnostics = matching;
      return action;
    });
  }
}

/** Quick fixes: missing dma_iova_sync, size/direction at unmap, unchecked map error, misspelt names. */
export function registerQuickFixes(context: vscode.ExtensionContext, deps: ProviderDeps): void {
  trackDocuments(context);
  context.subscriptions.push(vscode.languages.registerCodeActionsProvider(SELECTOR, new QuickFixProvider(deps), { providedCodeActionKinds: QuickFixProvider.kinds }));
}
