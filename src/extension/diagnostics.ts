// Diagnostics while typing: the check's diagnostics at every edit, and what
// the last run found (failed expectations, checks, unexpected faults, leaks)
// once it finishes, each on the line that caused it. Older results move with
// the text until the next one arrives (run-store mapLine), so squiggles do
// not flicker or drift while typing.

import * as vscode from 'vscode';
import {
  capDescriptors, checkDescriptors, DIAGNOSTIC_SOURCE, type DiagnosticDescriptor, failureDescriptor, runDescriptors, statementColumns,
  timeoutDescriptor, UNNECESSARY_CODES,
} from './run-diagnostics';
import type { CheckEvent, RunService } from './run-service';
import type { RunOutcome } from './run-scheduler';
import type { RunStore } from './run-store';

interface Layer {
  version: number;
  items: DiagnosticDescriptor[];
}

interface DocDiagnostics {
  check?: Layer;
  run?: Layer;
  /** A run that timed out or failed, until the next result. */
  problem?: Layer;
}

const SEVERITY: Record<DiagnosticDescriptor['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

export class DiagnosticsPublisher implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('dmascope');
  private readonly docs = new Map<string, DocDiagnostics>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(service: RunService, private readonly store: RunStore) {
    this.disposables.push(
      this.collection,
      service.onDidCheck((e) => this.checked(e)),
      service.onDidRun((o) => this.ran(o)),
      vscode.workspace.onDidCloseTextDocument((doc) => this.forget(doc.uri.toString())),
    );
    this.disposables.push(store.onDidChange((e) => {
      if (e.kind === 'edit') this.publish(e.uri);
      else if (e.kind === 'removed') this.forget(e.uri);
    }));
  }

  private state(uri: string): DocDiagnostics {
    let s = this.docs.get(uri);
    if (!s) this.docs.set(uri, (s = {}));
    return s;
  }

  private checked(e: CheckEvent): void {
    const s = this.state(e.uri);
    if (s.check && s.check.version > e.version) return;
    s.check = { version: e.version, items: checkDescriptors(e.diagnostics) };
    this.publish(e.uri);
  }

  private ran(o: RunOutcome): void {
    const s = this.state(o.uri);
    if (o.kind === 'result') {
      s.problem = undefined;
      // A run of a text with errors did not run: the previous run's findings stay (the check shows the errors).
      if (o.ran) s.run = { version: o.version, items: capDescriptors(runDescriptors(o.result, o.checkDiagnostics)) };
    } else if (o.kind === 'timeout') {
      s.problem = { version: o.version, items: [timeoutDescriptor(o.limitMs)] };
    } else if (o.kind === 'failed') {
      s.problem = { version: o.version, items: [failureDescriptor(o.message)] };
    }
    this.publish(o.uri);
  }

  private forget(uri: string): void {
    this.docs.delete(uri);
    this.collection.delete(vscode.Uri.parse(uri));
  }

  private publish(uri: string): void {
    const s = this.docs.get(uri);
    if (!s) return;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
    if (!doc) return;
    const out: vscode.Diagnostic[] = [];
    for (const layer of [s.check, s.run, s.problem]) {
      if (!layer) continue;
      for (const item of layer.items) {
        const d = this.toDiagnostic(doc, layer.version, item);
        if (d) out.push(d);
      }
    }
    this.collection.set(doc.uri, out);
  }

  /** A descriptor of version `version` as a diagnostic on the current text, or undefined when its line is gone. */
  private toDiagnostic(doc: vscode.TextDocument, version: number, item: DiagnosticDescriptor): vscode.Diagnostic | undefined {
    const line = this.store.mapLine(doc.uri, version, item.line);
    if (line === undefined) return undefined;
    const range = item.range
      ? this.spanRange(doc, version, line, item.range)
      : statementRange(doc, line);
    const d = new vscode.Diagnostic(range, item.message, SEVERITY[item.severity]);
    d.source = DIAGNOSTIC_SOURCE;
    d.code = item.code;
    const related: vscode.DiagnosticRelatedInformation[] = [];
    for (const r of item.related) {
      const rl = this.store.mapLine(doc.uri, version, r.line);
      if (rl !== undefined) related.push(new vscode.DiagnosticRelatedInformation(new vscode.Location(doc.uri, statementRange(doc, rl)), r.message));
    }
    if (related.length > 0) d.relatedInformation = related;
    if (UNNECESSARY_CODES.has(item.code)) d.tags = [vscode.DiagnosticTag.Unnecessary];
    return d;
  }

  private spanRange(doc: vscode.TextDocument, version: number, line: number, r: { column: number; endLine: number; endColumn: number }): vscode.Range {
    const endLine = this.store.mapLine(doc.uri, version, r.endLine) ?? line;
    const start = new vscode.Position(clampLine(doc, line) - 1, Math.max(0, r.column - 1));
    const end = new vscode.Position(clampLine(doc, Math.max(endLine, line)) - 1, Math.max(0, r.endColumn - 1));
    const range = doc.validateRange(new vscode.Range(start, end.isBefore(start) ? start : end));
    return range.isEmpty ? statementRange(doc, line) : range;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.docs.clear();
  }
}

function clampLine(doc: vscode.TextDocument, line: number): number {
  return Math.min(Math.max(1, line), doc.lineCount);
}

/** The statement on a 1-based line, without indentation and trailing comment (the whole line when there is none). */
export function statementRange(doc: vscode.TextDocument, line: number): vscode.Range {
  const l = doc.lineAt(clampLine(doc, line) - 1);
  const cols = statementColumns(l.text);
  if (!cols) return l.range;
  return new vscode.Range(l.lineNumber, cols.start, l.lineNumber, cols.end);
}
