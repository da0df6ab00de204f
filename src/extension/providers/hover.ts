// Hover provider: thin glue over src/lang/services/hover.ts.

import * as vscode from 'vscode';
import { hover } from '../../lang/services/hover';
import { fromPos, modelOf, runOf, SELECTOR, toRange, trackDocuments, type ProviderDeps } from './shared';

/** Calls (kernel doc and last result), numbers (hex/decimal/size and what held them), devices, IOMMUs, domains, constants. */
export function registerHover(context: vscode.ExtensionContext, deps: ProviderDeps): void {
  trackDocuments(context);
  context.subscriptions.push(
    vscode.languages.registerHoverProvider(SELECTOR, {
      provideHover(document, position) {
        const run = runOf(deps.store, document);
        const h = hover(modelOf(document), fromPos(position), run?.result, run?.lines);
        if (h === undefined) return undefined;
        const md = new vscode.MarkdownString(h.contents);
        md.supportThemeIcons = false;
        return new vscode.Hover(md, toRange(h.range));
      },
    }),
  );
}
