// When to check and when to run each open scenario. No vscode import: the
// clock, the runner and the checker are injected, so the debounce and
// cancellation rules are unit-tested with a fake clock.
//
// Rules:
// - Check (parse + semantic checks) at every edit: on this thread for short
//   scenarios, in a worker for long ones, one check in flight per document
//   and only the latest version queued behind it.
// - Run after `debounceMs` without edits (when run-on-type is on). One run in
//   flight per document: an edit cancels an automatic run of an older
//   version (its result would be outdated). A run the user asked for (the
//   Run command) is never cancelled by typing; an automatic run due while it
//   is in flight starts when it ends.

import type { Diagnostic, RunResult } from '../lang/run-result';
import type { RunSummary } from './run-diagnostics';

export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A live view of one open document. */
export interface DocSource {
  readonly uri: string;
  readonly fileName: string;
  version(): number;
  text(): string;
}

export interface RunRequest {
  uri: string;
  version: number;
  source: string;
  fileName: string;
}

export type RunnerOutcome =
  | {
      kind: 'result';
      result: RunResult;
      checkDiagnostics: Diagnostic[];
      /** False: the text has errors and did not run (the result holds only them). */
      ran: boolean;
      summary: RunSummary;
      /** Set when the result was trimmed (run-trim.ts): the report of the whole run. */
      reportText?: string;
      durationMs: number;
    }
  | { kind: 'timeout'; limitMs: number }
  | { kind: 'failed'; message: string }
  | { kind: 'cancelled' };

export type RunOutcome = RunnerOutcome & { version: number; uri: string };

export interface Cancellable<T> {
  readonly promise: Promise<T>;
  cancel(): void;
}

/** Starts a run; cancel() must make the promise resolve with `cancelled` (or never resolve). */
export type Runner = (req: RunRequest) => Cancellable<RunnerOutcome>;

interface InFlight {
  version: number;
  handle: Cancellable<RunnerOutcome>;
  /** Asked for by the user: not cancelled by edits. */
  pinned: boolean;
  waiters: ((o: RunOutcome) => void)[];
}

interface RunState {
  doc: DocSource;
  timer: unknown;
  inflight: InFlight | undefined;
  /** An automatic run came due while a pinned run was in flight. */
  rerun: boolean;
}

export interface RunSchedulerOptions {
  clock: Clock;
  runner: Runner;
  debounceMs: number;
  runOnType: boolean;
  /** Every finished run (not cancelled ones), whatever its version. */
  onOutcome: (outcome: RunOutcome) => void;
  /** A run started or ended (for "running" indicators). */
  onBusyChange?: (uri: string, busy: boolean) => void;
}

export class RunScheduler {
  private readonly states = new Map<string, RunState>();
  private debounceMs: number;
  private runOnType: boolean;

  constructor(private readonly opts: RunSchedulerOptions) {
    this.debounceMs = opts.debounceMs;
    this.runOnType = opts.runOnType;
  }

  setDebounce(ms: number): void {
    this.debounceMs = ms;
  }

  setRunOnType(on: boolean): void {
    this.runOnType = on;
    if (!on) for (const st of this.states.values()) this.clearTimer(st);
  }

  isRunning(uri: string): boolean {
    return this.states.get(uri)?.inflight !== undefined;
  }

  /** The document changed (or was opened): schedule an automatic run. */
  edited(doc: DocSource): void {
    const st = this.state(doc);
    if (!this.runOnType) return;
    const inflight = st.inflight;
    if (inflight && !inflight.pinned && inflight.version !== doc.version()) this.cancelInflight(st);
    this.clearTimer(st);
    st.timer = this.opts.clock.setTimeout(() => this.due(st), this.debounceMs);
  }

  /** Run now (the Run command). Joins a run of the same version already in flight. */
  runNow(doc: DocSource): Promise<RunOutcome> {
    const st = this.state(doc);
    this.clearTimer(st);
    st.rerun = false;
    const version = doc.version();
    if (st.inflight && st.inflight.version === version) {
      st.inflight.pinned = true;
      return this.waitFor(st.inflight);
    }
    if (st.inflight) this.cancelInflight(st);
    return this.waitFor(this.start(st, true));
  }

  closed(uri: string): void {
    const st = this.states.get(uri);
    if (!st) return;
    this.clearTimer(st);
    if (st.inflight) this.cancelInflight(st);
    this.states.delete(uri);
  }

  /** Stops the run in flight for `uri` (the Run notification's Cancel); its waiters get `cancelled`. True when one was running. */
  cancel(uri: string): boolean {
    const st = this.states.get(uri);
    if (!st?.inflight) return false;
    this.clearTimer(st);
    st.rerun = false;
    this.cancelInflight(st);
    return true;
  }

  dispose(): void {
    for (const uri of [...this.states.keys()]) this.closed(uri);
  }

  private state(doc: DocSource): RunState {
    let st = this.states.get(doc.uri);
    if (!st) {
      st = { doc, timer: undefined, inflight: undefined, rerun: false };
      this.states.set(doc.uri, st);
    }
    st.doc = doc;
    return st;
  }

  private due(st: RunState): void {
    st.timer = undefined;
    if (this.states.get(st.doc.uri) !== st) return;
    const inflight = st.inflight;
    if (inflight) {
      if (inflight.version === st.doc.version()) return;
      if (inflight.pinned) {
        st.rerun = true;
        return;
      }
      this.cancelInflight(st);
    }
    this.start(st, false);
  }

  private start(st: RunState, pinned: boolean): InFlight {
    const doc = st.doc;
    const version = doc.version();
    const handle = this.opts.runner({ uri: doc.uri, version, source: doc.text(), fileName: doc.fileName });
    const inflight: InFlight = { version, handle, pinned, waiters: [] };
    st.inflight = inflight;
    this.opts.onBusyChange?.(doc.uri, true);
    handle.promise.then(
      (o) => this.finished(st, inflight, o),
      (err: unknown) => this.finished(st, inflight, { kind: 'failed', message: err instanceof Error ? err.message : String(err) }),
    );
    return inflight;
  }

  private finished(st: RunState, inflight: InFlight, outcome: RunnerOutcome): void {
    if (st.inflight !== inflight) return; // cancelled: already reported to its waiters
    st.inflight = undefined;
    const full: RunOutcome = { ...outcome, version: inflight.version, uri: st.doc.uri };
    this.opts.onBusyChange?.(st.doc.uri, false);
    if (outcome.kind !== 'cancelled') this.opts.onOutcome(full);
    for (const w of inflight.waiters) w(full);
    if (st.rerun && this.states.get(st.doc.uri) === st) {
      st.rerun = false;
      if (this.runOnType && st.doc.version() !== inflight.version) this.start(st, false);
    }
  }

  private cancelInflight(st: RunState): void {
    const inflight = st.inflight;
    if (!inflight) return;
    st.inflight = undefined;
    inflight.handle.cancel();
    this.opts.onBusyChange?.(st.doc.uri, false);
    const outcome: RunOutcome = { kind: 'cancelled', version: inflight.version, uri: st.doc.uri };
    for (const w of inflight.waiters) w(outcome);
  }

  private waitFor(inflight: InFlight): Promise<RunOutcome> {
    return new Promise((resolve) => inflight.waiters.push(resolve));
  }

  private clearTimer(st: RunState): void {
    if (st.timer !== undefined) this.opts.clock.clearTimeout(st.timer);
    st.timer = undefined;
  }
}

// ---- checks -------------------------------------------------------------------

export interface CheckSchedulerOptions {
  /** Sources up to this length are checked synchronously. */
  syncMaxChars: number;
  /** `uri` names the document, so a checker can reuse what the previous version's check did (incremental.ts). */
  checkSync: (source: string, uri: string) => Diagnostic[];
  /** Checks off-thread; resolves undefined when the check could not be done. */
  checkAsync: (source: string, uri: string) => Cancellable<Diagnostic[] | undefined>;
  onCheck: (uri: string, version: number, diagnostics: Diagnostic[]) => void;
}

interface CheckState {
  doc: DocSource;
  inflight: { version: number; handle: Cancellable<Diagnostic[] | undefined> } | undefined;
  pending: boolean;
}

export class CheckScheduler {
  private readonly states = new Map<string, CheckState>();

  constructor(private readonly opts: CheckSchedulerOptions) {}

  /** Checks the document's current text now (or as soon as the check in flight ends). */
  check(doc: DocSource): void {
    let st = this.states.get(doc.uri);
    if (!st) {
      st = { doc, inflight: undefined, pending: false };
      this.states.set(doc.uri, st);
    }
    st.doc = doc;
    if (st.inflight) {
      st.pending = true;
      return;
    }
    const source = doc.text();
    const version = doc.version();
    if (source.length <= this.opts.syncMaxChars) {
      this.opts.onCheck(doc.uri, version, this.opts.checkSync(source, doc.uri));
      return;
    }
    const handle = this.opts.checkAsync(source, doc.uri);
    const inflight = { version, handle };
    st.inflight = inflight;
    const state = st;
    const done = (diags: Diagnostic[] | undefined): void => {
      if (state.inflight !== inflight || this.states.get(doc.uri) !== state) return;
      state.inflight = undefined;
      if (diags) this.opts.onCheck(doc.uri, version, diags);
      if (state.pending) {
        state.pending = false;
        this.check(state.doc);
      }
    };
    handle.promise.then(done, () => done(undefined));
  }

  closed(uri: string): void {
    const st = this.states.get(uri);
    if (!st) return;
    st.inflight?.handle.cancel();
    this.states.delete(uri);
  }

  dispose(): void {
    for (const uri of [...this.states.keys()]) this.closed(uri);
  }
}
