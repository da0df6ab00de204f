// Runs a parsed scenario on the engine, one statement at a time, and
// collects what each statement produced: expectation results, the checks and
// faults it raised (consumed when an `expect` asked for them), values.

import { DEFAULT_PLATFORM, type PlatformConfig } from '../../engine/platform';
import { Machine } from '../../engine/machine';
import { markAppendOnly } from '../../engine/snapshot';
import { KernelBug, KernelError, errnoName } from '../../engine/errno';
import { hex, U64_MASK } from '../../engine/u64';
import { ReplayStop, TraceRecorder } from '../../engine/trace/recorder';
import { ERRNO_NAMES } from '../../engine/errno';
import type { CallExpr, CaptureTarget, Expr, ExpectStmt, Program, Span, Statement } from '../ast';
import { findingOrigin } from '../../engine/finding-origin';
import type { Diagnostic, ExpectationResult } from '../run-result';
import { StatementLog } from './statement-log';
import { BUILTINS } from './builtins';
import { BUILTINS as SIGNATURES, bindArgs } from '../builtins';
import { CONSTANTS } from './constants-runtime';
import { deviceFromDecl, iommuFromDecl, platformFromDecl } from './declarations';
import { RuntimeError } from './runtime-error';
import { lostNameError, noteLostNames, type LostName } from './lost-names';
import { numberStyle, renderPrinted, renderPrintedExpr, type NumberStyle, type VariableStyles } from './number-style';
import type { CallLog } from './call-log';
import type { BuiltinBinding, CallContext } from './builtin-types';
import { AttachHandleValue, BufferValue, CoherentValue, MmValue, RecordValue, SgEntryValue, SvaHandleValue, TranslateValue, truthy, typeName, valuesEqual, type Value } from './values';
import { SgTable } from '../../engine/dma-mapping/scatterlist';
import { IommuDomain } from '../../engine/iommu/iommu-domain';
import { mmAlloc } from '../../engine/iommu/iommu-sva';
import { DmaIovaState, dmaIovaPending, dmaIovaSize } from '../../engine/dma-mapping/dma-iova';
import { RUN_BUDGET_STRIDE, type BudgetMeter } from './run-budget';

/**
 * Positional arguments in kernel order and the scenario-only named ones,
 * using the signature table: a kernel parameter given as `name = value`
 * moves to its slot, as the checker accepts it.
 */
function normaliseArgs(call: CallExpr, keepNamed: readonly string[]): { positional: Expr[]; named: { name: string; value: Expr; span: Span }[] } {
  const spec = SIGNATURES.get(call.callee.text);
  const named = call.named.map((n) => ({ name: n.name.text, value: n.value, span: n.name.span }));
  if (!spec || call.named.every((n) => keepNamed.includes(n.name.text))) return { positional: call.args, named };
  const bound = bindArgs(spec, call, call.named.filter((n) => !keepNamed.includes(n.name.text)));
  const positional: Expr[] = [];
  let last = -1;
  spec.params.forEach((prm, i) => {
    if (!prm.namedOnly && !prm.variadic && bound.values[i] !== undefined) last = i;
  });
  for (let i = 0; i <= last; i++) {
    const prm = spec.params[i];
    if (prm.namedOnly) continue;
    const v = bound.values[i];
    if (v === undefined) return { positional: call.args, named }; // a gap: let the count check explain it
    positional.push(v);
  }
  if (spec.params.some((prm) => prm.variadic)) return { positional: call.args, named };
  return { positional, named: named.filter((n) => keepNamed.includes(n.name)) };
}

/**
 * The builtins and constants by name, in objects without a prototype (a name
 * such as toString finds nothing). Objects, not Maps: a keyed load makes the
 * parser's name string point at its internalized copy on first use, so every
 * later lookup compares pointers, where a Map compares the characters again.
 */
const BUILTIN_TABLE: Readonly<Record<string, BuiltinBinding | undefined>> = Object.assign(Object.create(null) as Record<string, BuiltinBinding | undefined>, BUILTINS);
const CONSTANT_TABLE: Readonly<Record<string, Value | undefined>> = Object.assign(Object.create(null) as Record<string, Value | undefined>, CONSTANTS);

/** The named arguments of a call that has none (most calls): one shared, never written to. */
const NO_NAMED_VALUES: ReadonlyMap<string, Value> = new Map<string, Value>();

/** Different run-time diagnostics one run reports before it stops (repeats of one are counted, not listed). */
export const MAX_DISTINCT_RUNTIME_ERRORS = 100;


/** Iterations a range loop may ask for: 2^32 (at ten million statements a second, five days). */
export const MAX_LOOP_ITERATIONS = 1n << 32n;

/** A memory write the debugger adds to a run (see Interpreter.injections). */
export interface MemoryInjection {
  afterEvent: number;
  phys: bigint;
  bytes: Uint8Array;
  applied: boolean;
}

export interface InterpreterHooks {
  /** Called before each statement; the debugger pauses here. */
  beforeStatement?(stmt: Statement, interp: Interpreter): void;
  /** Called at every statement boundary (position already set); returning true pauses the run there. */
  atBoundary?(interp: Interpreter): boolean;
  /** The run's time and memory budget (run-budget.ts); replays have none. */
  budget?: BudgetMeter;
}

/**
 * Where execution stands at one nesting level: the statement index in its
 * body and, when that statement is a `for`, the iteration and what it
 * iterates over (kept so a run can resume inside a loop after a restore).
 */
export interface PositionFrame {
  index: number;
  iter: number;
  loop?: { items: Value[] } | { start: bigint; end: bigint };
  /** The loop variable's value before the loop, restored when the loop ends. */
  saved?: Value;
  hadSaved?: boolean;
}

export class Interpreter {
  machine: Machine | null = null;
  platform: PlatformConfig = { ...DEFAULT_PLATFORM };
  readonly vars = new Map<string, Value>();
  // Logs of the run, only ever appended to: timeline snapshots keep their length, not a copy.
  readonly expectations: ExpectationResult[] = markAppendOnly([]);
  /** What each statement returned (RunResult.statements). */
  readonly statements = new StatementLog();
  readonly diagnostics: Diagnostic[] = markAppendOnly([]);
  readonly prints: { line: number; text: string }[] = markAppendOnly([]);
  /**
   * Memory writes the debugger injects into the run (writeMemory): each is
   * done, as a CPU write, at the first statement boundary after its event.
   * Part of the state, so replays from any snapshot do them at the same point.
   */
  readonly injections: MemoryInjection[] = [];

  /** How each variable's numbers print (addresses in hex, counts in decimal), from what was assigned to it. */
  readonly numberStyles: VariableStyles = new Map();
  /** Indexes into trace.checks / trace.faults that an expect consumed. */
  readonly consumedChecks = new Set<number>();
  /** Check index of each kernel BUG -> index of its diagnostic (see expectedDiagnostics). */
  private readonly kernelBugDiagnostics = new Map<number, number>();
  /** Names a failed statement never made (lost-names.ts): a later use says where each was lost. */
  private readonly lostNames = new Map<string, LostName>();

  /** Diagnostics an expect asked for: a kernel BUG every one of whose findings an expect consumed. */
  expectedDiagnostics(): Set<number> {
    const all = new Map<number, boolean>();
    for (const [check, diag] of this.kernelBugDiagnostics) all.set(diag, (all.get(diag) ?? true) && this.consumedChecks.has(check));
    return new Set([...all].filter(([, consumed]) => consumed).map(([d]) => d));
  }
  readonly consumedFaults = new Set<number>();
  steps = 0;
  stopped = false;
  /** Per call site results and walks for the editor (inlay hints, hovers, lenses); run.ts sets it when asked (RunOptions.editorInfo). */
  callLog: CallLog | null = null;

  constructor(readonly source: string, public hooks: InterpreterHooks = {}) {}

  /** The machine, created from the platform block (or defaults) at first use. */
  get m(): Machine {
    if (!this.machine) {
      const trace = new TraceRecorder();
      // What the machine prints while it boots (the swiotlb line) belongs to the platform block, or to the statement that first used it.
      trace.line = this.platformLine || this.currentLine;
      trace.column = 1;
      trace.stopAfter = this.replayStopAfter;
      this.machine = new Machine(this.platform, trace);
    }
    return this.machine;
  }

  /** Line of the platform block (0 without one), and of the statement being executed. */
  private platformLine = 0;
  private currentLine = 0;

  /** A replay's stop point for the machine's recorder when the machine is created during the replay (ScenarioTimeline.stateAt). */
  replayStopAfter = Infinity;

  /** Execution position, outermost first; a snapshot keeps a copy to resume from. */
  position: PositionFrame[] = [];
  /** Set when atBoundary asked to pause: the run can be resumed from `position`. */
  paused = false;

  /** Run the program, or resume it at `resume` (a position saved at a statement boundary). */
  run(program: Program, resume?: PositionFrame[]): void {
    this.paused = false;
    const budget = this.hooks.budget;
    budget?.begin();
    try {
      this.execBody(program.body, 0, resume);
      if (!this.stopped && !this.paused) this.finish();
    } finally {
      budget?.end();
    }
  }

  /**
   * Frames kept per depth for reuse: a loop body's statements and its next
   * iteration reuse one frame object instead of making one per statement
   * (snapshots and resumes copy frames, so nothing else holds them).
   */
  private readonly spareFrames: PositionFrame[] = [];

  /** Makes position[depth] the frame of statement `index` (deeper frames dropped). */
  private enterFrame(depth: number, index: number): void {
    const pos = this.position;
    let frame = pos.length > depth ? pos[depth] : this.spareFrames[depth];
    if (frame === undefined) {
      frame = { index, iter: 0, loop: undefined, saved: undefined, hadSaved: undefined };
      this.spareFrames[depth] = frame;
    }
    frame.index = index;
    frame.iter = 0;
    frame.loop = undefined;
    frame.saved = undefined;
    frame.hadSaved = undefined;
    // Length stores only when needed: setting it to 0 drops the array's storage, and each store is a call.
    if (pos.length === depth) pos.push(frame);
    else {
      if (pos.length > depth + 1) pos.length = depth + 1;
      pos[depth] = frame;
    }
  }

  private execBody(body: Statement[], depth: number, resume: PositionFrame[] | undefined): void {
    const first = resume?.[depth]?.index ?? 0;
    for (let i = first; i < body.length; i++) {
      if (this.stopped || this.paused) return;
      const inner = resume !== undefined && i === first && resume.length > depth + 1 ? resume : undefined;
      if (inner) {
        this.position.length = depth;
        this.position.push({ ...inner[depth] });
      } else this.enterFrame(depth, i);
      if (!inner && this.injections.length > 0) this.applyInjections(body[i].span);
      if (!inner && this.hooks.atBoundary?.(this)) {
        this.paused = true;
        return;
      }
      const stmt = body[i];
      if (inner && stmt.kind === 'for') this.resumeFor(stmt.variable.name, stmt.body, depth, inner);
      else this.exec(stmt, depth);
    }
    // A length store is a call into the runtime; pop() is not (the loop body leaves one frame).
    const pos = this.position;
    while (pos.length > depth) pos.pop();
  }

  /** The injected writes due here, recorded at the line of the statement about to run. */
  private applyInjections(next: Span): void {
    const m = this.machine;
    if (!m) return;
    for (const inj of this.injections) {
      if (inj.applied || m.trace.length <= inj.afterEvent) continue;
      inj.applied = true;
      m.trace.line = next.line;
      m.trace.column = next.column;
      m.cpuWrite(inj.phys, inj.bytes);
    }
  }

  /** End of the scenario: dma-debug's leak report, at the line that made each leaked mapping. */
  finish(): void {
    const m = this.m;
    const pending = m.debug.pendingEntries();
    const byDev = new Map<string, number>();
    for (const e of pending) if (!byDev.has(e.devName)) byDev.set(e.devName, e.line);
    for (const [devName, line] of byDev) {
      m.trace.line = line;
      const dev = [...m.devices.values()].find((d) => d.busId === devName);
      // A driver that driver_unbind() released was reported then.
      if (dev?.driverBound) m.debug.reportLeaks({ name: dev.busId, driver: dev.driver });
    }
  }

  private text(span: Span): string {
    return this.source.slice(span.start, span.end);
  }

  /**
   * A run-time diagnostic. The same one again (a loop) is counted, not
   * repeated; after MAX_DISTINCT_RUNTIME_ERRORS different ones the run stops
   * and keeps what it has.
   */
  private diag(span: Span, message: string, code: string, severity: Diagnostic['severity'] = 'error'): void {
    const key = `${span.start}:${span.end}:${code}:${message}`;
    const index = this.diagnosticIndex.get(key);
    if (index !== undefined) {
      this.diagnosticRepeats.set(index, (this.diagnosticRepeats.get(index) ?? 1) + 1);
      return;
    }
    this.diagnosticIndex.set(key, this.diagnostics.length);
    this.diagnostics.push({ line: span.line, column: span.column, endLine: span.endLine, endColumn: span.endColumn, severity, code, message });
    if (this.diagnostics.length >= MAX_DISTINCT_RUNTIME_ERRORS && !this.stopped) {
      this.diagnostics.push({ line: span.line, column: span.column, endLine: span.endLine, endColumn: span.endColumn, severity: 'error', code: 'too-many-errors', message: `the run stopped after ${MAX_DISTINCT_RUNTIME_ERRORS} different run-time errors; what it did until here is kept` });
      this.stopped = true;
    }
  }

  /** Where each distinct run-time diagnostic is (by span, code and message), and how often repeated ones happened. */
  private readonly diagnosticIndex = new Map<string, number>();
  readonly diagnosticRepeats = new Map<number, number>();

  exec(stmt: Statement, depth = 0): void {
    // Read once: a node makes its span on first read, and each read is a getter call.
    const span = stmt.span;
    if ((++this.steps & (RUN_BUDGET_STRIDE - 1)) === 0 && this.hooks.budget !== undefined) {
      const out = this.hooks.budget.reading(span.line, this.steps, this.machine?.trace.length ?? 0);
      if (out !== undefined) {
        this.diag(span, this.hooks.budget.message(out, span.line, this.steps - 1), `${out}-budget`);
        this.stopped = true;
        return;
      }
    }
    this.hooks.beforeStatement?.(stmt, this);
    this.currentLine = span.line;
    if (stmt.kind === 'platform') {
      this.platformLine = stmt.span.line;
      if (this.machine) {
        this.diag(stmt.span, 'platform must come before anything that uses the machine', 'platform-late');
        return;
      }
      try {
        this.platform = platformFromDecl(stmt, (e) => this.eval(e));
      } catch (e) {
        this.reportError(e, stmt.span);
      }
      return;
    }
    const m = this.m;
    m.trace.line = span.line;
    m.trace.column = span.column;
    // Every statement is an event, so a debugger can stop on statements that call nothing.
    m.trace.emit('engine:statement');
    const checksBefore = m.trace.checks.length;
    const faultsBefore = m.trace.faults.length;
    try {
      switch (stmt.kind) {
        case 'iommu':
          this.vars.set(stmt.name.text, m.addIommu(iommuFromDecl(stmt, (e) => this.eval(e)), stmt.span.line));
          break;
        case 'device':
          this.vars.set(stmt.name.text, m.addDevice(deviceFromDecl(stmt, (e) => this.eval(e)), stmt.span.line));
          break;
        case 'mm': {
          const maps = stmt.maps.map((mp) => {
            const perm = mp.perm.text;
            return { addr: this.int(this.eval(mp.addr), 'address'), phys: this.int(this.eval(mp.target), 'target'), size: this.int(this.eval(mp.size), 'size'), read: perm.includes('r'), write: perm.includes('w') };
          });
          // The engine's mm_struct (iommu-sva.ts): VMAs now, a CPU page table filled on first touch.
          const mm = mmAlloc(m, stmt.name.text, maps.map((x) => ({ start: x.addr, end: x.addr + x.size, phys: x.phys, read: x.read, write: x.write })), stmt.span.line);
          this.vars.set(stmt.name.text, new MmValue(stmt.name.text, maps, mm));
          break;
        }
        case 'assign':
          // The target is the statement's first token: its line is the statement's.
          this.assign(stmt.target, stmt.value, span.line);
          break;
        case 'expr': {
          const v = this.eval(stmt.expr);
          if (stmt.expr.kind === 'call') this.recordResult(span.line, v, numberStyle(stmt.expr, this.numberStyles));
          break;
        }
        case 'for':
          this.numberStyles.set(stmt.variable.name, numberStyle(stmt.iterable.kind === 'range' ? stmt.iterable.start : stmt.iterable, this.numberStyles));
          this.execFor(stmt.variable.name, stmt.iterable, stmt.body, depth);
          break;
        case 'expect':
          this.execExpect(stmt, checksBefore, faultsBefore);
          break;
        case 'print':
          this.prints.push({ line: stmt.span.line, text: renderPrintedExpr(stmt.expr, this.eval(stmt.expr), this.numberStyles) });
          break;
        case 'checkpoint':
          m.trace.emit('engine:checkpoint', { label: stmt.label.value });
          break;
      }
    } catch (e) {
      this.reportError(e, stmt.span);
      noteLostNames(this.lostNames, stmt, e);
    }
  }

  private reportError(e: unknown, span: Span): void {
    if (e instanceof ReplayStop) throw e; // a replay reached the event it was asked for: unwind, nothing to report
    if (e instanceof RuntimeError) this.diag(e.span ?? span, e.message, e.code);
    else if (e instanceof KernelError) this.diag(span, e.message, 'kernel-error');
    else if (e instanceof KernelBug) {
      // The kernel would BUG() here: report it where it happened and carry on with the next statement.
      this.m.trace.check('kernel-bug', 'error', e.message);
      this.diag(span, `${e.message} (the real kernel would crash here)`, 'kernel-bug');
      // An `expect violation kernel "kernel BUG ..."` that consumes the check takes the diagnostic with it.
      const at = this.diagnosticIndex.get(`${span.start}:${span.end}:kernel-bug:${e.message} (the real kernel would crash here)`);
      if (at !== undefined) this.kernelBugDiagnostics.set(this.m.trace.checks.length - 1, at);
    }
    else if (e instanceof RangeError && /Invalid array length|Array buffer allocation failed/.test(e.message)) this.diag(span, 'the statement asks for more memory than the emulator can give', 'too-large');
    else this.diag(span, `internal error in the emulator: ${e instanceof Error ? e.message : String(e)}`, 'internal-error');
  }

  /**
   * The last result each line recorded. A loop returns the same number again
   * and again (the rcache hands back the same IOVA): the entry is shared, not
   * formatted and stored a million times.
   */
  private readonly lastResults = new Map<number, { v: bigint | string | boolean; style: NumberStyle; id: number }>();

  private recordResult(line: number, v: Value, style: NumberStyle): void {
    if (v === null) return;
    const primitive = typeof v === 'bigint' || typeof v === 'string' || typeof v === 'boolean';
    const last = primitive ? this.lastResults.get(line) : undefined;
    if (last !== undefined && last.v === v && last.style === style) {
      this.statements.pushId(last.id);
      return;
    }
    const id = this.statements.add({ line, value: renderPrinted(v, style) });
    if (primitive) this.lastResults.set(line, { v, style, id });
  }

  private assign(target: Statement extends never ? never : Expr, valueExpr: Expr, line = target.span.line): void {
    if (target.kind === 'ident') {
      // Evaluating an expression assigns nothing: the style set here is the one the result prints in.
      const style = numberStyle(valueExpr, this.numberStyles);
      this.numberStyles.set(target.name, style);
      const v = this.eval(valueExpr, target.name);
      this.label(v, target.name);
      this.vars.set(target.name, v);
      this.recordResult(line, v, style);
      return;
    }
    if (target.kind === 'index' && target.object.kind === 'ident') {
      const name = target.object.name;
      this.numberStyles.set(name, numberStyle(valueExpr, this.numberStyles));
      const idx = this.int(this.eval(target.index), 'index');
      if (idx < 0n || idx > 1_000_000n) throw new RuntimeError(`index ${idx} is out of range (0..1000000)`, target.index.span);
      const v = this.eval(valueExpr, `${name}[${idx}]`);
      let list = this.vars.get(name);
      if (list === undefined) {
        list = [];
        this.vars.set(name, list);
      }
      if (!Array.isArray(list)) throw new RuntimeError(`${name} is a ${typeName(list)}, not a list`, target.object.span);
      while (list.length <= Number(idx)) list.push(null);
      list[Number(idx)] = v;
      this.label(v, `${name}[${idx}]`);
      this.recordResult(line, v, this.numberStyles.get(name) ?? 'hex');
      return;
    }
    throw new RuntimeError('can only assign to a name or name[index]', target.span);
  }

  /** Give engine objects the scenario's name for them, so traces and hovers read naturally. */
  private label(v: Value, name: string): void {
    if (v instanceof BufferValue) v.buf.label = name;
    else if (v instanceof IommuDomain && !v.label.startsWith('default domain')) v.label = name;
  }

  private execFor(name: string, iterable: Expr, body: Statement[], depth: number): void {
    const loop: PositionFrame['loop'] = iterable.kind === 'range'
      ? { start: this.int(this.eval(iterable.start), 'range start'), end: this.int(this.eval(iterable.end), 'range end') }
      : (() => {
          const v = this.eval(iterable);
          if (!Array.isArray(v)) throw new RuntimeError(`for needs a range or a list, got ${typeName(v)}`, iterable.span);
          return { items: v };
        })();
    // Not a statement limit: a count no run budget can reach is a typo (a hex digit too many), refused before it starts.
    if ('start' in loop && loop.end - loop.start > MAX_LOOP_ITERATIONS) {
      throw new RuntimeError(`the loop would run ${(loop.end - loop.start).toLocaleString('en-US')} times; more than ${MAX_LOOP_ITERATIONS.toLocaleString('en-US')} cannot finish within any run budget`, iterable.span);
    }
    const frame = this.position[depth];
    frame.loop = loop;
    frame.hadSaved = this.vars.has(name);
    frame.saved = this.vars.get(name) ?? null;
    this.loopFrom(name, body, depth, frame, 0, undefined);
  }

  /** Re-enter a loop at the iteration and statement a saved position names. */
  private resumeFor(name: string, body: Statement[], depth: number, resume: PositionFrame[]): void {
    const frame = this.position[depth];
    this.loopFrom(name, body, depth, frame, frame.iter, resume);
  }

  private loopFrom(name: string, body: Statement[], depth: number, frame: PositionFrame, firstIter: number, resume: PositionFrame[] | undefined): void {
    const loop = frame.loop;
    if (!loop) return;
    const items = 'items' in loop ? loop.items : undefined;
    const range = 'items' in loop ? undefined : loop;
    const count = items !== undefined ? items.length : range !== undefined && range.end > range.start ? Number(range.end - range.start) : 0;
    // A range's value steps by one (one BigInt an iteration, not a conversion and an addition).
    let value = range === undefined ? 0n : range.start + BigInt(firstIter);
    for (let iter = firstIter; iter < count; iter++, value++) {
      if (this.stopped || this.paused) return;
      frame.iter = iter;
      this.vars.set(name, items !== undefined ? items[iter] : value);
      this.execBody(body, depth + 1, iter === firstIter ? resume : undefined);
      const pos = this.position;
      while (pos.length > depth + 1) pos.pop();
    }
    if (this.paused) return;
    if (frame.hadSaved) this.vars.set(name, frame.saved ?? null);
    else this.vars.delete(name);
  }

  // --- expectations ------------------------------------------------------------

  private expectResult(stmt: ExpectStmt, passed: boolean, message: string, checksBefore: number, faultsBefore: number): void {
    this.expectations.push({ line: stmt.span.line, passed, message });
    // An event, so the debugger can stop on a failed expectation.
    this.m.trace.emit('engine:expect', { passed, message });
    if (!passed) return;
    const m = this.m;
    for (let i = checksBefore; i < m.trace.checks.length; i++) this.consumedChecks.add(i);
    for (let i = faultsBefore; i < m.trace.faults.length; i++) this.consumedFaults.add(i);
  }

  private execExpect(stmt: ExpectStmt, checksBefore: number, faultsBefore: number): void {
    const m = this.m;
    const src = this.text(stmt.span).replace(/^expect\s+/, '');
    switch (stmt.mode) {
      case 'value': {
        const { passed, detail } = this.evalCondition(stmt.expr);
        this.expectResult(stmt, passed, passed ? `${src} holds` : `expected ${src}${detail}`, checksBefore, faultsBefore);
        return;
      }
      case 'fault': {
        this.expectCallValue(stmt.call, stmt.assign);
        const n = m.trace.faults.length - faultsBefore;
        const f = m.trace.faults[faultsBefore];
        this.expectResult(stmt, n > 0, n > 0 ? `faulted as expected: ${f.reason}` : `expected an IO page fault from ${this.text(stmt.call.span)}, but the access succeeded`, checksBefore, faultsBefore);
        return;
      }
      case 'stale': {
        this.expectCallValue(stmt.call, stmt.assign);
        const stale = m.trace.checks.slice(checksBefore).find((c) => c.id.startsWith('stale-'));
        this.expectResult(stmt, stale !== undefined, stale ? `stale as expected: ${stale.message}` : `expected ${this.text(stmt.call.span)} to read stale data, but it saw current data`, checksBefore, faultsBefore);
        return;
      }
      case 'error': {
        const want = this.errnoValue(stmt.errno);
        const got = this.expectCallValue(stmt.call, stmt.assign);
        const passed = typeof got === 'bigint' && (got === -want || got === want);
        this.expectResult(stmt, passed, passed ? `failed with -${errnoName(Number(want))} as expected` : `expected ${this.text(stmt.call.span)} to fail with -${errnoName(Number(want))}, but it returned ${this.describe(got)}`, checksBefore, faultsBefore);
        return;
      }
      case 'violation': {
        if (stmt.call) this.expectCallValue(stmt.call, stmt.assign);
        // Without a call: any finding of the run so far that no expect has taken yet.
        const from = stmt.call ? checksBefore : 0;
        const pool = m.trace.checks.map((c, i) => ({ c, i })).slice(from).filter(({ i }) => stmt.call !== undefined || !this.consumedChecks.has(i));
        const origin = stmt.origin;
        const hit = pool.find(({ c }) => c.message.includes(stmt.text.value) && (!origin || findingOrigin(c.id, c.message) === origin));
        const others = pool.map(({ c }) => (origin ? `${findingOrigin(c.id, c.message)}: ${c.message}` : c.message));
        const what = origin ? `a ${origin === 'kernel' ? 'kernel' : 'dmascope'} report` : 'a report';
        const passed = hit !== undefined;
        this.expectResult(
          stmt,
          passed,
          hit ? `reported as expected: ${hit.c.message}` : `expected ${what} containing "${stmt.text.value}"${others.length ? `; got: ${others.join(' | ')}` : ', but nothing was reported'}`,
          checksBefore,
          faultsBefore,
        );
        if (passed && !stmt.call) for (const { c, i } of pool) if (c.message.includes(stmt.text.value) && (!origin || findingOrigin(c.id, c.message) === origin)) this.consumedChecks.add(i);
        return;
      }
      case 'findings': {
        this.expectCallValue(stmt.call, stmt.assign);
        const found = m.trace.checks.slice(checksBefore).filter((c) => c.severity !== 'info');
        const left = [...found];
        const missing: string[] = [];
        for (const t of stmt.texts) {
          const k = left.findIndex((c) => c.message.includes(t.value));
          if (k < 0) missing.push(t.value);
          else left.splice(k, 1);
        }
        const passed = missing.length === 0 && left.length === 0;
        const want = stmt.texts.length === 0 ? 'no finding' : `exactly ${stmt.texts.map((t) => `"${t.value}"`).join(', ')}`;
        const detail = [...missing.map((t) => `nothing contains "${t}"`), ...left.map((c) => `also: ${c.message}`)].join('; ');
        this.expectResult(stmt, passed, passed ? `${want}, as expected` : `expected ${want} from ${this.text(stmt.call.span)}: ${detail}`, checksBefore, faultsBefore);
        return;
      }
      case 'bounced': {
        const v = this.eval(stmt.expr);
        const addr = v instanceof CoherentValue ? v.coh.dma : this.int(v, 'address');
        const rec = m.mappings.findByDma(addr);
        const bounced = rec !== undefined && rec.bounce !== null;
        const passed = bounced !== stmt.negated;
        const what = rec ? (rec.bounce !== null ? `bounced through ${hex(rec.bounce)}` : 'mapped in place') : 'not a DMA address of any mapping';
        this.expectResult(stmt, passed, passed ? `${hex(addr)} ${what}` : `expected ${hex(addr)} ${stmt.negated ? 'not ' : ''}to be bounced; it is ${what}`, checksBefore, faultsBefore);
        return;
      }
      case 'log': {
        const logBefore = m.trace.log.length;
        if (stmt.call) this.evalCall(stmt.call);
        const lines = m.trace.log.slice(stmt.call ? logBefore : 0);
        const hit = lines.find((l) => l.text.includes(stmt.text.value));
        const passed = (hit !== undefined) !== stmt.negated;
        const where = stmt.call ? `the call printed` : 'the kernel log has';
        const message = passed
          ? hit ? `logged as expected (line ${hit.line}): ${hit.text}` : `no log line contains "${stmt.text.value}"`
          : hit ? `expected no log line containing "${stmt.text.value}", but ${where}: ${hit.text}` : `expected a kernel log line containing "${stmt.text.value}"; ${where} ${lines.length ? lines.slice(-3).map((l) => `"${l.text}"`).join(', ') : 'nothing'}`;
        this.expectResult(stmt, passed, message, checksBefore, faultsBefore);
        return;
      }
      case 'no_leaks': {
        // dma-debug has no hooks for the two-step IOVA API: its live states come from the engine.
        const pending = [...m.debug.pendingEntries().map((e) => `${e.type} ${hex(e.devAddr)}+${e.size} (line ${e.line})`), ...dmaIovaPending(m.allDomains())];
        const passed = pending.length === 0;
        this.expectResult(
          stmt,
          passed,
          passed ? 'nothing is left mapped' : `${pending.length} mapping(s) still live: ${pending.slice(0, 4).join(', ')}`,
          checksBefore,
          faultsBefore,
        );
        return;
      }
    }
  }

  /** The call of an expect; `expect ... NAME = CALL` also assigns its value to NAME. */
  private expectCallValue(call: CallExpr, assign: CaptureTarget | undefined): Value {
    if (!assign) return this.evalCall(call);
    this.assign({ kind: 'ident', name: assign.name, span: assign.span }, call);
    return this.vars.get(assign.name) ?? null;
  }

  /**
   * `events("name")[i]`: the i-th event of that name so far (0-based; a call,
   * not its return) as a record of its fields, plus `seq` and `line` (and
   * `ret` for a call that has returned).
   */
  private eventAt(call: CallExpr, i: bigint, span: Span): Value {
    const name = this.eval(call.args[0] ?? { kind: 'string', value: '', bytes: new Uint8Array(0), span: call.span });
    if (typeof name !== 'string') throw new RuntimeError('events() takes an event name string such as "iommu:map"', call.span);
    const trace = this.m.trace;
    let n = -1n;
    for (let k = 0; k < trace.length; k++) {
      const ev = trace.eventAt(k);
      if (ev.name !== name || ev.kind === 'return' || ++n !== i) continue;
      const fields = new Map<string, Value>(Object.entries(ev.fields).map(([key, v]) => [key, typeof v === 'number' ? BigInt(v) : v]));
      fields.set('seq', BigInt(ev.seq));
      fields.set('line', BigInt(ev.line));
      const ret = ev.kind === 'call' && ev.match >= 0 ? trace.eventAt(ev.match).fields.ret : undefined;
      if (ret !== undefined) fields.set('ret', typeof ret === 'number' ? BigInt(ret) : ret);
      return new RecordValue(fields);
    }
    throw new RuntimeError(`events("${name}")[${i}]: there ${n + 1n === 1n ? 'is 1 such event' : `are ${n + 1n} such events`} so far`, span);
  }

  /** Evaluates an expect condition, explaining a failed comparison with both sides. */
  private evalCondition(e: Expr): { passed: boolean; detail: string } {
    if (e.kind === 'binary' && ['==', '!=', '<', '<=', '>', '>='].includes(e.op)) {
      const l = this.eval(e.left);
      const r = this.eval(e.right);
      const passed = truthy(this.binary(e.op, l, r, e.span));
      const lStyle = numberStyle(e.left, this.numberStyles);
      const rStyle = numberStyle(e.right, this.numberStyles);
      return { passed, detail: passed ? '' : `, but ${this.text(e.left.span)} is ${this.describe(l, lStyle)}${e.right.kind === 'number' ? '' : ` and ${this.text(e.right.span)} is ${this.describe(r, rStyle)}`}` };
    }
    const v = this.eval(e);
    return { passed: truthy(v), detail: truthy(v) ? '' : `, but it is ${this.describe(v)}` };
  }

  private describe(v: Value, style: NumberStyle = 'hex'): string {
    if (typeof v === 'bigint' && v < 0n && v >= -4095n) return `-${errnoName(Number(-v))}`;
    return renderPrinted(v, style);
  }

  private errnoValue(e: Expr): bigint {
    if (e.kind === 'ident' && ERRNO_NAMES[e.name] !== undefined) return BigInt(ERRNO_NAMES[e.name]);
    const v = this.int(this.eval(e), 'errno');
    return v < 0n ? -v : v;
  }

  // --- expressions -------------------------------------------------------------

  private int(v: Value, what: string): bigint {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'boolean') return v ? 1n : 0n;
    if (v instanceof BufferValue) return v.buf.phys;
    throw new RuntimeError(`${what} must be an integer, got ${typeName(v)}`);
  }

  private readonly callContext: CallContext = { m: undefined as unknown as Machine, target: undefined };

  private evalCall(call: CallExpr, target?: string): Value {
    const b = BUILTIN_TABLE[call.callee.text];
    if (b === undefined) throw new RuntimeError(`unknown function ${call.callee.text}`, call.callee.span, 'unknown-name');
    let args: Value[];
    let named: ReadonlyMap<string, Value>;
    if (call.named.length === 0) {
      // Positional arguments only (nearly every call): no normalising, no map.
      const positional = call.args;
      if (positional.length < b.min || positional.length > b.max) throw this.argCountError(call, b, positional.length);
      // Sized up front: push() would reserve 16 slots for every call.
      args = new Array<Value>(positional.length);
      for (let i = 0; i < positional.length; i++) args[i] = this.eval(positional[i]);
      named = NO_NAMED_VALUES;
    } else {
      // Kernel parameters may also be passed by name (`attrs = ...`): put them in their positional slot.
      const { positional, named: namedExprs } = normaliseArgs(call, b.named ?? []);
      if (positional.length < b.min || positional.length > b.max) throw this.argCountError(call, b, positional.length);
      args = positional.map((a) => this.eval(a));
      const byName = new Map<string, Value>();
      for (const n of namedExprs) {
        if (!b.named?.includes(n.name)) throw new RuntimeError(`${call.callee.text} has no argument named ${n.name}`, n.span, 'arg-name');
        byName.set(n.name, this.eval(n.value));
      }
      named = byName;
    }
    // Editor extras (call-log.ts): the walk an access will make, and what each call site returned.
    const walk = this.callLog?.beforeCall(this.m, call, args, named);
    // One context object for every call: the arguments are evaluated above, and an impl never calls back into the interpreter.
    const ctx = this.callContext;
    ctx.m = this.m;
    ctx.target = target;
    try {
      const result = b.impl(ctx, args, named);
      this.callLog?.afterCall(this.m, call, result, walk);
      return result;
    } catch (e) {
      if (e instanceof RuntimeError && !e.span) throw new RuntimeError(e.message, call.span, e.code);
      throw e;
    }
  }

  private argCountError(call: CallExpr, b: { min: number; max: number }, got: number): RuntimeError {
    return new RuntimeError(`${call.callee.text} takes ${b.min === b.max ? b.min : `${b.min} to ${b.max}`} arguments, got ${got}`, call.argsSpan, 'arg-count');
  }

  eval(e: Expr, target?: string): Value {
    switch (e.kind) {
      case 'number':
        return e.value;
      case 'string':
        return e.raw ? e.bytes : e.value;
      case 'bytes':
        return e.bytes;
      case 'bool':
        return e.value;
      case 'ident': {
        const v = this.vars.get(e.name);
        if (v !== undefined) return v;
        const c = CONSTANT_TABLE[e.name];
        if (c !== undefined) return c;
        throw lostNameError(this.lostNames, e.name, e.span) ?? new RuntimeError(`unknown name ${e.name}`, e.span, 'unknown-name');
      }
      case 'unary': {
        const v = this.eval(e.operand);
        if (e.op === '!') return !truthy(v);
        const n = this.int(v, 'operand');
        return e.op === '-' ? (-n) & U64_MASK : ~n & U64_MASK;
      }
      case 'binary': {
        if (e.op === '&&') return truthy(this.eval(e.left)) && truthy(this.eval(e.right));
        if (e.op === '||') return truthy(this.eval(e.left)) || truthy(this.eval(e.right));
        return this.binary(e.op, this.eval(e.left), this.eval(e.right), e.span);
      }
      case 'range':
        throw new RuntimeError('a range is only allowed in `for` and in `memory`', e.span);
      case 'member':
        return this.member(this.eval(e.object), e.property.text, e.span);
      case 'index': {
        if (e.object.kind === 'call' && e.object.callee.text === 'events') return this.eventAt(e.object, this.int(this.eval(e.index), 'index'), e.span);
        const o = this.eval(e.object);
        const i = this.int(this.eval(e.index), 'index');
        if (Array.isArray(o)) {
          if (i < 0n || i >= BigInt(o.length)) throw new RuntimeError(`index ${i} is outside the list (length ${o.length})`, e.span);
          return o[Number(i)];
        }
        if (o instanceof SgTable) {
          if (i < 0n || i >= BigInt(o.entries.length)) throw new RuntimeError(`index ${i} is outside the sg_table (${o.entries.length} entries)`, e.span);
          return new SgEntryValue(o, Number(i));
        }
        throw new RuntimeError(`cannot index a ${typeName(o)}`, e.span);
      }
      case 'list':
        return e.items.map((i) => this.eval(i));
      case 'record':
        return new RecordValue(new Map(e.fields.map((f) => [f.name.text, this.eval(f.value)])));
      case 'call':
        return this.evalCall(e, target);
      case 'sg_entry':
        return new RecordValue(new Map<string, Value>([['addr', this.eval(e.addr)], ['length', this.eval(e.length)]]));
      case 'error':
        throw new RuntimeError('this expression has a syntax error', e.span, 'syntax');
    }
  }

  private binary(op: string, l: Value, r: Value, span: Span): Value {
    if (op === '==') return valuesEqual(l, r);
    if (op === '!=') return !valuesEqual(l, r);
    const a = this.int(l, 'left operand');
    const b = this.int(r, 'right operand');
    switch (op) {
      case '<': return a < b;
      case '<=': return a <= b;
      case '>': return a > b;
      case '>=': return a >= b;
      case '+': return (a + b) & U64_MASK;
      case '-': return (a - b) & U64_MASK;
      case '*': return (a * b) & U64_MASK;
      case '/':
        if (b === 0n) throw new RuntimeError('division by zero', span);
        return a / b;
      case '%':
        if (b === 0n) throw new RuntimeError('division by zero', span);
        return a % b;
      case '&': return a & b;
      case '|': return a | b;
      case '^': return a ^ b;
      case '<<': return b >= 64n ? 0n : (a << b) & U64_MASK;
      case '>>': return b >= 64n ? 0n : a >> b;
    }
    throw new RuntimeError(`unknown operator ${op}`, span);
  }

  private member(o: Value, name: string, span: Span): Value {
    const fail = (): never => {
      throw new RuntimeError(`a ${typeName(o)} has no member ${name}`, span);
    };
    if (o instanceof SvaHandleValue || o instanceof AttachHandleValue) return o.member(name) ?? fail();
    if (o instanceof BufferValue) {
      if (name === 'phys') return o.buf.phys;
      if (name === 'size') return o.buf.size;
      return fail();
    }
    if (o instanceof CoherentValue) {
      if (name === 'cpu') return o.coh.cpu;
      if (name === 'dma') return o.coh.dma;
      if (name === 'size') return o.coh.size;
      return fail();
    }
    if (o instanceof SgEntryValue) {
      const e = o.table.entries[o.index];
      if (name === 'dma_address') return e.dmaAddress;
      if (name === 'dma_length') return e.dmaLength;
      if (name === 'phys') return e.phys;
      if (name === 'length') return e.length;
      return fail();
    }
    if (o instanceof SgTable) {
      if (name === 'nents') return BigInt(o.nents);
      if (name === 'mapped_nents') return BigInt(o.mappedNents);
      return fail();
    }
    if (o instanceof TranslateValue) {
      const t = o.t;
      if (name === 'phys') return t.phys ?? 0n;
      if (name === 'fault') return t.phys === undefined;
      if (name === 'reason') return t.fault ?? '';
      if (name === 'iotlb_hit') return t.iotlbHit;
      if (name === 'accesses') return BigInt(t.accesses);
      if (name === 'steps') return t.steps.map((s) => new RecordValue(new Map<string, Value>([['stage', BigInt(s.stage)], ['level', BigInt(s.level)], ['table', s.table], ['index', BigInt(s.index)], ['desc', s.desc]])));
      return fail();
    }
    if (o instanceof DmaIovaState) {
      if (name === 'addr') return o.addr;
      if (name === 'size') return dmaIovaSize(o);
      return fail();
    }
    if (o instanceof RecordValue) {
      const v = o.fields.get(name);
      return v === undefined ? fail() : v;
    }
    return fail();
  }
}
