// The run result (run-result.ts) built from an interpreter after its run:
// one function, so runScenario, the timeline and the debugger build it alike.

import type { Fields } from '../engine/trace/recorder';
import { hex } from '../engine/u64';
import { findingOrigin } from '../engine/finding-origin';
import type { Interpreter } from './interp/interpreter';
import { machineSummary } from './interp/call-log';
import { toJson } from './interp/values';
import type { Diagnostic, JsonValue, RunResult, StatementResult } from './run-result';

function fieldsJson(fields: Fields): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'bigint' ? hex(v) : v;
  return out;
}

export interface RunOptions {
  /** Which trace events the result carries: all (the --json output), only API calls (depth 0), or none (a human report needs none). */
  events?: 'all' | 'api' | 'none';
  /**
   * Also fill the editor fields of the result (`calls`, `walks`, `machine`:
   * inlay hints, hovers, code lenses). Off by default: they cost run time and
   * the CLI does not print them.
   */
  editorInfo?: boolean;
}

export function buildResult(interp: Interpreter, diagnostics: Diagnostic[], opts: RunOptions = {}): RunResult {
  const m = interp.m;
  const trace = m.trace;
  const checks = trace.checks.map((c, i) => ({
    line: c.line, id: c.id, severity: c.severity, origin: findingOrigin(c.id, c.message), message: c.message, expected: interp.consumedChecks.has(i), ...(c.relatedLine !== undefined ? { relatedLine: c.relatedLine } : {}),
  }));
  const faults = trace.faults.map((f, i) => ({ line: f.line, device: f.device, addr: hex(f.addr), access: f.access, pasid: f.pasid, reason: f.reason, expected: interp.consumedFaults.has(i) }));
  // A diagnostic a loop raised again and again is listed once, with how often it came again.
  const expectedDiagnostics = interp.expectedDiagnostics();
  const runDiagnostics = interp.diagnostics.filter((_, i) => !expectedDiagnostics.has(i)).map((d, i) => {
    const n = interp.diagnosticRepeats.get(i);
    if (n === undefined) return d;
    const again = n - 1 === 1 ? 'once' : `${(n - 1).toLocaleString('en-US')} times`;
    return { ...d, message: `${d.message} (repeated ${again})` };
  });
  const allDiagnostics = [...diagnostics, ...runDiagnostics];
  const values: Record<string, JsonValue> = {};
  for (const [k, v] of interp.vars) values[k] = toJson(v);
  const which = opts.events ?? 'all';
  // Built from the trace's columns, one object per event the result carries (API level: depth 0 only).
  const events: RunResult['events'] = [];
  // Events of one trace record share their fields object: converted once.
  const fieldsCache = new Map<Fields, Record<string, JsonValue>>();
  if (which !== 'none') {
    for (let i = 0, n = trace.length; i < n; i++) {
      if (which === 'api' && trace.depthAt(i) !== 0) continue;
      const e = trace.eventAt(i);
      let fields = fieldsCache.get(e.fields);
      if (fields === undefined) fieldsCache.set(e.fields, (fields = fieldsJson(e.fields)));
      events.push({ seq: e.seq, kind: e.kind, name: e.name, fields, line: e.line, column: e.column, depth: e.depth, match: e.match });
    }
  }
  const ok =
    !allDiagnostics.some((d) => d.severity === 'error') &&
    interp.expectations.every((e) => e.passed) &&
    !checks.some((c) => c.severity === 'error' && !c.expected) &&
    !faults.some((f) => !f.expected);
  const log = [...trace.log.map((l) => ({ line: l.line, text: l.text })), ...interp.prints.map((p) => ({ line: p.line, text: `print: ${p.text}` }))];
  // What each statement returned, as an array only when read (a million-iteration loop's is millions of entries; a report reads none).
  const statementLog = interp.statements;
  const statementCount = statementLog.length;
  let statements: StatementResult[] | undefined;
  const result: RunResult = {
    ok, diagnostics: allDiagnostics, expectations: interp.expectations, checks, faults, values, events, log,
    get statements(): StatementResult[] {
      return (statements ??= statementLog.toArray(statementCount));
    },
    set statements(list: StatementResult[]) {
      statements = list;
    },
    dmaDebug: { errorCount: m.debug.errorCount },
  };
  // Editor extras (optional fields, see run-result.ts): call-site values, walks, the machine at the end.
  if (interp.callLog !== null) {
    result.calls = interp.callLog.callSites();
    result.walks = interp.callLog.walkSites();
    result.machine = machineSummary(m);
  }
  return result;
}
