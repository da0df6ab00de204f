// What the debugger's two runtimes share (a scenario's trace events:
// runtime.ts, a kernel capture's records: capture-runtime.ts): a position
// in a recorded run, the stop reported there, and the moves that search the
// run for a stop (continue, reverse continue) or jump (goTo, nextOfKind).
// Each runtime says which positions exist, what stops a run at one and how
// it steps. Emits 'stop' (StopEvent), 'end' and 'output' (text, line).
// No vscode, no DAP here.

import { EventEmitter } from 'node:events';

export type StopReason = 'entry' | 'step' | 'breakpoint' | 'exception' | 'function breakpoint' | 'data breakpoint' | 'goto';

export interface StopEvent {
  reason: StopReason;
  /** The finding's message for an exception stop, the breakpoint's name for a function breakpoint. */
  text?: string;
  event: number;
  backwards: boolean;
}

/** Why a position stops a run. */
export type StopCause = Omit<StopEvent, 'event' | 'backwards'>;

/** A line breakpoint as the client sets it (its condition in the runtime's own language). */
export interface LineBreakpointRequest {
  line: number;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
}

/** What counts the hits of a line breakpoint: its line, hit condition and log message. */
interface CountedBreakpoint {
  line: number;
  hitCondition?: string;
  logMessage?: string;
  hits: number;
}

export abstract class TimelineRuntime extends EventEmitter {
  /** The current position (-1 before the first). */
  position = -1;
  /** Did the last move go backwards? */
  backwards = false;

  /** Positions known so far (all of them once the run is complete). */
  abstract get eventCount(): number;
  /** The number of positions, once known (a scenario runs forward on demand: undefined before its end). */
  abstract get knownTotal(): number | undefined;
  /** Runs to the end; returns the number of positions. */
  abstract complete(): number;
  /** The source line of position k (0 where there is none). */
  abstract lineAt(k: number): number;

  /** The first stop: on entry, or running to the first breakpoint. */
  abstract start(stopOnEntry: boolean): void;
  /** Step over. */
  abstract next(): void;
  abstract stepIn(): void;
  abstract stepOut(): void;
  abstract stepBack(): void;

  /** Does position k exist? (A scenario runs forward to it.) */
  protected abstract has(k: number): boolean;
  /** Why position k stops a run, or undefined. */
  protected abstract stopAt(k: number): StopCause | undefined;
  /** Where a reverse continue stops when nothing before the position does. */
  protected abstract firstStop(): number;
  /** Is position k an event of that name (what nextOfKind looks for)? */
  protected abstract isOfKind(k: number, name: string): boolean;

  /** Runs forward to the next stop; at the end of the run the session ends. */
  continue(): void {
    for (let k = this.position + 1; this.has(k); k++) {
      const hit = this.stopAt(k);
      if (hit) return this.stop({ ...hit, event: k, backwards: false });
    }
    this.emit('end');
  }

  /** Runs backwards to the previous stop, or to the first one. */
  reverseContinue(): void {
    for (let k = this.position - 1; k >= 0; k--) {
      const hit = this.stopAt(k);
      if (hit) return this.stop({ ...hit, event: k, backwards: true });
    }
    this.stop({ reason: 'entry', event: this.firstStop(), backwards: true });
  }

  /** To position k (clamped to the run). */
  goTo(k: number): void {
    const want = Math.max(0, Math.floor(k));
    const target = this.has(want) ? want : this.eventCount - 1;
    this.stop({ reason: 'goto', event: target, backwards: target < this.position });
  }

  /** The next position after this one of that name, wrapping to the start. */
  nextOfKind(name: string): number | undefined {
    const n = this.complete();
    for (let i = 1; i <= n; i++) {
      const k = (this.position + i) % n;
      if (this.isOfKind(k, name)) return k;
    }
    return undefined;
  }

  protected stop(s: StopEvent): void {
    this.backwards = s.backwards;
    this.position = s.event;
    this.emit('stop', s);
  }

  /**
   * A line breakpoint reached whose condition holds: counts the hit; stops
   * when its hit condition (`>= N`, `== N`, `> N`, `% N`; a bare N is >=)
   * holds, except a logpoint, which prints `logText` of its message instead.
   */
  protected countHit(bp: CountedBreakpoint, logText: (message: string) => string): boolean {
    bp.hits++;
    if (bp.hitCondition) {
      const m = /^\s*(>=|==|>|%)?\s*(\d+)\s*$/.exec(bp.hitCondition);
      const n = m ? Number(m[2]) : NaN;
      const op = m?.[1] ?? '>=';
      const ok = op === '%' ? bp.hits % n === 0 : op === '>' ? bp.hits > n : op === '==' ? bp.hits === n : bp.hits >= n;
      if (!ok) return false;
    }
    if (bp.logMessage) {
      this.emit('output', `${logText(bp.logMessage)}\n`, bp.line);
      return false;
    }
    return true;
  }
}
