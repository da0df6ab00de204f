// The Debug Adapter Protocol session: DAP requests become DebugRuntime moves,
// runtime stops become DAP events. The same class runs inline in the
// extension and standalone over stdio (debug-adapter.ts). No vscode here.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  InitializedEvent, InvalidatedEvent, LoggingDebugSession, OutputEvent, Scope, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { inspectMachine, readCpuBytes, readDeviceBytes } from '../engine/inspect';
import { formatNumber } from '../lang/interp/number-style';
import { toJson } from '../lang/interp/values';
import { pickWalkTarget } from '../panels/walk-source';
import type { InspectPosition, WalkTarget } from '../protocol';
import { answerInspectRequest } from './inspect-request';
import { limitsMessage } from './limits';
import { BYTES_SHOWN, bytesText, machineVariables, parseBytesValue, scenarioVariables } from './machine-variables';
import { EXCEPTION_BREAKPOINT_FILTERS, TRACE_FILTERS, describeHit, parseTraceCondition, type TraceCondition } from './breakpoints';
import { kernelSourceOf } from './kernel-sources';
import { CaptureDebugSession, isCaptureProgram } from './capture-session';
import { DebugRuntime, type StopEvent } from './runtime';
import { PAGE, VariableStore, memoryReferenceOf, parseMemoryReference, type Shown } from './variables';

/** Launch arguments (package.json contributes.debuggers). */
export interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
  /** Path of the scenario (.dmas). */
  program: string;
  stopOnEntry?: boolean;
  /**
   * A URI (scheme://authority/path) the kernel log lines in the Debug Console
   * end with, `URI?event=N`: the console makes it a link, and whoever handles
   * the URI moves the debugger to event N with dmascope/goToEvent (the
   * extension sets its own URI handler here).
   */
  eventLinks?: string;
}

/** The link a kernel log line ends with: `prefix?event=N` (N: the event after which it was printed). */
export function eventLink(prefix: string, event: number): string {
  return `${prefix}?event=${event}`;
}

/** Custom event with the timeline position, for the status bar. */
export const POSITION_EVENT = 'dmascope/position';
/** Custom request: move to an event number or a percentage of the run. */
export const GO_TO_EVENT_REQUEST = 'dmascope/goToEvent';
/** Custom request: back to the event that last wrote an address ({ address: "0x...", space: 'phys' | 'iova' }). */
export const WHERE_FROM_REQUEST = 'dmascope/whereFrom';
/**
 * Custom request: the panels' state at the paused position (or at `event`),
 * exactly as the debugger holds it, memory edits included. Arguments and
 * answers: InspectArguments / WalkInspectArguments / BounceInspectArguments
 * in src/protocol.ts, each answer with its InspectPosition.
 */
export const INSPECT_REQUEST = 'dmascope/inspect';

const THREAD_ID = 1;
/** Bytes one readMemory answers at most. */
const MAX_READ = 1 << 20;

function fieldsText(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'bigint' ? `0x${v.toString(16)}` : typeof v === 'string' ? v : String(v)}`)
    .join(', ');
}

export class DmascopeDebugSession extends LoggingDebugSession {
  private runtime: DebugRuntime | undefined;
  private program = '';
  private readonly vars = new VariableStore();
  private configured: (() => void) | undefined;
  private configurationDone = new Promise<void>((resolve) => (this.configured = resolve));

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  /** A kernel capture being debugged: its launch and every request after it go to its own session (capture-session.ts). */
  private capture: CaptureDebugSession | undefined;

  protected override dispatchRequest(request: DebugProtocol.Request): void {
    if (this.capture === undefined && request.command === 'launch') {
      const a = (request.arguments ?? {}) as { program?: unknown; capture?: unknown };
      if (isCaptureProgram(a.program, a.capture)) this.capture = this.captureSession();
    }
    if (this.capture !== undefined) return this.capture.handleMessage(request);
    super.dispatchRequest(request);
  }

  /** The capture session, its responses and events sent on as this session's. */
  private captureSession(): CaptureDebugSession {
    const inner = new CaptureDebugSession();
    inner.onDidSendMessage((m) => {
      const msg = m as DebugProtocol.ProtocolMessage;
      if (msg.type === 'response') this.sendResponse({ ...(msg as DebugProtocol.Response), seq: 0 });
      else if (msg.type === 'event') this.sendEvent(msg as DebugProtocol.Event);
    });
    return inner;
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      ...response.body,
      supportsConfigurationDoneRequest: true,
      supportsStepBack: true,
      supportsRestartRequest: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsFunctionBreakpoints: true,
      supportsEvaluateForHovers: true,
      supportsReadMemoryRequest: true,
      supportsWriteMemoryRequest: true,
      supportsSetVariable: true,
      supportsGotoTargetsRequest: false,
      supportsExceptionInfoRequest: true,
      supportsDataBreakpoints: true,
      supportsExceptionFilterOptions: true,
      exceptionBreakpointFilters: EXCEPTION_BREAKPOINT_FILTERS,
    };
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.configured?.();
    this.sendResponse(response);
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: LaunchArguments): Promise<void> {
    if (typeof args.program !== 'string' || args.program === '') return this.sendErrorResponse(response, 3001, 'launch needs "program": the path of a .dmas scenario');
    let source: string;
    try {
      source = readFileSync(args.program, 'utf8');
    } catch (e) {
      return this.sendErrorResponse(response, 3002, `cannot read ${args.program}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const tooLarge = limitsMessage(source);
    if (tooLarge) return this.sendErrorResponse(response, 3003, tooLarge);
    this.program = path.resolve(args.program);
    // Only a plain URI: it is printed into the console and opened on a click.
    this.eventLinks = typeof args.eventLinks === 'string' && /^[a-z][a-z0-9+.-]{2,}:\/\/[\w.-]+(\/[\w./-]*)?$/i.test(args.eventLinks) ? args.eventLinks : undefined;
    const rt = new DebugRuntime(source);
    this.runtime = rt;
    if (rt.hasErrors) {
      const errs = rt.diagnostics.filter((d) => d.severity === 'error');
      return this.sendErrorResponse(response, 3004, `${path.basename(this.program)} does not parse: line ${errs[0].line}: ${errs[0].message}${errs.length > 1 ? ` (and ${errs.length - 1} more)` : ''}`);
    }
    rt.on('stop', (s: StopEvent) => this.stopped(s));
    rt.on('end', () => this.sendEvent(new TerminatedEvent()));
    rt.on('output', (text: string, line: number) => {
      const e = new OutputEvent(text, 'console') as DebugProtocol.OutputEvent;
      e.body.source = this.source();
      e.body.line = line;
      this.sendEvent(e);
    });
    this.sendResponse(response);
    // Breakpoints arrive between initialized and configurationDone.
    await this.configurationDone;
    if (args.noDebug) {
      this.sendEvent(new OutputEvent(`${this.report()}\n`, 'console'));
      this.sendEvent(new TerminatedEvent());
      return;
    }
    rt.start(args.stopOnEntry === true);
  }

  private source(): Source {
    return new Source(path.basename(this.program), this.program);
  }

  private report(): string {
    const r = this.runtime?.timeline.result;
    if (!r) return '';
    const failed = r.expectations.filter((e) => !e.passed).length;
    return `${r.ok ? 'PASS' : 'FAIL'} ${path.basename(this.program)}: ${r.expectations.length - failed}/${r.expectations.length} expectations passed, ${r.checks.filter((c) => !c.expected).length} checks, ${r.faults.filter((f) => !f.expected).length} unexpected faults`;
  }

  /** The prefix of the log lines' links (LaunchArguments.eventLinks), if any. */
  private eventLinks: string | undefined;

  /** Events up to which the kernel log was written to the Debug Console. */
  private loggedUpTo = -1;

  /** The kernel log lines printed since the last stop (going forwards), in the Debug Console at their lines. */
  private echoLog(to: number): void {
    const rt = this.runtime;
    if (!rt || to <= this.loggedUpTo) return;
    for (const l of rt.trace.log) {
      if (l.seq <= this.loggedUpTo || l.seq > to) continue;
      // The event that printed the line is the last one recorded before it.
      const link = this.eventLinks ? `  ${eventLink(this.eventLinks, Math.max(0, l.seq - 1))}` : '';
      const e = new OutputEvent(`${l.text}${link}\n`, 'console') as DebugProtocol.OutputEvent;
      e.body.source = this.source();
      e.body.line = l.line;
      this.sendEvent(e);
    }
    this.loggedUpTo = to;
  }

  private stopped(s: StopEvent): void {
    this.vars.clear();
    this.echoLog(s.event);
    const e = new StoppedEvent(s.reason, THREAD_ID, s.text) as DebugProtocol.StoppedEvent;
    if (s.text) e.body.description = s.text;
    this.sendEvent(e);
    this.sendPosition();
  }

  /** Where the debugger is now, for the status bar and the panels (after a stop, and after a memory edit changed the state here). */
  private sendPosition(): void {
    const rt = this.runtime;
    if (!rt) return;
    // The total is known once the run has gone to its end (-1 before: the debugger runs forward on demand).
    this.sendEvent({ seq: 0, type: 'event', event: POSITION_EVENT, body: { event: rt.position, total: rt.timeline.complete ? rt.eventCount : -1, backwards: rt.backwards, line: rt.event(rt.position)?.line ?? 0 } } as DebugProtocol.Event);
  }

  private withRuntime<R extends DebugProtocol.Response>(response: R, body: (rt: DebugRuntime) => void): void {
    const rt = this.runtime;
    if (!rt) return this.sendErrorResponse(response, 3010, 'no scenario is being debugged');
    try {
      body(rt);
    } catch (e) {
      this.sendErrorResponse(response, 3011, `dmascope: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // ---- breakpoints --------------------------------------------------------------

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    this.withRuntime(response, (rt) => {
      const requested = (args.breakpoints ?? []).filter((b) => Number.isInteger(b.line) && b.line > 0);
      const lines = rt.setLineBreakpoints(requested.map((b) => ({ line: b.line, condition: b.condition, hitCondition: b.hitCondition, logMessage: b.logMessage })));
      response.body = {
        breakpoints: lines.map((line, i) => (line === undefined
          ? { verified: false, line: requested[i].line, message: 'no statement at or after this line' }
          : { verified: true, line, source: this.source() })),
      };
      this.sendResponse(response);
    });
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    this.withRuntime(response, (rt) => {
      const plain = Array.isArray(args.filters) ? args.filters.filter((f): f is string => typeof f === 'string').map((filter) => ({ filter, condition: undefined as string | undefined })) : [];
      const withOptions = Array.isArray(args.filterOptions) ? args.filterOptions.map((o) => ({ filter: String(o.filterId), condition: typeof o.condition === 'string' ? o.condition : undefined })) : [];
      const parsed = [...plain, ...withOptions].map((f) => ({ filter: f.filter, condition: f.condition ? parseTraceCondition(f.condition) : {} }));
      const bad = parsed.find((p) => typeof p.condition === 'string');
      rt.setTraceFilters(parsed.filter((p): p is { filter: string; condition: TraceCondition } => typeof p.condition !== 'string'));
      response.body = { breakpoints: parsed.map((p) => (typeof p.condition === 'string' ? { verified: false, message: p.condition } : { verified: true })) };
      if (bad) this.sendEvent(new OutputEvent(`dmascope: trace breakpoint ${bad.filter}: ${String(bad.condition)}\n`, 'console'));
      this.sendResponse(response);
    });
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.withRuntime(response, (rt) => {
      const names = (args.breakpoints ?? []).map((b) => String(b.name).trim()).filter((n) => n !== '');
      rt.setFunctionBreakpoints(names);
      const known = new Set<string>();
      const total = names.length > 0 ? rt.complete() : 0;
      for (let i = 0; i < total; i++) known.add(rt.trace.nameAt(i));
      response.body = { breakpoints: names.map((n) => (known.has(n) ? { verified: true } : { verified: false, message: `${n} is not called in this run` })) };
      this.sendResponse(response);
    });
  }

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    const v = args.variablesReference !== undefined ? this.vars.child(args.variablesReference, String(args.name)) : undefined;
    const ref = memoryReferenceOf(v);
    const m = ref ? parseMemoryReference(ref) : undefined;
    response.body = m
      ? { dataId: ref ?? null, description: `${String(args.name)}: ${m.space === 'phys' ? 'physical' : `${m.device ?? ''} IOVA`} 0x${m.addr.toString(16)}+0x${m.size.toString(16)}`, accessTypes: ['readWrite'], canPersist: false }
      : { dataId: null, description: 'only buffers and mappings (values with an address and a size) can be watched' };
    this.sendResponse(response);
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    this.withRuntime(response, (rt) => {
      const watches = (args.breakpoints ?? []).map((b) => {
        const m = parseMemoryReference(String(b.dataId));
        return m ? { space: m.space === 'phys' ? ('phys' as const) : ('iova' as const), start: m.addr, end: m.addr + m.size, label: `${m.space === 'phys' ? 'phys' : 'IOVA'} 0x${m.addr.toString(16)}+0x${m.size.toString(16)}` } : undefined;
      });
      rt.setDataWatches(watches.filter((w): w is NonNullable<typeof w> => w !== undefined));
      response.body = { breakpoints: watches.map((w) => (w ? { verified: true } : { verified: false, message: 'not a buffer or mapping' })) };
      this.sendResponse(response);
    });
  }

  // ---- threads, stack, scopes, variables --------------------------------------

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: [new Thread(THREAD_ID, 'scenario')] };
    this.sendResponse(response);
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    this.withRuntime(response, (rt) => {
      const frames = rt.frames();
      const start = args.startFrame ?? 0;
      const shown = frames.slice(start, args.levels ? start + args.levels : undefined);
      response.body = {
        totalFrames: frames.length,
        stackFrames: shown.map((f) => {
          const file = f.kind === 'kernel' ? kernelSourceOf(f.name) : undefined;
          const name = f.kind === 'scenario' ? `${path.basename(this.program)}:${f.line}` : `${f.name}(${fieldsText(f.args)})${file ? `  [${file}]` : ''}`;
          return new StackFrame(f.seq, name, this.source(), f.line, f.column);
        }),
      };
      this.sendResponse(response);
    });
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    this.withRuntime(response, (rt) => {
      const state = rt.state();
      // Numbers as the kernel prints them: addresses in hex, counts in decimal.
      const values: Record<string, Shown> = {};
      for (const [k, v] of state.vars) values[k] = typeof v === 'bigint' ? formatNumber(v, state.numberStyles.get(k) ?? 'hex') : (toJson(v) as Shown);
      const m = state.machine;
      const ev = rt.event(args.frameId >= 0 ? args.frameId : rt.position) ?? rt.event(rt.position);
      const event: Shown = ev ? { seq: ev.seq, kind: ev.kind, name: ev.name, line: ev.line, ...Object.fromEntries(Object.entries(ev.fields).map(([k, v]) => [k, typeof v === 'bigint' ? `0x${v.toString(16)}` : v])) } : {};
      const machine: Shown = m ? machineVariables(inspectMachine(m), m) : {};
      response.body = {
        scopes: [
          new Scope('Scenario', this.vars.add(scenarioVariables(values, m), []), false),
          new Scope(`Event ${rt.position + 1}${rt.timeline.complete ? ` of ${rt.eventCount}` : ''}`, this.vars.add(event, []), false),
          new Scope('Machine', this.vars.add(machine, []), true),
        ],
      };
      this.sendResponse(response);
    });
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    const count = args.count !== undefined ? Math.min(args.count, PAGE * 10) : undefined;
    response.body = { variables: this.vars.children(args.variablesReference, args.start, count) };
    this.sendResponse(response);
  }

  // ---- moves ------------------------------------------------------------------

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    this.withRuntime(response, (rt) => {
      response.body = { allThreadsContinued: true };
      this.sendResponse(response);
      rt.continue();
    });
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
    this.withRuntime(response, (rt) => {
      this.sendResponse(response);
      rt.reverseContinue();
    });
  }

  protected override nextRequest(response: DebugProtocol.NextResponse): void {
    this.withRuntime(response, (rt) => {
      this.sendResponse(response);
      rt.next();
    });
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse): void {
    this.withRuntime(response, (rt) => {
      this.sendResponse(response);
      rt.stepIn();
    });
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.withRuntime(response, (rt) => {
      this.sendResponse(response);
      rt.stepOut();
    });
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse): void {
    this.withRuntime(response, (rt) => {
      this.sendResponse(response);
      rt.stepBack();
    });
  }

  protected override restartRequest(response: DebugProtocol.RestartResponse): void {
    this.withRuntime(response, (rt) => {
      this.sendResponse(response);
      rt.start(true);
    });
  }

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    if (command === WHERE_FROM_REQUEST) return this.whereFrom(response, args);
    if (command === INSPECT_REQUEST) return this.inspect(response, args);
    if (command !== GO_TO_EVENT_REQUEST) return super.customRequest(command, response, args);
    this.withRuntime(response, (rt) => {
      const a = (args ?? {}) as { event?: unknown; percent?: unknown; kind?: unknown };
      const k = typeof a.event === 'number' && Number.isFinite(a.event) ? a.event
        : typeof a.percent === 'number' && Number.isFinite(a.percent) ? (a.percent / 100) * (rt.complete() - 1)
        : typeof a.kind === 'string' ? rt.nextOfKind(a.kind) ?? NaN : NaN;
      if (Number.isNaN(k)) return this.sendErrorResponse(response, 3020, typeof a.kind === 'string' ? `no ${a.kind} event after this point` : 'goToEvent needs { event: N }, { percent: P } or { kind: NAME }');
      this.sendResponse(response);
      rt.goTo(k);
    });
  }

  private inspect(response: DebugProtocol.Response, args: unknown): void {
    this.withRuntime(response, (rt) => {
      const a: Record<string, unknown> = typeof args === 'object' && args !== null && !Array.isArray(args) ? { ...(args as Record<string, unknown>) } : {};
      const asked = a.event;
      if (asked !== undefined && !(Number.isSafeInteger(asked) && (asked as number) >= -1)) return this.sendErrorResponse(response, 3070, 'dmascope/inspect: event must be an integer >= -1');
      const event = asked === undefined ? rt.position : (asked as number);
      if (event >= 0 && rt.event(event) === undefined && (rt.complete(), rt.event(event) === undefined)) {
        return this.sendErrorResponse(response, 3071, `dmascope/inspect: the run has ${rt.eventCount} events, no event ${event}`);
      }
      const m = rt.machine(event);
      if (!m) return this.sendErrorResponse(response, 3072, 'dmascope/inspect: the scenario has not set up the machine at this point');
      let extra: { targets?: WalkTarget[] } = {};
      if (a.kind === 'walk' && (a.target === undefined || a.withTargets === true)) {
        const targets = rt.walkTargets();
        // No target: the walk site on the lens's line (as the panel without the debugger picks it).
        if (a.target === undefined) a.target = pickWalkTarget(targets, typeof a.line === 'number' ? a.line : undefined);
        if (a.withTargets === true) extra = { targets };
      }
      const previous = a.withPrevious === true && event >= 0 ? rt.machine(event - 1) : null;
      const answer = answerInspectRequest(m, a, event, previous);
      const e = rt.event(event);
      const position: InspectPosition = {
        event,
        total: rt.timeline.complete ? rt.eventCount : null,
        line: e?.line ?? 0,
        backwards: event === rt.position && rt.backwards,
        statements: rt.statementsAround(event),
      };
      response.body = { ...answer, ...extra, position };
      this.sendResponse(response);
    });
  }

  private whereFrom(response: DebugProtocol.Response, args: unknown): void {
    this.withRuntime(response, (rt) => {
      const a = (args ?? {}) as { address?: unknown; space?: unknown };
      const text = typeof a.address === 'string' ? a.address.trim() : '';
      if (!/^0x[0-9a-f]+$/i.test(text) || (a.space !== 'phys' && a.space !== 'iova')) return this.sendErrorResponse(response, 3050, 'whereFrom needs { address: "0x...", space: "phys" | "iova" }');
      const found = rt.whereFrom(a.space, BigInt(text));
      if (!found) return this.sendErrorResponse(response, 3051, `nothing wrote ${text} before this point`);
      this.sendResponse(response);
    });
  }

  // ---- evaluate, memory, exceptions --------------------------------------------

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    this.withRuntime(response, (rt) => {
      const v = rt.evaluate(String(args.expression ?? ''));
      if (!v.ok) return this.sendErrorResponse(response, 3030, v.value);
      const shown = toJson(v.raw as Parameters<typeof toJson>[0]) as Shown;
      const item = this.vars.variable(String(args.expression), shown);
      response.body = { result: v.value, variablesReference: item.variablesReference, ...(item.memoryReference ? { memoryReference: item.memoryReference } : {}) };
      this.sendResponse(response);
    });
  }

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    this.withRuntime(response, (rt) => {
      const ref = parseMemoryReference(String(args.memoryReference));
      const m = rt.machine();
      if (!ref || !m) return this.sendErrorResponse(response, 3040, `unknown memory reference ${String(args.memoryReference)}`);
      const offset = BigInt(Math.max(0, Math.floor(args.offset ?? 0)));
      const count = Math.max(0, Math.min(MAX_READ, Math.floor(args.count)));
      const addr = ref.addr + offset;
      if (ref.space === 'phys') {
        const bytes = readCpuBytes(m, addr, count);
        response.body = bytes ? { address: `0x${addr.toString(16)}`, data: Buffer.from(bytes).toString('base64') } : { address: `0x${addr.toString(16)}`, unreadableBytes: count };
      } else {
        const r = readDeviceBytes(m, ref.device ?? '', addr, count, ref.pasid ?? null);
        response.body = { address: `0x${addr.toString(16)}`, data: Buffer.from(r.bytes).toString('base64'), unreadableBytes: count - r.bytes.length };
      }
      this.sendResponse(response);
    });
  }

  protected override writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse, args: DebugProtocol.WriteMemoryArguments): void {
    this.withRuntime(response, (rt) => {
      const ref = parseMemoryReference(String(args.memoryReference));
      if (!ref || ref.space !== 'phys') return this.sendErrorResponse(response, 3060, 'only a CPU buffer (a phys: memory reference) can be written');
      const bytes = Buffer.from(String(args.data ?? ''), 'base64');
      const offset = BigInt(Math.max(0, Math.floor(args.offset ?? 0)));
      if (bytes.length === 0 || bytes.length > MAX_READ || offset + BigInt(bytes.length) > ref.size) return this.sendErrorResponse(response, 3061, `write ${bytes.length} bytes at offset ${offset}: outside the buffer (${ref.size} bytes)`);
      if (!rt.writeMemory(ref.addr + offset, new Uint8Array(bytes))) return this.sendErrorResponse(response, 3062, 'that memory is not RAM');
      response.body = { bytesWritten: bytes.length };
      this.sendResponse(response);
      this.vars.clear();
      this.sendEvent(new InvalidatedEvent(['all'], THREAD_ID));
      this.sendPosition();
    });
  }

  /** Set Value on a buffer's `bytes` (in Scenario or Machine): the CPU writes them there, and the run goes on from the changed state. */
  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    this.withRuntime(response, (rt) => {
      const parent = this.vars.value(args.variablesReference);
      const ref = args.name === 'bytes' ? memoryReferenceOf(parent) : undefined;
      const buf = ref ? parseMemoryReference(ref) : undefined;
      if (!buf || buf.space !== 'phys') return this.sendErrorResponse(response, 3063, 'only the bytes of a CPU buffer can be set (its "bytes" entry)');
      const bytes = parseBytesValue(String(args.value ?? ''));
      if (typeof bytes === 'string') return this.sendErrorResponse(response, 3064, bytes);
      if (BigInt(bytes.length) > buf.size) return this.sendErrorResponse(response, 3061, `${bytes.length} bytes do not fit the buffer (${buf.size} bytes)`);
      if (!rt.writeMemory(buf.addr, bytes)) return this.sendErrorResponse(response, 3062, 'that memory is not RAM');
      const m = rt.machine();
      const now = m ? readCpuBytes(m, buf.addr, Math.min(BYTES_SHOWN, Number(buf.size))) : undefined;
      response.body = { value: now ? bytesText(now) : bytesText(bytes) };
      this.sendResponse(response);
      this.vars.clear();
      this.sendEvent(new InvalidatedEvent(['variables'], THREAD_ID));
      this.sendPosition();
    });
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    this.withRuntime(response, (rt) => {
      const e = rt.event(rt.position);
      const filter = e ? TRACE_FILTERS.find((f) => f.hits(e)) : undefined;
      response.body = { exceptionId: filter?.label ?? e?.name ?? 'dmascope', description: e ? describeHit(e, rt.trace) : '', breakMode: 'always' };
      this.sendResponse(response);
    });
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.runtime?.removeAllListeners();
    this.runtime = undefined;
    this.sendResponse(response);
  }
}
