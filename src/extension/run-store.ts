// The latest run of each open scenario, shared by every editor feature:
// diagnostics, the Run lens, inlay hints, hovers, per-line lenses. One run
// feeds them all (DESIGN.md: no feature re-derives state). No vscode import:
// the event has the shape of vscode.Event, so providers can pass it where a
// vscode.Event is expected.
//
// Readers:
//   const entry = store.get(document.uri);           // RunEntry | undefined
//   if (entry) {
//     entry.version === document.version            // result is for this exact text
//     store.currentLine(document.uri, stmt.line)     // where a result line is now (1-based), or undefined
//   }
//   store.onDidChange((e) => ...)                    // e.uri is uri.toString()

import { EditLog, type LineChange } from './line-map';
import type { Diagnostic, RunResult } from '../lang/run-result';
import type { RunSummary } from './run-diagnostics';

/** Anything with a stable toString(), such as vscode.Uri. */
export interface UriLike {
  toString(): string;
}

export interface Disposable {
  dispose(): void;
}

/** Same call shape as vscode.Event<T>. */
export type Event<T> = (listener: (e: T) => unknown, thisArgs?: unknown, disposables?: Disposable[]) => Disposable;

export interface RunEntry {
  /** Document version the run was made from (TextDocument.version). */
  readonly version: number;
  /**
   * The run result (docs/run-output.md); lines are 1-based. Events are
   * API-level (depth 0) only, and each list holds at most the first 10,000
   * items (a runaway loop; see reportText).
   */
  readonly result: RunResult;
  /** Pass/fail and counts of the whole run (what the Run lens shows). */
  readonly summary: RunSummary;
  /** Present when the result was trimmed: the report of the whole run. */
  readonly reportText?: string;
  /** Name the run used for the file (the report's FILE). */
  readonly fileName: string;
  /** Wall time of the check + run in the worker. */
  readonly durationMs: number;
  /** What checkScenario reported for the same text (these are also in result.diagnostics). */
  readonly checkDiagnostics: readonly Diagnostic[];
}

export interface RunStoreChange {
  /** uri.toString() of the document. */
  readonly uri: string;
  /**
   * result: a new run result; busy: a run started or ended; edit: lines moved
   * (currentLine() answers differently); removed: the document was closed.
   */
  readonly kind: 'result' | 'busy' | 'edit' | 'removed';
}

export class Emitter<T> {
  private listeners: ((e: T) => unknown)[] = [];

  readonly event: Event<T> = (listener, thisArgs, disposables) => {
    const bound = thisArgs === undefined ? listener : listener.bind(thisArgs);
    this.listeners.push(bound);
    const d: Disposable = {
      dispose: () => {
        this.listeners = this.listeners.filter((l) => l !== bound);
      },
    };
    disposables?.push(d);
    return d;
  };

  fire(e: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        console.error('dmascope: a run store listener failed', err);
      }
    }
  }

  dispose(): void {
    this.listeners = [];
  }
}

const key = (uri: UriLike | string): string => (typeof uri === 'string' ? uri : uri.toString());

export class RunStore implements Disposable {
  private readonly entries = new Map<string, RunEntry>();
  private readonly logs = new Map<string, EditLog>();
  private readonly running = new Set<string>();
  private readonly emitter = new Emitter<RunStoreChange>();

  /** Fires after any change of a document's entry, running state or line mapping. */
  readonly onDidChange: Event<RunStoreChange> = this.emitter.event;

  /** The latest run of the document, or undefined when it has not run (or did not parse yet). */
  get(uri: UriLike | string): RunEntry | undefined {
    return this.entries.get(key(uri));
  }

  /** True while a run of the document is in flight. */
  isRunning(uri: UriLike | string): boolean {
    return this.running.has(key(uri));
  }

  /**
   * Where 1-based `line` of version `fromVersion` is in the current text
   * (1-based), or undefined when the line was edited away.
   */
  mapLine(uri: UriLike | string, fromVersion: number, line: number): number | undefined {
    const log = this.logs.get(key(uri));
    return log ? log.mapLine(fromVersion, line) : line;
  }

  /** Where a line of the stored run's result is in the current text (1-based), or undefined. */
  currentLine(uri: UriLike | string, line: number): number | undefined {
    const entry = this.get(uri);
    return entry ? this.mapLine(uri, entry.version, line) : line;
  }

  // ---- written by the extension only --------------------------------------------

  set(uri: UriLike | string, entry: RunEntry): void {
    this.entries.set(key(uri), entry);
    this.emitter.fire({ uri: key(uri), kind: 'result' });
  }

  setRunning(uri: UriLike | string, busy: boolean): void {
    const k = key(uri);
    if (busy === this.running.has(k)) return;
    if (busy) this.running.add(k);
    else this.running.delete(k);
    this.emitter.fire({ uri: k, kind: 'busy' });
  }

  /** Records an edit (version after it); fires `edit` when lines moved. */
  noteEdit(uri: UriLike | string, version: number, changes: readonly LineChange[]): void {
    const k = key(uri);
    let log = this.logs.get(k);
    if (!log) {
      log = new EditLog();
      this.logs.set(k, log);
    }
    if (log.record(version, changes) && this.entries.has(k)) this.emitter.fire({ uri: k, kind: 'edit' });
  }

  delete(uri: UriLike | string): void {
    const k = key(uri);
    const had = this.entries.delete(k);
    this.logs.delete(k);
    this.running.delete(k);
    if (had) this.emitter.fire({ uri: k, kind: 'removed' });
  }

  dispose(): void {
    this.entries.clear();
    this.logs.clear();
    this.running.clear();
    this.emitter.dispose();
  }
}
