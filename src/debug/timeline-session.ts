// What the debugger's two DAP sessions share (a scenario: session.ts, a
// kernel capture: capture-session.ts): the runtime and its events, the
// moves (continue, steps, reverse, restart, goToEvent), the position event,
// Variables paging and the custom request names. Each session keeps its
// launch, breakpoint kinds, stack, scopes, evaluate, whereFrom and inspect.
// No vscode here.

import * as path from 'node:path';
import { LoggingDebugSession, OutputEvent, Source, StoppedEvent, TerminatedEvent, Thread } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { LineBreakpointRequest, StopEvent, TimelineRuntime } from './timeline-runtime';
import { InspectViewStreams } from './inspect-streams';
import { PAGE, VariableStore } from './variables';

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

/** The one thread: the scenario or the capture. */
export const THREAD_ID = 1;

/** The error codes of a session's shared requests (each session has its own range). */
export interface SessionErrorCodes {
  /** A request before a launch succeeded. */
  noRuntime: number;
  /** A request that threw. */
  failed: number;
  /** goToEvent with no target, or no event of the kind asked for. */
  goToEvent: number;
}

/** A trace breakpoint (exception filter) as the client set it, its condition still text. */
export interface TraceFilterRequest {
  filter: string;
  condition: string | undefined;
}

export abstract class TimelineDebugSession<R extends TimelineRuntime> extends LoggingDebugSession {
  protected runtime: R | undefined;
  /** The absolute path of the scenario or capture. */
  protected program = '';
  protected readonly vars = new VariableStore();
  /** The machine views last sent on each 'dmascope/inspect' stream (the next answer on it is a patch). */
  protected readonly viewStreams = new InspectViewStreams();
  /** Requests that come before the runtime exists wait for this (a capture is read asynchronously); undefined: they are answered at once. */
  protected ready: Promise<void> | undefined;
  private configured: (() => void) | undefined;
  private readonly configurationDone = new Promise<void>((resolve) => (this.configured = resolve));

  constructor(private readonly kind: 'scenario' | 'capture', private readonly codes: SessionErrorCodes) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  /** Writes to the Debug Console what the run passed since the last stop, up to `event` (going forwards). */
  protected abstract echo(event: number): void;
  /** The goToEvent answer when there is no event of `kind` to go to. */
  protected abstract noEventOfKind(kind: string): string;
  protected abstract whereFrom(response: DebugProtocol.Response, args: Record<string, unknown>): void;
  protected abstract inspect(response: DebugProtocol.Response, args: Record<string, unknown>): void;
  /** A restart is under way (before the runtime starts again). */
  protected restarting(): void {}

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.configured?.();
    this.sendResponse(response);
  }

  /** The runtime of a launch: its stops, end and logpoint output become DAP events. */
  protected attach(rt: R): void {
    this.runtime = rt;
    rt.on('stop', (s: StopEvent) => this.stopped(s));
    rt.on('end', () => this.sendEvent(new TerminatedEvent()));
    rt.on('output', (text: string, line: number) => this.console(text, line));
  }

  /** Breakpoints arrive between initialized and configurationDone; then the run starts, or without debugging, `report` is printed and the session ends. */
  protected async startAfterConfiguration(rt: R, args: { noDebug?: boolean; stopOnEntry?: boolean }, report: () => string): Promise<void> {
    await this.configurationDone;
    if (args.noDebug) {
      this.console(report());
      this.sendEvent(new TerminatedEvent());
      return;
    }
    rt.start(args.stopOnEntry === true);
  }

  protected source(): Source {
    return new Source(path.basename(this.program), this.program);
  }

  /** A Debug Console line, at its line of the program when given. */
  protected console(text: string, line?: number): void {
    const e = new OutputEvent(text, 'console') as DebugProtocol.OutputEvent;
    if (line !== undefined) {
      e.body.source = this.source();
      e.body.line = line;
    }
    this.sendEvent(e);
  }

  private stopped(s: StopEvent): void {
    this.vars.clear();
    this.echo(s.event);
    const e = new StoppedEvent(s.reason, THREAD_ID, s.text) as DebugProtocol.StoppedEvent;
    if (s.text) e.body.description = s.text;
    this.sendEvent(e);
    this.sendPosition();
  }

  /** Where the debugger is now, for the status bar and the panels (after a stop, and after a memory edit changed the state here). */
  protected sendPosition(): void {
    const rt = this.runtime;
    if (!rt) return;
    // The total is -1 while a scenario has not run to its end (it runs forward on demand).
    this.sendEvent({ seq: 0, type: 'event', event: POSITION_EVENT, body: { event: rt.position, total: rt.knownTotal ?? -1, backwards: rt.backwards, line: rt.lineAt(rt.position) } } as DebugProtocol.Event);
  }

  /** Runs body with the runtime (once it is ready); a throw becomes an error response. */
  protected withRuntime<T extends DebugProtocol.Response>(response: T, body: (rt: R) => void): void {
    const run = (): void => {
      const rt = this.runtime;
      if (!rt) return this.sendErrorResponse(response, this.codes.noRuntime, `no ${this.kind} is being debugged`);
      try {
        body(rt);
      } catch (e) {
        this.sendErrorResponse(response, this.codes.failed, `dmascope: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    if (this.ready) void this.ready.then(run);
    else run();
  }

  /** The line breakpoints asked for (at lines from 1), as the runtimes take them. */
  protected lineBreakpointsOf(args: DebugProtocol.SetBreakpointsArguments): LineBreakpointRequest[] {
    return (args.breakpoints ?? []).filter((b) => Number.isInteger(b.line) && b.line > 0).map((b) => ({ line: b.line, condition: b.condition, hitCondition: b.hitCondition, logMessage: b.logMessage }));
  }

  /** The trace breakpoints asked for: plain filters, then those with options (a condition). */
  protected traceFiltersOf(args: DebugProtocol.SetExceptionBreakpointsArguments): TraceFilterRequest[] {
    const plain = Array.isArray(args.filters) ? args.filters.filter((f): f is string => typeof f === 'string').map((filter) => ({ filter, condition: undefined })) : [];
    const withOptions = Array.isArray(args.filterOptions) ? args.filterOptions.map((o) => ({ filter: String(o.filterId), condition: typeof o.condition === 'string' ? o.condition : undefined })) : [];
    return [...plain, ...withOptions];
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: [new Thread(THREAD_ID, this.kind)] };
    this.sendResponse(response);
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
    this.move(response, (rt) => rt.reverseContinue());
  }

  protected override nextRequest(response: DebugProtocol.NextResponse): void {
    this.move(response, (rt) => rt.next());
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse): void {
    this.move(response, (rt) => rt.stepIn());
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.move(response, (rt) => rt.stepOut());
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse): void {
    this.move(response, (rt) => rt.stepBack());
  }

  protected override restartRequest(response: DebugProtocol.RestartResponse): void {
    this.move(response, (rt) => {
      this.restarting();
      rt.start(true);
    });
  }

  /** Answers the request, then moves (the stop event follows the response). */
  private move(response: DebugProtocol.Response, how: (rt: R) => void): void {
    this.withRuntime(response, (rt) => {
      this.sendResponse(response);
      how(rt);
    });
  }

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    // A fresh object: a handler may fill in what the client left out.
    const a: Record<string, unknown> = typeof args === 'object' && args !== null && !Array.isArray(args) ? { ...(args as Record<string, unknown>) } : {};
    if (command === GO_TO_EVENT_REQUEST) return this.goToEvent(response, a);
    if (command === WHERE_FROM_REQUEST) return this.whereFrom(response, a);
    if (command === INSPECT_REQUEST) return this.inspect(response, a);
    super.customRequest(command, response, args);
  }

  /** dmascope/goToEvent: { event: N }, { percent: P } of the whole run, or { kind: NAME }, the next event of that name. */
  private goToEvent(response: DebugProtocol.Response, a: Record<string, unknown>): void {
    this.withRuntime(response, (rt) => {
      const k = typeof a.event === 'number' && Number.isFinite(a.event) ? a.event
        : typeof a.percent === 'number' && Number.isFinite(a.percent) ? (a.percent / 100) * (rt.complete() - 1)
        : typeof a.kind === 'string' ? rt.nextOfKind(a.kind) ?? NaN : NaN;
      if (Number.isNaN(k)) return this.sendErrorResponse(response, this.codes.goToEvent, typeof a.kind === 'string' ? this.noEventOfKind(a.kind) : 'goToEvent needs { event: N }, { percent: P } or { kind: NAME }');
      this.sendResponse(response);
      rt.goTo(k);
    });
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.runtime?.removeAllListeners();
    this.runtime = undefined;
    this.sendResponse(response);
  }
}
