// Any point of a run, reached again by restoring a snapshot and replaying:
// the run takes a snapshot of the interpreter and machine at a statement
// boundary every N trace events; reaching event k restores the last snapshot
// before it and re-runs statements until event k has been recorded. The
// debugger's step back is built on this: one code path, deterministic replay.

import { cloneState } from '../engine/snapshot';
import type { TraceLengths } from '../engine/trace/recorder';
import type { Program } from './ast';
import { Interpreter, type PositionFrame } from './interp/interpreter';
import { parse } from './parser';

export interface TimelineSnapshot {
  /** Trace events recorded before this statement boundary. */
  eventIndex: number;
  position: PositionFrame[];
  /** The interpreter with its machine, trace arrays left out (cloned together so shared references stay shared). */
  state: Interpreter;
  lengths: TraceLengths;
}

export class ScenarioTimeline {
  readonly program: Program;
  readonly snapshots: TimelineSnapshot[] = [];
  /** The interpreter after the whole run. */
  readonly final: Interpreter;

  constructor(readonly source: string, readonly snapshotEvery = 256) {
    this.program = parse(source).program;
    this.final = new Interpreter(source, { atBoundary: (it) => this.maybeSnapshot(it) });
    this.final.run(this.program);
    this.final.hooks = {};
  }

  /** Events the whole run recorded. */
  get eventCount(): number {
    return this.final.machine?.trace.events.length ?? 0;
  }

  private maybeSnapshot(it: Interpreter): boolean {
    const n = it.machine?.trace.events.length ?? 0;
    const last = this.snapshots[this.snapshots.length - 1];
    if (!last || n - last.eventIndex >= this.snapshotEvery) this.snapshots.push(this.capture(it, n));
    return false;
  }

  private capture(it: Interpreter, eventIndex: number): TimelineSnapshot {
    const trace = it.machine?.trace;
    const lengths = trace ? trace.lengths() : { events: 0, checks: 0, faults: 0, log: 0 };
    const state = trace ? trace.withLogDetached(() => cloneState(it)) : cloneState(it);
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
    let snap = this.snapshots[0];
    for (const s of this.snapshots) if (s.eventIndex <= k) snap = s;
    const it = this.restore(snap);
    it.hooks = { atBoundary: (x) => (x.machine?.trace.events.length ?? 0) > k };
    it.run(this.program, snap.position.map((f) => ({ ...f })));
    it.hooks = {};
    return it;
  }
}
