// Folding for scenarios: braces and brackets, `# --- section ---` comments,
// # region markers and comment blocks (folding-ranges.ts).

import * as vscode from 'vscode';
import { foldingRanges } from './folding-ranges';
import { LANGUAGE_ID } from './run-service';

const KIND = { comment: vscode.FoldingRangeKind.Comment, region: vscode.FoldingRangeKind.Region } as const;

export function registerFolding(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.languages.registerFoldingRangeProvider({ language: LANGUAGE_ID }, {
    provideFoldingRanges(document) {
      return foldingRanges(document.getText()).map((r) => new vscode.FoldingRange(r.start, r.end, r.kind ? KIND[r.kind] : undefined));
    },
  }));
}
