// Semantic tokens provider: thin glue over src/lang/services/semantic-tokens.ts.
// The custom token types (device, iommu, domain, buffer, handle) are declared
// in package.json `semanticTokenTypes` with `variable` as superType.

import * as vscode from 'vscode';
import { semanticTokens, TOKEN_MODIFIERS, TOKEN_TYPES } from '../../lang/services/semantic-tokens';
import { modelOf, SELECTOR, trackDocuments, type ProviderDeps } from './shared';

export const LEGEND = new vscode.SemanticTokensLegend([...TOKEN_TYPES], [...TOKEN_MODIFIERS]);

function build(document: vscode.TextDocument, range?: vscode.Range): vscode.SemanticTokens {
  const builder = new vscode.SemanticTokensBuilder(LEGEND);
  const toks = semanticTokens(modelOf(document), range ? { startLine: range.start.line, endLine: range.end.line } : undefined);
  for (const t of toks) builder.push(new vscode.Range(t.line, t.character, t.line, t.character + t.length), t.type, t.modifiers);
  return builder.build();
}

/** Declared devices, IOMMUs and address spaces, and variables by the kind of value they hold. */
export function registerSemanticTokens(context: vscode.ExtensionContext, _deps: ProviderDeps): void {
  trackDocuments(context);
  context.subscriptions.push(
    vscode.languages.registerDocumentSemanticTokensProvider(SELECTOR, { provideDocumentSemanticTokens: (doc) => build(doc) }, LEGEND),
    vscode.languages.registerDocumentRangeSemanticTokensProvider(SELECTOR, { provideDocumentRangeSemanticTokens: (doc, range) => build(doc, range) }, LEGEND),
  );
}
