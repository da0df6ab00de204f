// Scenario expressions evaluated against a paused state (the Debug Console,
// hovers, breakpoint conditions and logpoints): on a copy of the state, so
// evaluating never changes the run, not even the IOTLB.

import { cloneState } from '../engine/snapshot';
import type { Interpreter } from '../lang/interp/interpreter';
import { numberStyle, renderPrinted } from '../lang/interp/number-style';
import type { Value } from '../lang/interp/values';
import { parse } from '../lang/parser';
import type { ScenarioTimeline } from '../lang/timeline';

const RESULT = '__dmascope_evaluate';

export interface Evaluation {
  ok: boolean;
  /** The value as `print` would show it, or why it could not be evaluated. */
  value: string;
  raw?: Value;
}

export function evaluateIn(_timeline: ScenarioTimeline, state: Interpreter, expr: string): Evaluation {
  const text = expr.trim();
  if (text === '' || text.includes('\n')) return { ok: false, value: 'give one expression on one line' };
  const parsed = parse(`${RESULT} = ${text}`);
  const stmt = parsed.program.body[0];
  if (parsed.diagnostics.length > 0 || parsed.program.body.length !== 1 || stmt?.kind !== 'assign') {
    return { ok: false, value: parsed.diagnostics[0]?.message ?? 'not an expression' };
  }
  const it = cloneState(state);
  it.hooks = {};
  const before = it.diagnostics.length;
  it.exec(stmt);
  if (it.diagnostics.length > before) return { ok: false, value: it.diagnostics[before].message };
  const v = it.vars.get(RESULT);
  if (v === undefined) return { ok: false, value: 'no value' };
  return { ok: true, value: renderPrinted(v, numberStyle(stmt.value, it.numberStyles)), raw: v };
}
