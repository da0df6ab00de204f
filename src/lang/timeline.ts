// Any point of a run, reached again by restoring a snapshot and replaying:
// the run takes a snapshot of the interpreter and machine at a statement
// boundary every N trace events; reaching event k restores the last snapshot
// before it and re-runs statements until event k has been recorded. The
// debugger's step back is built on this: one code path, deterministic replay.

import { Machine } from '../engine/machine';
import { cloneState } from '../engine/snapshot';
import { ReplayStop, TraceRecorder, type TraceLengths } from '../engine/trace/recorder';
import type { Program } from './ast';
import { Interpreter, type MemoryInjection, type PositionFrame } from './interp/interpreter';
import { BudgetMeter, DEFAULT_RUN_BUDGET, type RunBudget, type RunProgress } from './interp/run-budget';
import { parse } from './parser';
import { CallLog } from './interp/call-log';
import { buildResult, type RunOptions } from './run-result-build';
import type { Diagnostic, RunResult } from './run-result';

export interface TimelineOptions {
  /** The parsed (and checked) program when the caller has it; parsed from `source` otherwise. */
  program?: Program;
  /** Diagnostics of the check, carried into the run result. */
  diagnostics?: Diagnostic[];
  /** Record per call site values and walks for the editor (RunResult.calls / walks / machine). */
  editorInfo?: boolean;
  /** Memory writes the debugger adds to the run (Interpreter.injections). */
  injections?: Omit<MemoryInjection, 'applied'>[];
  /**
   * Run forward on demand (the debugger): the constructor runs nothing, and
   * extendTo(k) runs until event k exists. Otherwise the whole run happens at once.
   */
  lazy?: boolean;
  /** What the run may spend before it stops (DEFAULT_RUN_BUDGET when not given); replays spend freely. */
  budget?: RunBudget;
  /** Told where the run stands every RUN_BUDGET_STRIDE statements (a progress display). */
  onProgress?: (p: RunProgress) => void;
}

/** Events a lazy timeline runs past what was asked, so stepping does not resume the run at every event. */
const LAZY_CHUNK = 4096;

export interface TimelineSnapshot {
  /** Trace events recorded before this statement boundary. */
  eventIndex: number;
  position: PositionFrame[];
  /** The interpreter with its machine, trace arrays left out (cloned together so shared references stay shared). */
  state: Interpreter;
  lengths: TraceLengths;
}

/** Snapshots one timeline keeps at most (see thin()). */
const MAX_SNAPSHOTS = 512;

export class ScenarioTimeline {
  readonly program: Program;
  readonly snapshots: TimelineSnapshot[] = [];
  /** The interpreter of the run itself (after the whole run, once complete). */
  readonly final: Interpreter;
  /** The run has finished (always, unless lazy). */
  complete = false;
  /** A lazy run pauses at the first statement boundary after this many events. */
  private pauseAfter = Infinity;

  private readonly diagnostics: Diagnostic[];

  /** `snapshotEvery`: trace events between snapshots (Infinity: only the first, for a run nobody steps back in). */
  constructor(readonly source: string, readonly snapshotEvery = 256, opts: TimelineOptions = {}) {
    this.program = opts.program ?? parse(source).program;
    this.diagnostics = opts.diagnostics ?? [];
    this.final = new Interpreter(source, {
      atBoundary: (it) => this.maybeSnapshot(it) || (it.machine?.trace.length ?? 0) > this.pauseAfter,
      budget: new BudgetMeter(opts.budget ?? DEFAULT_RUN_BUDGET),
    });
    if (this.final.hooks.budget) this.final.hooks.budget.onProgress = opts.onProgress;
    if (opts.editorInfo) this.final.callLog = new CallLog();
    for (const inj of opts.injections ?? []) this.final.injections.push({ ...inj, applied: false });
    if (!opts.lazy) this.extendTo(Number.POSITIVE_INFINITY);
  }

  private started = false;

  /**
   * Runs until event k exists (or the run ends); true when it does. The run
   * pauses at statement boundaries, where it resumes from, as replays do.
   */
  extendTo(k: number): boolean {
    while (!this.complete && this.eventCount <= k) {
      this.pauseAfter = Number.isFinite(k) ? Math.max(k, this.eventCount + LAZY_CHUNK) : Number.POSITIVE_INFINITY;
      if (!this.started) {
        this.started = true;
        this.final.run(this.program);
      } else this.final.run(this.program, this.final.position.map((f) => ({ ...f })));
      if (!this.final.paused) {
        this.complete = true;
        this.final.hooks = {};
      }
    }
    return k < this.eventCount;
  }

  /** Events the run recorded so far (all of them once complete). */
  get eventCount(): number {
    return this.final.machine?.trace.length ?? 0;
  }

  private readonly noTrace = new TraceRecorder();
  /** The run's trace (events, checks, faults, kernel log); empty while the scenario has not used the machine. */
  get trace(): TraceRecorder {
    return this.final.machine?.trace ?? this.noTrace;
  }

  private resultCache: RunResult | undefined;
  /** The run result of the whole run, every event included: what runScenario builds. */
  get result(): RunResult {
    this.extendTo(Number.POSITIVE_INFINITY);
    this.resultCache ??= this.resultWith({});
    return this.resultCache;
  }

  /** The run result with a choice of events and editor fields (RunOptions). */
  resultWith(opts: RunOptions): RunResult {
    this.extendTo(Number.POSITIVE_INFINITY);
    return buildResult(this.final, this.diagnostics, opts);
  }

  /** Events between snapshots now: starts at snapshotEvery and doubles each time the snapshots are thinned. */
  private interval = 0;

  private maybeSnapshot(it: Interpreter): boolean {
    const n = it.machine?.trace.length ?? 0;
    const last = this.snapshots[this.snapshots.length - 1];
    this.interval ||= this.snapshotEvery;
    if (!last || n - last.eventIndex >= this.interval) {
      this.snapshots.push(this.capture(it, n));
      if (this.snapshots.length > MAX_SNAPSHOTS) this.thin();
    }
    return false;
  }

  /**
   * Keeps every other snapshot and doubles the interval, so a run of any
   * length holds at most MAX_SNAPSHOTS of them and reaching an event replays
   * at most a few intervals' worth of statements.
   */
  private thin(): void {
    const kept = this.snapshots.filter((_, i) => i % 2 === 0);
    this.snapshots.length = 0;
    this.snapshots.push(...kept);
    this.interval *= 2;
  }

  private capture(it: Interpreter, eventIndex: number): TimelineSnapshot {
    const trace = it.machine?.trace;
    const lengths = trace ? trace.lengths() : { events: 0, checks: 0, faults: 0, log: 0 };
    const state = trace ? trace.withLogDetached(() => cloneState(it, { snapshot: true })) : cloneState(it, { snapshot: true });
    return { eventIndex, position: state.position.map((f) => ({ ...f })), state, lengths };
  }

  /** A live interpreter restored from a snapshot, its trace the run's trace up to that point. */
  private restore(snap: TimelineSnapshot): Interpreter {
    const it = cloneState(snap.state);
    const full = this.final.machine?.trace;
    if (it.machine && full) it.machine.trace.adoptPrefix(full, snap.lengths);
    return it;
  }

  /**
   * The run paused at the first statement boundary after event `k` was
   * recorded: the state right after the statement that emitted it. Events
   * inside one statement share that state; their order is in the trace.
   */
  atEvent(k: number): Interpreter {
    this.extendTo(k);
    const snap = this.snapshotBefore(k);
    const it = this.restore(snap);
    it.hooks = { atBoundary: (x) => (x.machine?.trace.length ?? 0) > k };
    it.run(this.program, snap.position.map((f) => ({ ...f })));
    it.hooks = {};
    return it;
  }

  /** The last snapshot taken at or before event `k` (binary search: snapshots are in event order). */
  private snapshotBefore(k: number): TimelineSnapshot {
    let lo = 0;
    let hi = this.snapshots.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.snapshots[mid].eventIndex <= k) lo = mid;
      else hi = mid - 1;
    }
    return this.snapshots[lo];
  }

  /**
   * The state exactly as it was right after event `k` was recorded (k = -1:
   * before any event), even in the middle of an emulated kernel call: the
   * replay from the last snapshot stops at that event and unwinds. For
   * inspection only (views, memory, evaluate): the interpreter cannot resume.
   */
  stateAt(k: number): Interpreter {
    this.extendTo(k);
    const target = Math.min(Math.max(k, -1), this.eventCount - 1);
    const snap = this.snapshotBefore(Math.max(target, 0));
    const it = this.restore(snap);
    if (target < 0 || snap.lengths.events > target) {
      // Nothing to replay (k = -1 on a snapshot with no events yet, or the snapshot sits right after k).
      it.machine?.trace.truncate(target + 1);
      return it;
    }
    it.replayStopAfter = target;
    if (it.machine) it.machine.trace.stopAfter = target;
    it.hooks = {};
    try {
      it.run(this.program, snap.position.map((f) => ({ ...f })));
    } catch (e) {
      if (!(e instanceof ReplayStop)) throw e;
    }
    if (!it.machine) {
      // The stop fell inside the machine's creation (its boot log): build it whole and keep the events up to k.
      it.machine = new Machine(it.platform);
      it.machine.trace.truncate(target + 1);
    }
    it.machine.trace.stopAfter = Infinity;
    it.replayStopAfter = Infinity;
    it.hooks = {};
    return it;
  }
}
