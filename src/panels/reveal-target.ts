// Whether a scenario line a panel's webview asked to show may be shown: the
// message passed parseFromWebviewMessage (types), this checks it against the
// document the panel shows (a webview is untrusted: it may name another
// document, or a line the scenario does not have, e.g. after an edit). No
// vscode: the host passes what it knows of its document.

/** What the webview asked: a 1-based line, and the document when the message names one. */
export interface RevealAsk {
  line: number;
  uri?: string;
}

/** The document the panel shows (undefined: none yet). */
export interface ShownScenario {
  uri: string;
  lineCount: number;
}

/** Why the line may not be shown, or null when it may. */
export function checkRevealTarget(ask: RevealAsk, shown: ShownScenario | undefined): string | null {
  if (!shown) return 'the panel shows no scenario yet';
  if (ask.uri !== undefined && ask.uri !== shown.uri) return `${typeof ask.uri === 'string' ? JSON.stringify(ask.uri.slice(0, 200)) : 'a document'} is not the scenario the panel shows`;
  if (!Number.isSafeInteger(ask.line) || ask.line < 1) return `line ${String(ask.line)} is not a line number`;
  if (ask.line > shown.lineCount) return `line ${ask.line} is past the end of the scenario (${shown.lineCount} line${shown.lineCount === 1 ? '' : 's'})`;
  return null;
}
