// The Debug Adapter Protocol session for a kernel capture (a launch whose
// `program` is a dmesg / journal / ftrace / trace-cmd file): each step is
// one captured record, highlighted at its line of the capture; breakpoints
// on capture lines, on tracepoints, finding kinds and devices; the trace
// breakpoints stop on the captured findings; Variables show the replayed
// state per device (the moves and events themselves: TimelineDebugSession).
// DmascopeDebugSession hands a capture launch and every request after it to
// this session. No vscode here.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ProgressEndEvent, ProgressStartEvent, ProgressUpdateEvent, Scope, StackFrame } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { CaptureImporter } from '../traceimport/importer';
import { importCaptureFile } from '../traceimport/import-stream';
import { looksLikeCapture } from '../traceimport/problems';
import { describeFinding, formatImportReport } from '../traceimport/report';
import { FORMAT_CHOICES, type FormatChoice, type ImportResult } from '../traceimport/types';
import { parseInspectArguments, type InspectPosition } from '../protocol';
import { TRACE_FILTERS } from './breakpoints';
import { CAPTURE_FILTERS, conditionHolds, filterHits, fieldsLine, parseCaptureCondition, recordField } from './capture-breakpoints';
import { CaptureRuntime } from './capture-runtime';
import { captureMachineView, devicesShown, findingsShown, iommuSpacesShown, recordShown } from './capture-views';
import { TimelineDebugSession } from './timeline-session';
import type { Shown } from './variables';

/** File names that are captures whatever their first lines say. */
const CAPTURE_EXTENSIONS = new Set(['.dmesg', '.ftrace', '.trace', '.journal']);
/** Bytes of a file read to tell a capture by its first lines. */
const SNIFF_BYTES = 16 * 1024;

/** Launch arguments of a capture (package.json contributes.debuggers). */
export interface CaptureLaunchArguments extends DebugProtocol.LaunchRequestArguments {
  program: string;
  stopOnEntry?: boolean;
  /** Read the capture as this format only (default auto). */
  format?: string;
}

/**
 * Is `program` a kernel capture rather than a scenario? By its extension
 * (.dmesg, .ftrace, .trace, .journal), else by its first lines (.log, .txt or
 * any other name but .dmas); `capture: true` in the launch says so outright.
 */
export function isCaptureProgram(program: unknown, forced?: unknown): boolean {
  if (typeof program !== 'string' || program === '') return false;
  if (forced === true) return true;
  const ext = path.extname(program).toLowerCase();
  if (ext === '.dmas') return false;
  if (CAPTURE_EXTENSIONS.has(ext)) return true;
  let fd: number | undefined;
  try {
    fd = openSync(program, 'r');
    const buf = Buffer.alloc(SNIFF_BYTES);
    const n = readSync(fd, buf, 0, SNIFF_BYTES, 0);
    if (buf.subarray(0, n).includes(0)) return false;
    const lines = buf.subarray(0, n).toString('utf8').split(/\r?\n/).slice(0, 40);
    // Captures copied from mail or a bug report often start with notes: look past comment lines.
    if (looksLikeCapture(lines.filter((l) => !/^#\s(?!tracer:)/.test(l) && l.trim() !== '').slice(0, 20))) return true;
    // Else the readers decide: DMA/IOMMU events or kernel findings make up a good share of the first lines
    // (a document that quotes one log line is not a capture).
    const importer = new CaptureImporter({ keepEvents: false });
    for (const l of lines.slice(0, -1)) importer.push(l);
    importer.end();
    const a = importer.result().accounting;
    return a.event + a.finding > 0 && (a.event + a.finding + a.part) * 4 >= a.event + a.finding + a.part + a.unknown + a.malformed;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export class CaptureDebugSession extends TimelineDebugSession<CaptureRuntime> {
  private markReady: (() => void) | undefined;
  /** Stops reading the capture when the session ends before the import does. */
  private readonly reading = new AbortController();
  /** Findings written to the Debug Console up to this record. */
  private echoedUpTo = -1;

  constructor() {
    super('capture', { noRuntime: 3110, failed: 3111, goToEvent: 3120 });
    // Requests that come while the capture is still being read wait for it.
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve));
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: CaptureLaunchArguments): Promise<void> {
    // Requests waiting for the capture get their answer (an error) when the launch fails.
    const fail = (code: number, message: string): void => {
      this.markReady?.();
      this.sendErrorResponse(response, code, message);
    };
    const format = args.format === undefined ? 'auto' : args.format;
    if (!FORMAT_CHOICES.includes(format as FormatChoice)) return fail(3101, `launch: "format" must be one of ${FORMAT_CHOICES.join(', ')}`);
    this.program = path.resolve(args.program);
    let result: ImportResult;
    // A long capture shows its reading in the client's progress; stopping the session stops the reading.
    const progressId = `dmascope-import-${path.basename(this.program)}`;
    let size = 0;
    try {
      size = statSync(this.program).size;
    } catch {
      size = 0;
    }
    this.sendEvent(new ProgressStartEvent(progressId, `dmascope: reading ${path.basename(this.program)}`));
    try {
      result = await importCaptureFile(this.program, {
        format: format as FormatChoice,
        keepEvents: true,
        signal: this.reading.signal,
        onProgress: (bytes, lines) => {
          const e = new ProgressUpdateEvent(progressId, `${lines.toLocaleString('en')} lines`) as DebugProtocol.ProgressUpdateEvent;
          if (size > 0) e.body.percentage = Math.min(100, Math.round((bytes / size) * 100));
          this.sendEvent(e);
        },
      });
    } catch (e) {
      return fail(3102, e instanceof Error && e.name === 'AbortError' ? `reading ${args.program} stopped` : `cannot read ${args.program}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.sendEvent(new ProgressEndEvent(progressId));
    }
    const rt = new CaptureRuntime(result);
    if (rt.length === 0) {
      return fail(3103, `${path.basename(this.program)}: no DMA or IOMMU event or finding to step through (${result.lines} lines, ${result.unknown.count} unknown${result.error ? `; ${result.error.message}` : ''})`);
    }
    this.attach(rt);
    this.markReady?.();
    this.sendResponse(response);
    const report = formatImportReport(result, path.basename(this.program));
    const summary = report.trimEnd().split('\n').pop() ?? '';
    this.console(`${summary}; ${rt.length} records to step through\n`);
    if (result.error !== undefined) this.console(`dmascope: ${result.error.message}\n`, result.error.line);
    await this.startAfterConfiguration(rt, args, () => report);
  }

  /** The findings of the records passed since the last stop (going forwards), in the Debug Console at their lines. */
  protected echo(to: number): void {
    const rt = this.runtime;
    if (!rt || to <= this.echoedUpTo) return;
    for (let k = this.echoedUpTo + 1; k <= to; k++) {
      const r = rt.record(k);
      if (r === undefined || r.repeatOf !== undefined) continue;
      for (const f of r.findings) if (f.kind !== 'leak' || k === rt.length - 1) this.console(`${typeof f.severity === 'string' ? `${f.severity}: ` : ''}${describeFinding(f)}\n`, f.line);
    }
    this.echoedUpTo = to;
  }

  /** A restart steps through the records again: their findings are echoed again. */
  protected override restarting(): void {
    this.echoedUpTo = -1;
  }

  // ---- breakpoints --------------------------------------------------------------

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    this.withRuntime(response, (rt) => {
      const requested = this.lineBreakpointsOf(args);
      const samePath = typeof args.source.path === 'string' && path.resolve(args.source.path) === this.program;
      if (!samePath) {
        response.body = { breakpoints: requested.map((b) => ({ verified: false, line: b.line, message: `only lines of ${path.basename(this.program)} stop this capture` })) };
        return this.sendResponse(response);
      }
      const set = rt.setLineBreakpoints(requested);
      response.body = {
        breakpoints: set.map((r, i) => ('line' in r ? { verified: true, line: r.line, source: this.source() } : { verified: false, line: requested[i].line, message: r.message })),
      };
      this.sendResponse(response);
    });
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    this.withRuntime(response, (rt) => {
      const all = this.traceFiltersOf(args);
      const errors = rt.setTraceFilters(all);
      response.body = {
        breakpoints: all.map((f, i) => {
          if (errors[i] !== undefined) return { verified: false, message: errors[i] };
          if (!CAPTURE_FILTERS.includes(f.filter)) return { verified: false, message: `${TRACE_FILTERS.find((t) => t.filter === f.filter)?.label ?? f.filter} does not occur in a kernel capture` };
          return { verified: true };
        }),
      };
      for (const [i, f] of all.entries()) if (errors[i] !== undefined) this.console(`dmascope: trace breakpoint ${f.filter}: ${errors[i] ?? ''}\n`);
      this.sendResponse(response);
    });
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.withRuntime(response, (rt) => {
      const bps = (args.breakpoints ?? []).map((b) => ({ name: String(b.name).trim(), condition: typeof b.condition === 'string' ? b.condition : undefined })).filter((b) => b.name !== '');
      const errors = rt.setNamedBreakpoints(bps);
      response.body = { breakpoints: errors.map((m) => (m === undefined ? { verified: true } : { verified: false, message: m })) };
      this.sendResponse(response);
    });
  }

  // ---- threads, stack, scopes, variables --------------------------------------

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse): void {
    this.withRuntime(response, (rt) => {
      const r = rt.record();
      if (r === undefined) {
        response.body = { stackFrames: [], totalFrames: 0 };
        return this.sendResponse(response);
      }
      // The record's first line only: with an end line VS Code selects the range, and the next key typed would replace it.
      const frame = new StackFrame(r.index, `${r.name}${r.device ? ` ${r.device}` : ''}  ${fieldsLine(r)}`.trim(), this.source(), r.line, 1);
      response.body = { stackFrames: [frame], totalFrames: 1 };
      this.sendResponse(response);
    });
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse): void {
    this.withRuntime(response, (rt) => {
      const r = rt.record();
      const state = rt.timeline.stateAt(rt.position);
      const devices = devicesShown(state);
      const spaces = iommuSpacesShown(state);
      const findings = findingsShown(rt.timeline, rt.position);
      const capture: Shown = {
        file: this.program, format: rt.result.format, lines: rt.result.lines, records: rt.length, position: rt.position + 1,
        unknown_lines: rt.result.unknown.count, malformed_lines: rt.result.malformed.length, ...(rt.result.error ? { error: rt.result.error.message } : {}),
      };
      // Devices first: VS Code expands the first scope, and the replayed state is what a capture adds to its text.
      // Scope names never change from stop to stop: VS Code keeps a row expanded across steps by its scope's name.
      const scopes: DebugProtocol.Scope[] = [
        new Scope('Devices', this.vars.add(devices), false),
        new Scope('Record', this.vars.add(r ? recordShown(r) : {}), false),
      ];
      if (Object.keys(spaces).length > 0) scopes.push(new Scope('IOMMU map/unmap', this.vars.add(spaces), false));
      scopes.push(new Scope('Findings so far', this.vars.add(findings), false));
      scopes.push(new Scope('Capture', this.vars.add(capture), true));
      response.body = { scopes };
      this.sendResponse(response);
    });
  }

  // ---- custom requests ----------------------------------------------------------

  protected noEventOfKind(kind: string): string {
    return `no ${kind} in this capture`;
  }

  protected whereFrom(response: DebugProtocol.Response, a: Record<string, unknown>): void {
    this.withRuntime(response, (rt) => {
      const text = typeof a.address === 'string' ? a.address.trim() : '';
      if (!/^0x[0-9a-f]{1,16}$/i.test(text)) return this.sendErrorResponse(response, 3121, 'whereFrom needs { address: "0x..." }');
      if (!rt.whereFrom(BigInt(text))) return this.sendErrorResponse(response, 3122, `no map of ${text} at or before this line of the capture`);
      this.sendResponse(response);
    });
  }

  /** 'dmascope/inspect' for the panels: the IOVA map's machine view of the replayed state; walks and bounce buffers need a scenario. */
  protected inspect(response: DebugProtocol.Response, a: Record<string, unknown>): void {
    this.withRuntime(response, (rt) => {
      const asked = a.event;
      if (asked !== undefined && !(Number.isSafeInteger(asked) && (asked as number) >= -1 && (asked as number) < rt.length)) {
        return this.sendErrorResponse(response, 3130, `dmascope/inspect: event must be an integer from -1 to ${rt.length - 1} (the capture's records)`);
      }
      if (a.kind === 'walk' || a.kind === 'bounce') {
        return this.sendErrorResponse(response, 3131, `dmascope/inspect: a kernel capture has no ${a.kind === 'walk' ? 'page tables to walk' : 'bounce buffer contents'}; convert it to a scenario (dmascope: Convert capture to scenario) to see them`);
      }
      const parsed = parseInspectArguments(a);
      if (!parsed.ok) return this.sendErrorResponse(response, 3132, `dmascope/inspect: ${parsed.error}`);
      const event = asked === undefined ? rt.position : (asked as number);
      const machine = captureMachineView(rt.timeline.stateAt(event));
      const previous = a.withPrevious === true ? captureMachineView(rt.timeline.stateAt(event - 1)) : null;
      const domains = Array.isArray(a.domains) ? a.domains.filter((d): d is string => typeof d === 'string') : undefined;
      const only = (m: typeof machine): typeof machine => (domains ? { ...m, domains: m.domains.filter((d) => domains.includes(d.label)) } : m);
      const around: { event: number; line: number }[] = [];
      for (let j = Math.max(0, event - 3); j <= Math.min(rt.length - 1, event + 3); j++) around.push({ event: j, line: rt.timeline.records[j].line });
      const position: InspectPosition = { event, total: rt.length, line: rt.record(event)?.line ?? 0, backwards: event === rt.position && rt.backwards, statements: around };
      const answer = this.viewStreams.encode({ event, machine: only(machine), previous: previous ? only(previous) : null }, parsed.message.stream, parsed.message.have);
      response.body = { ...answer, position };
      this.sendResponse(response);
    });
  }

  // ---- evaluate, exceptions ----------------------------------------------------

  /**
   * The Debug Console and hovers: a field of the record (`device`, `addr`),
   * a condition (`device == "0000:c2:00.0" && size > 4096`), a device's
   * replayed state by name, or a DMA address: which mapping holds it now.
   */
  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    this.withRuntime(response, (rt) => {
      const expr = String(args.expression ?? '').trim();
      const r = rt.record();
      const state = rt.timeline.stateAt(rt.position);
      let shown: Shown;
      let text: string;
      const devices = devicesShown(state);
      const hexAddr = /^(?:0x)?([0-9a-f]{5,16})$/i.exec(expr);
      if (devices[expr] !== undefined) {
        shown = devices[expr];
        text = String((shown as { label?: string }).label ?? expr);
      } else if (hexAddr && (expr.startsWith('0x') || args.context === 'hover')) {
        const where = this.whereIs(rt, BigInt(`0x${hexAddr[1]}`));
        shown = where.detail;
        text = where.text;
      } else if (/^[A-Za-z_][\w.]*$/.test(expr) && r !== undefined) {
        const values = recordField(r, expr);
        if (values.length === 0) {
          if (args.context === 'hover') return this.sendErrorResponse(response, 3140, `no ${expr} here`);
          return this.sendErrorResponse(response, 3140, `line ${r.line} has no field ${expr} (it has: ${Object.keys(recordShown(r)).join(', ')})`);
        }
        shown = values.length === 1 ? (values[0] as Shown) : (values as Shown[]);
        text = values.map((v) => (Array.isArray(v) ? `{${v.join(',')}}` : String(v))).join(', ');
      } else {
        const cond = parseCaptureCondition(expr);
        if (typeof cond === 'string' || r === undefined) return this.sendErrorResponse(response, 3141, typeof cond === 'string' ? cond : 'no record here');
        text = String(conditionHolds(cond, r));
        shown = text;
      }
      const item = this.vars.variable(expr, shown);
      response.body = { result: text, variablesReference: item.variablesReference };
      this.sendResponse(response);
    });
  }

  /** Which live mapping holds `addr` at the position (every device and IOVA space), or which unmapped range did last. */
  private whereIs(rt: CaptureRuntime, addr: bigint): { text: string; detail: Shown } {
    const state = rt.timeline.stateAt(rt.position);
    const hex = `0x${addr.toString(16)}`;
    const spaces = [...[...state.devices.entries()].map(([n, d]) => [n, d] as const), ...[...state.iommu.entries()].map(([n, sp]) => [`iommu:${n}`, sp.state] as const)];
    for (const [name, d] of spaces) {
      const m = d.containing(addr, addr + 1n);
      if (m) return { text: `${hex}: live on ${name}: ${m.event} ${m.addr}+0x${m.size.toString(16)}${m.dir ? ` ${m.dir}` : ''} mapped at line ${m.line}`, detail: { space: name, iova: m.addr, size: m.size, ...(m.dir ? { dir: m.dir } : {}), event: m.event, line: m.line } };
    }
    for (const [name, d] of spaces) {
      const u = d.unmappedAt(addr);
      if (u) return { text: `${hex}: not mapped; on ${name} it was mapped at line ${u.mapLine} and unmapped at line ${u.unmapLine}`, detail: { space: name, mapped_line: u.mapLine, unmapped_line: u.unmapLine, event: u.event } };
    }
    return { text: `${hex}: no mapping of the capture holds it here`, detail: hex };
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    this.withRuntime(response, (rt) => {
      const r = rt.record();
      const filter = r ? CAPTURE_FILTERS.find((f) => filterHits(f, r)) : undefined;
      const hit = r && filter ? filterHits(filter, r) : undefined;
      const label = TRACE_FILTERS.find((t) => t.filter === filter)?.label ?? r?.name ?? 'dmascope';
      response.body = {
        exceptionId: label,
        description: r === undefined ? '' : hit === 'event' || hit === undefined ? `${r.name} ${fieldsLine(r)}` : r.findings.map((f) => describeFinding(f)).join(' — '),
        breakMode: 'always',
        details: r ? { message: r.findings.map((f) => (typeof f.message === 'string' ? f.message : describeFinding(f))).join('\n'), typeName: r.name } : undefined,
      };
      this.sendResponse(response);
    });
  }

  // A capture records addresses, not the bytes behind them: nothing to watch or read.
  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse): void {
    response.body = { dataId: null, description: 'a kernel capture has addresses but no memory contents to watch; use a condition such as addr in 0x...0x... on a breakpoint' };
    this.sendResponse(response);
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    response.body = { breakpoints: (args.breakpoints ?? []).map(() => ({ verified: false, message: 'a kernel capture has no memory contents to watch' })) };
    this.sendResponse(response);
  }

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse): void {
    this.sendErrorResponse(response, 3150, 'a kernel capture has no memory contents: convert it to a scenario (dmascope: Convert capture to scenario) to see bytes');
  }

  protected override writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse): void {
    this.sendErrorResponse(response, 3151, 'a kernel capture has no memory contents to change');
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.reading.abort();
    super.disconnectRequest(response);
  }
}
