// All language providers of issue 4 part B in one call, for extension.ts:
//   registerLanguageProviders(context, deps)
// Each is also exported on its own.

import type * as vscode from 'vscode';
import { registerCompletion } from './completion';
import { registerHover } from './hover';
import { registerInlayHints } from './inlay-hints';
import { registerQuickFixes } from './quick-fixes';
import { registerResultLenses } from './result-lenses';
import { registerSemanticTokens } from './semantic-tokens';
import type { ProviderDeps } from './shared';
import { registerSignatureHelp } from './signature-help';

export type { ProviderDeps } from './shared';
export { registerCompletion, registerHover, registerInlayHints, registerQuickFixes, registerResultLenses, registerSemanticTokens, registerSignatureHelp };

export function registerLanguageProviders(context: vscode.ExtensionContext, deps: ProviderDeps): void {
  registerCompletion(context, deps);
  registerSignatureHelp(context, deps);
  registerHover(context, deps);
  registerInlayHints(context, deps);
  registerResultLenses(context, deps);
  registerSemanticTokens(context, deps);
  registerQuickFixes(context, deps);
}
