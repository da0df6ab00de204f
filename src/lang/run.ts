// The language's entry points: check a scenario (diagnostics only) and run
// it, producing the run result every consumer reads (LANGUAGE.md section 7).

import type { Fields } from '../engine/trace/recorder';
import { hex } from '../engine/u64';
import { Interpreter, type InterpreterHooks } from './interp/interpreter';
import { toJson } from './interp/values';
import { parse } from './parser';
import type { Diagnostic, JsonValue, RunResult } from './run-result';

function checkDiagnostics(source: string): { diagnostics: Diagnostic[]; program: ReturnType<typeof parse>['program'] } {
  const r = parse(source);
  return { diagnostics: r.diagnostics, program: r.program };
}

export function checkScenario(source: string): Diagnostic[] {
  return checkDiagnostics(source).diagnostics;
}

function fieldsJson(fields: Fields): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'bigint' ? hex(v) : v;
  return out;
}

export interface RunOptions {
  hooks?: InterpreterHooks;
  /** Leave internal (depth > 0) trace events out of the result. */
  apiEventsOnly?: boolean;
}

/** Parse, check and, when there are no errors, run a scenario. */
export function runScenario(source: string, _fileName: string, opts: RunOptions = {}): RunResult {
  const { diagnostics, program } = checkDiagnostics(source);
  const empty: RunResult = { ok: false, diagnostics, expectations: [], checks: [], faults: [], values: {}, events: [], log: [], statements: [] };
  if (diagnostics.some((d) => d.severity === 'error')) return empty;
  const interp = new Interpreter(source, opts.hooks);
  interp.run(program);
  return buildResult(interp, diagnostics, opts);
}

export function buildResult(interp: Interpreter, diagnostics: Diagnostic[], opts: RunOptions = {}): RunResult {
  const m = interp.m;
  const trace = m.trace;
  const checks = trace.checks.map((c, i) => ({
    line: c.line, id: c.id, severity: c.severity, message: c.message, expected: interp.consumedChecks.has(i), ...(c.relatedLine !== undefined ? { relatedLine: c.relatedLine } : {}),
  }));
  const faults = trace.faults.map((f, i) => ({ line: f.line, device: f.device, addr: hex(f.addr), access: f.access, pasid: f.pasid, reason: f.reason, expected: interp.consumedFaults.has(i) }));
  const allDiagnostics = [...diagnostics, ...interp.diagnostics];
  const values: Record<string, JsonValue> = {};
  for (const [k, v] of interp.vars) values[k] = toJson(v);
  const events = (opts.apiEventsOnly ? trace.events.filter((e) => e.depth === 0) : trace.events).map((e) => ({ seq: e.seq, line: e.line, name: e.name, fields: fieldsJson(e.fields), depth: e.depth }));
  const ok =
    !allDiagnostics.some((d) => d.severity === 'error') &&
    interp.expectations.every((e) => e.passed) &&
    !checks.some((c) => c.severity === 'error' && !c.expected) &&
    !faults.some((f) => !f.expected);
  const log = [...trace.log.map((l) => ({ line: l.line, text: l.text })), ...interp.prints.map((p) => ({ line: p.line, text: `print: ${p.text}` }))];
  return { ok, diagnostics: allDiagnostics, expectations: interp.expectations, checks, faults, values, events, log, statements: interp.statements };
}
