// Signature help provider: thin glue over src/lang/services/signature-help.ts.

import * as vscode from 'vscode';
import { signatureHelp } from '../../lang/services/signature-help';
import { fromPos, modelOf, SELECTOR, trackDocuments, type ProviderDeps } from './shared';

class SignatureProvider implements vscode.SignatureHelpProvider {
  provideSignatureHelp(document: vscode.TextDocument, position: vscode.Position): vscode.SignatureHelp | undefined {
    const s = signatureHelp(modelOf(document), fromPos(position));
    if (s === undefined) return undefined;
    const info = new vscode.SignatureInformation(s.label, new vscode.MarkdownString(s.documentation));
    info.parameters = s.parameters.map((p) => new vscode.ParameterInformation(p.label, new vscode.MarkdownString(p.documentation)));
    // Past the last parameter: highlight none (an index out of range does that).
    info.activeParameter = s.activeParameter ?? s.parameters.length;
    const help = new vscode.SignatureHelp();
    help.signatures = [info];
    help.activeSignature = 0;
    help.activeParameter = info.activeParameter;
    return help;
  }
}

/** Kernel argument names in kernel order, with the argument being written highlighted. */
export function registerSignatureHelp(context: vscode.ExtensionContext, _deps: ProviderDeps): void {
  trackDocuments(context);
  context.subscriptions.push(
    vscode.languages.registerSignatureHelpProvider(SELECTOR, new SignatureProvider(), { triggerCharacters: ['(', ','], retriggerCharacters: ['=', ' '] }),
  );
}
