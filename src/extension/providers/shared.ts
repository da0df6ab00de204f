// What every language provider shares: the parsed document (one parse per
// document version, src/lang/services/document-model.ts), the document's
// last run with a line mapper to the current text, and position/range
// conversion. The services use 0-based positions, as VS Code does.

import * as vscode from 'vscode';
import type { RunResult } from '../../lang/run-result';
import { ModelCache, type DocumentModel } from '../../lang/services/document-model';
import type { Position, Range } from '../../lang/services/positions';
import type { LineMapper } from '../../lang/services/run-index';
import type { Config } from '../config';
import type { RunStore } from '../run-store';
import { LANGUAGE_ID } from '../run-service';

/** What the providers need from the extension (a subset of ExtensionDeps). */
export interface ProviderDeps {
  readonly store: RunStore;
  readonly config: Config;
}

export const SELECTOR: vscode.DocumentSelector = { language: LANGUAGE_ID };

const models = new ModelCache();

/** The parsed document, built once per version. */
export function modelOf(doc: vscode.TextDocument): DocumentModel {
  return models.get(doc.uri.toString(), doc.version, () => doc.getText());
}

const tracked = new WeakSet<vscode.ExtensionContext>();

/** Forgets the parses of closed documents (once per extension context, whichever provider registers first). */
export function trackDocuments(context: vscode.ExtensionContext): void {
  if (tracked.has(context)) return;
  tracked.add(context);
  context.subscriptions.push(vscode.workspace.onDidCloseTextDocument((d) => models.delete(d.uri.toString())));
}

/** The document's last run and, when it was made from an older version, how its lines map to the current text. */
export function runOf(store: RunStore, doc: vscode.TextDocument): { result: RunResult; lines: LineMapper | undefined } | undefined {
  const entry = store.get(doc.uri);
  if (entry === undefined) return undefined;
  if (entry.version === doc.version) return { result: entry.result, lines: undefined };
  const uri = doc.uri;
  return { result: entry.result, lines: { key: `${entry.version}->${doc.version}`, map: (line) => store.currentLine(uri, line) } };
}

export const toPos = (p: Position): vscode.Position => new vscode.Position(p.line, p.character);
export const toRange = (r: Range): vscode.Range => new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
export const fromPos = (p: vscode.Position): Position => ({ line: p.line, character: p.character });
export const fromRange = (r: vscode.Range): Range => ({ start: fromPos(r.start), end: fromPos(r.end) });
