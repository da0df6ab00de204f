// Completion provider: thin glue over src/lang/services/completion.ts.

import * as vscode from 'vscode';
import { complete, type CompletionKind } from '../../lang/services/completion';
import { fromPos, modelOf, SELECTOR, toRange, trackDocuments, type ProviderDeps } from './shared';

const KINDS: Record<CompletionKind, vscode.CompletionItemKind> = {
  function: vscode.CompletionItemKind.Function,
  variable: vscode.CompletionItemKind.Variable,
  constant: vscode.CompletionItemKind.Constant,
  keyword: vscode.CompletionItemKind.Keyword,
  property: vscode.CompletionItemKind.Property,
  'enum-member': vscode.CompletionItemKind.EnumMember,
  snippet: vscode.CompletionItemKind.Snippet,
  value: vscode.CompletionItemKind.Value,
  field: vscode.CompletionItemKind.Field,
  module: vscode.CompletionItemKind.Module,
  class: vscode.CompletionItemKind.Class,
  struct: vscode.CompletionItemKind.Struct,
  event: vscode.CompletionItemKind.Event,
};

/** Characters after which completion opens by itself. */
export const COMPLETION_TRIGGERS = ['.', '(', ',', ':', '=', '|', '{'];

class CompletionProvider implements vscode.CompletionItemProvider {
  provideCompletionItems(document: vscode.TextDocument, position: vscode.Position): vscode.CompletionList {
    const r = complete(modelOf(document), fromPos(position));
    const wordRange = toRange(r.range);
    const items = r.items.map((it) => {
      const item = new vscode.CompletionItem(it.label, KINDS[it.kind]);
      if (it.detail !== undefined) item.detail = it.detail;
      if (it.documentation !== undefined) item.documentation = new vscode.MarkdownString(it.documentation);
      if (it.insertText !== undefined) item.insertText = it.snippet ? new vscode.SnippetString(it.insertText) : it.insertText;
      if (it.sortText !== undefined) item.sortText = it.sortText;
      if (it.filterText !== undefined) item.filterText = it.filterText;
      item.range = it.range !== undefined ? toRange(it.range) : wordRange;
      if (it.triggerParameterHints) item.command = { title: 'Signature help', command: 'editor.action.triggerParameterHints' };
      return item;
    });
    return new vscode.CompletionList(items, r.incomplete === true);
  }
}

/** Completion of calls (kernel argument snippets), names by kind, constants, declaration keys and expect forms. */
export function registerCompletion(context: vscode.ExtensionContext, _deps: ProviderDeps): void {
  trackDocuments(context);
  context.subscriptions.push(vscode.languages.registerCompletionItemProvider(SELECTOR, new CompletionProvider(), ...COMPLETION_TRIGGERS));
}
