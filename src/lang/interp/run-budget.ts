// What a run may spend: wall-clock time while it runs and memory it adds to
// the heap. A run has no statement limit; it stops when one of these runs out,
// with a diagnostic naming the budget and the line, and keeps what it did.
// The meter is read every RUN_BUDGET_STRIDE statements, so it costs nothing
// measurable; replays of a run (the debugger's step back) carry no meter.

export interface RunBudget {
  /** Seconds the run may take (time spent paused in the debugger does not count). */
  timeSeconds: number;
  /** MiB the run may add to the JavaScript heap (trace, machine, values). */
  memoryMb: number;
}

/** Defaults of the command line and the debugger (the editor has its own settings, see src/extension/settings.ts). */
export const DEFAULT_RUN_BUDGET: RunBudget = { timeSeconds: 120, memoryMb: 2048 };

/** Statements between two readings of the meter. */
export const RUN_BUDGET_STRIDE = 1024;

/**
 * Milliseconds of run time between two readings of the heap. A reading makes
 * V8 finish its concurrent sweeping on the spot (up to milliseconds on a
 * large heap); a run's heap does not grow by a budget's worth in this time.
 */
const HEAP_READ_MS = 200;

export type BudgetName = 'time' | 'memory';

/** Where the budget flags and settings are named, for the stop message. */
export const BUDGET_SETTINGS: Record<BudgetName, string> = {
  time: '--time-budget SECONDS on the command line, dmascope.run.timeBudgetSeconds in the editor',
  memory: '--memory-budget MIB on the command line, dmascope.run.memoryBudgetMb in the editor',
};

function heapBytes(): number {
  if (typeof process === 'undefined' || typeof process.memoryUsage !== 'function') return 0;
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

/** Where a long run stands, for a progress display. */
export interface RunProgress {
  line: number;
  statements: number;
  events: number;
  elapsedMs: number;
}

/** Reads time and memory against a budget, and tells a progress display where the run stands. */
export class BudgetMeter {
  private spentMs = 0;
  private since = -1;
  private heapAtStart = -1;
  /** When the heap was last read (reading it costs a fraction of a millisecond: at most every HEAP_READ_MS). */
  private heapReadAt = -Infinity;
  /** Called at each reading of the meter (every RUN_BUDGET_STRIDE statements). */
  onProgress: ((p: RunProgress) => void) | undefined;

  constructor(
    readonly budget: RunBudget,
    private readonly now: () => number = () => performance.now(),
    private readonly heap: () => number = heapBytes,
  ) {}

  /** A reading during the run: reports progress, returns the budget that ran out, if one did. */
  reading(line: number, statements: number, events: number): BudgetName | undefined {
    this.onProgress?.({ line, statements, events, elapsedMs: this.elapsedMs });
    return this.exceeded();
  }

  /** The run starts or resumes. */
  begin(): void {
    this.since = this.now();
    if (this.heapAtStart < 0) this.heapAtStart = this.heap();
  }

  /** The run pauses or ends. */
  end(): void {
    if (this.since >= 0) this.spentMs += this.now() - this.since;
    this.since = -1;
  }

  get elapsedMs(): number {
    return this.spentMs + (this.since >= 0 ? this.now() - this.since : 0);
  }

  /** The budget that ran out, if one did. */
  exceeded(): BudgetName | undefined {
    const elapsed = this.elapsedMs;
    if (elapsed > this.budget.timeSeconds * 1000) return 'time';
    if (elapsed - this.heapReadAt < HEAP_READ_MS) return undefined;
    this.heapReadAt = elapsed;
    if (this.heap() - this.heapAtStart > this.budget.memoryMb * 1024 * 1024) return 'memory';
    return undefined;
  }

  /** The stop message for `which` at `line` after `statements` statements. */
  message(which: BudgetName, line: number, statements: number): string {
    const spent = which === 'time' ? `${this.budget.timeSeconds} s` : `${this.budget.memoryMb} MiB`;
    return `the run stopped at line ${line}: its ${which} budget of ${spent} ran out after ${statements.toLocaleString('en-US')} statements; everything until here is kept (raise it with ${BUDGET_SETTINGS[which]})`;
  }
}

/** A budget from user values: positive finite numbers, the default for anything else. */
export function normalizeBudget(raw: { timeSeconds?: unknown; memoryMb?: unknown }, defaults: RunBudget = DEFAULT_RUN_BUDGET): RunBudget {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
  return { timeSeconds: ok(raw.timeSeconds) ? raw.timeSeconds : defaults.timeSeconds, memoryMb: ok(raw.memoryMb) ? raw.memoryMb : defaults.memoryMb };
}
