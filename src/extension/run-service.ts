// Checks and runs the open scenarios: follows the editor's .dmas documents,
// feeds the schedulers, runs in worker threads and files the results in the
// run store. Diagnostics, lenses and commands all go through here.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { IncrementalChecker } from '../lang/incremental';
import type { Diagnostic, RunResult } from '../lang/run-result';
import type { Config } from './config';
import { countLineBreaks, type LineChange } from './line-map';
import { CheckScheduler, type DocSource, RunScheduler, type RunnerOutcome, type RunOutcome, systemClock } from './run-scheduler';
import type { RunStore } from './run-store';
import { CHECK_TIME_LIMIT_MS, runTimeLimitMs, SYNC_CHECK_MAX_CHARS } from './settings';
import { JobError, nodeWorkerFactory, WorkerPool } from './worker-pool';

export const LANGUAGE_ID = 'dmas';

/** Schemes whose documents are views of another document (diffs, output), never checked. */
const IGNORED_SCHEMES = new Set(['git', 'gitfs', 'output', 'vscode-scm', 'review', 'pr']);

export function isScenario(doc: vscode.TextDocument): boolean {
  return doc.languageId === LANGUAGE_ID && !IGNORED_SCHEMES.has(doc.uri.scheme);
}

/** The file name reports use: the base name (`01-streaming-map.dmas`, `Untitled-1`). */
export function scenarioFileName(doc: vscode.TextDocument): string {
  return path.posix.basename(doc.uri.path) || doc.fileName;
}

export interface CheckEvent {
  uri: string;
  version: number;
  diagnostics: Diagnostic[];
}

function docSource(doc: vscode.TextDocument): DocSource {
  return {
    uri: doc.uri.toString(),
    fileName: scenarioFileName(doc),
    version: () => doc.version,
    text: () => doc.getText(),
  };
}

function toLineChanges(changes: readonly vscode.TextDocumentContentChangeEvent[]): LineChange[] {
  return changes.map((c) => ({
    startLine: c.range.start.line + 1,
    startColumn: c.range.start.character,
    endLine: c.range.end.line + 1,
    endColumn: c.range.end.character,
    newLineBreaks: countLineBreaks(c.text),
  }));
}

export class RunService implements vscode.Disposable {
  private readonly pool: WorkerPool;
  private readonly runs: RunScheduler;
  private readonly checks: CheckScheduler;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly checkEmitter = new vscode.EventEmitter<CheckEvent>();
  private readonly runEmitter = new vscode.EventEmitter<RunOutcome>();

  /** A check finished (parse + semantic diagnostics of one version). */
  readonly onDidCheck = this.checkEmitter.event;
  /** A run finished: result, timeout or failure (never for cancelled runs). */
  readonly onDidRun = this.runEmitter.event;
  private readonly progressEmitter = new vscode.EventEmitter<RunProgressEvent>();
  /** Where a long run stands (from its first second on, a few times a second). */
  readonly onDidProgress = this.progressEmitter.event;

  constructor(
    workerScript: string,
    private readonly config: Config,
    private readonly store: RunStore,
  ) {
    this.pool = new WorkerPool(nodeWorkerFactory(workerScript), { maxWorkers: 3, maxIdle: 1 });
    const settings = config.current;
    this.runs = new RunScheduler({
      clock: systemClock,
      runner: (req) => {
        const s = this.config.current;
        const limitMs = runTimeLimitMs(s.runTimeBudgetSeconds);
        const job = this.pool.submit(
          { kind: 'run', source: req.source, fileName: req.fileName, kernelVersion: s.kernelVersion, budget: { timeSeconds: s.runTimeBudgetSeconds, memoryMb: s.runMemoryBudgetMb } },
          limitMs,
          (p) => this.progressEmitter.fire({ uri: req.uri, version: req.version, line: p.line, statements: p.statements, events: p.events, elapsedMs: p.elapsedMs }),
        );
        const promise = job.promise.then(
          (msg): RunnerOutcome => {
            if (msg.kind === 'run') {
              const result = JSON.parse(msg.resultJson) as RunResult;
              return {
                kind: 'result', result, checkDiagnostics: msg.checkDiagnostics, ran: msg.ran, summary: msg.summary,
                ...(msg.reportText !== undefined ? { reportText: msg.reportText } : {}), durationMs: msg.durationMs,
              };
            }
            if (msg.kind === 'error') return { kind: 'failed', message: msg.stack ?? msg.message };
            return { kind: 'failed', message: `unexpected answer '${msg.kind}' from the run worker` };
          },
          (err: unknown): RunnerOutcome => {
            if (err instanceof JobError && (err.reason === 'cancelled' || err.reason === 'disposed')) return { kind: 'cancelled' };
            if (err instanceof JobError && err.reason === 'timeout') return { kind: 'timeout', limitMs };
            return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
          },
        );
        return { promise, cancel: job.cancel };
      },
      debounceMs: settings.debounceMs,
      runOnType: settings.runOnType,
      onOutcome: (o) => this.finished(o),
      onBusyChange: (uri, busy) => this.store.setRunning(uri, busy),
    });
    this.checks = new CheckScheduler({
      syncMaxChars: SYNC_CHECK_MAX_CHARS,
      checkSync: (source, uri) => this.hostChecker(uri).update(source).diagnostics,
      checkAsync: (source, uri) => {
        const job = this.pool.submit({ kind: 'check', source, key: uri }, CHECK_TIME_LIMIT_MS);
        return {
          promise: job.promise.then((msg) => (msg.kind === 'check' ? msg.diagnostics : undefined), () => undefined),
          cancel: job.cancel,
        };
      },
      onCheck: (uri, version, diagnostics) => this.checkEmitter.fire({ uri, version, diagnostics }),
    });

    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((doc) => this.opened(doc)),
      vscode.workspace.onDidChangeTextDocument((e) => this.changed(e)),
      vscode.workspace.onDidCloseTextDocument((doc) => this.closed(doc)),
      config.onDidChange((s) => {
        this.runs.setDebounce(s.debounceMs);
        this.runs.setRunOnType(s.runOnType);
        // The kernel version or run-on-type changed: bring every open scenario up to date.
        for (const doc of vscode.workspace.textDocuments) if (isScenario(doc)) this.runs.edited(docSource(doc));
      }),
    );
  }

  /** Checks (and, with run-on-type, runs) the scenarios already open. */
  start(): void {
    for (const doc of vscode.workspace.textDocuments) this.opened(doc);
  }

  /** Runs the document now; resolves when the run ends (or is superseded: `cancelled`). */
  runNow(doc: vscode.TextDocument): Promise<RunOutcome> {
    this.checks.check(docSource(doc));
    return this.runs.runNow(docSource(doc));
  }

  /** Stops the document's run in flight (its runNow resolves `cancelled`); false when none runs. */
  cancel(doc: vscode.TextDocument): boolean {
    return this.runs.cancel(doc.uri.toString());
  }

  private opened(doc: vscode.TextDocument): void {
    if (!isScenario(doc)) return;
    const src = docSource(doc);
    this.checks.check(src);
    this.runs.edited(src);
  }

  private changed(e: vscode.TextDocumentChangeEvent): void {
    const doc = e.document;
    if (!isScenario(doc) || e.contentChanges.length === 0) return;
    this.store.noteEdit(doc.uri, doc.version, toLineChanges(e.contentChanges));
    const src = docSource(doc);
    this.checks.check(src);
    this.runs.edited(src);
  }

  /** Small documents are checked on this thread, each by its own incremental checker. */
  private readonly hostCheckers = new Map<string, IncrementalChecker>();

  private hostChecker(uri: string): IncrementalChecker {
    let c = this.hostCheckers.get(uri);
    if (c === undefined) this.hostCheckers.set(uri, (c = new IncrementalChecker()));
    return c;
  }

  private closed(doc: vscode.TextDocument): void {
    const uri = doc.uri.toString();
    this.hostCheckers.delete(uri);
    this.checks.closed(uri);
    this.runs.closed(uri);
    this.store.delete(uri);
  }

  private finished(o: RunOutcome): void {
    if (o.kind === 'result' && o.ran) {
      const fileName = path.posix.basename(vscode.Uri.parse(o.uri).path);
      this.store.set(o.uri, {
        version: o.version, result: o.result, fileName, durationMs: o.durationMs, checkDiagnostics: o.checkDiagnostics, summary: o.summary,
        ...(o.reportText !== undefined ? { reportText: o.reportText } : {}),
      });
    }
    this.runEmitter.fire(o);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.runs.dispose();
    this.checks.dispose();
    this.pool.dispose();
    this.checkEmitter.dispose();
    this.runEmitter.dispose();
    this.progressEmitter.dispose();
  }
}

/** A long run's progress, for the Run notification. */
export interface RunProgressEvent {
  uri: string;
  version: number;
  line: number;
  statements: number;
  events: number;
  elapsedMs: number;
}
