// The Debug Adapter Protocol session of a scenario: DAP requests become
// DebugRuntime moves, runtime stops become DAP events (the moves and events
// themselves: TimelineDebugSession). DmascopeDebugSession
// (dmascope-session.ts) is this session, handing a kernel capture's launch
// to CaptureDebugSession instead. No vscode here.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { InitializedEvent, InvalidatedEvent, Scope, StackFrame } from '@vscode/debugadapter';
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
import { DebugRuntime } from './runtime';
import { THREAD_ID, TimelineDebugSession } from './timeline-session';
import { memoryReferenceOf, parseMemoryReference, type Shown } from './variables';

export { GO_TO_EVENT_REQUEST, INSPECT_REQUEST, POSITION_EVENT, WHERE_FROM_REQUEST } from './timeline-session';

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

/** Bytes one readMemory answers at most. */
const MAX_READ = 1 << 20;

function fieldsText(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'bigint' ? `0x${v.toString(16)}` : typeof v === 'string' ? v : String(v)}`)
    .join(', ');
}

export class ScenarioDebugSession extends TimelineDebugSession<DebugRuntime> {
  constructor() {
    super('scenario', { noRuntime: 3010, failed: 3011, goToEvent: 3020 });
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
    this.attach(rt);
    this.sendResponse(response);
    await this.startAfterConfiguration(rt, args, () => `${this.report()}\n`);
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
  protected echo(to: number): void {
    const rt = this.runtime;
    if (!rt || to <= this.loggedUpTo) return;
    for (const l of rt.trace.log) {
      if (l.seq <= this.loggedUpTo || l.seq > to) continue;
      // The event that printed the line is the last one recorded before it.
      const link = this.eventLinks ? `  ${eventLink(this.eventLinks, Math.max(0, l.seq - 1))}` : '';
      this.console(`${l.text}${link}\n`, l.line);
    }
    this.loggedUpTo = to;
  }

  /** A restart runs the scenario again from its start: its kernel log is written again as it moves. */
  protected override restarting(): void {
    this.loggedUpTo = -1;
  }

  // ---- breakpoints --------------------------------------------------------------

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    this.withRuntime(response, (rt) => {
      const requested = this.lineBreakpointsOf(args);
      const lines = rt.setLineBreakpoints(requested);
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
      const parsed = this.traceFiltersOf(args).map((f) => ({ filter: f.filter, condition: f.condition ? parseTraceCondition(f.condition) : {} }));
      const bad = parsed.find((p) => typeof p.condition === 'string');
      rt.setTraceFilters(parsed.filter((p): p is { filter: string; condition: TraceCondition } => typeof p.condition !== 'string'));
      response.body = { breakpoints: parsed.map((p) => (typeof p.condition === 'string' ? { verified: false, message: p.condition } : { verified: true })) };
      if (bad) this.console(`dmascope: trace breakpoint ${bad.filter}: ${String(bad.condition)}\n`);
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
          // Not "Event N": VS Code keeps a row expanded across steps by its scope's name (the status bar has N).
          new Scope('Event', this.vars.add(event, []), false),
          new Scope('Machine', this.vars.add(machine, []), true),
        ],
      };
      this.sendResponse(response);
    });
  }

  // ---- custom requests ----------------------------------------------------------

  protected noEventOfKind(kind: string): string {
    return `no ${kind} event after this point`;
  }

  protected inspect(response: DebugProtocol.Response, a: Record<string, unknown>): void {
    this.withRuntime(response, (rt) => {
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
      const answer = answerInspectRequest(m, a, event, previous, this.viewStreams);
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

  protected whereFrom(response: DebugProtocol.Response, a: Record<string, unknown>): void {
    this.withRuntime(response, (rt) => {
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

}
