// The language's entry points: check a scenario (diagnostics only) and run
// it, producing the run result every consumer reads (docs/run-output.md).

import type { Program } from './ast';
import { parseAndCheck } from './frontend';
import type { RunOptions } from './run-result-build';
import type { Diagnostic, RunResult } from './run-result';
import type { RunBudget, RunProgress } from './interp/run-budget';
import { ScenarioTimeline } from './timeline';

export { buildResult, type RunOptions } from './run-result-build';

function checkDiagnostics(source: string): { diagnostics: Diagnostic[]; program: Program } {
  const r = parseAndCheck(source);
  return { diagnostics: r.diagnostics, program: r.program };
}

export function checkScenario(source: string): Diagnostic[] {
  return checkDiagnostics(source).diagnostics;
}

/**
 * Parse, check and, when there are no errors, run a scenario. Every consumer
 * (CLI, editor, debugger) runs through ScenarioTimeline, so they all get the
 * same run; here it keeps only its first snapshot (no replay is asked for).
 */
export function runScenario(source: string, _fileName: string, opts: RunOptions & { budget?: RunBudget; onProgress?: (p: RunProgress) => void } = {}): RunResult {
  const { diagnostics, program } = checkDiagnostics(source);
  const empty: RunResult = { ok: false, diagnostics, expectations: [], checks: [], faults: [], values: {}, events: [], log: [], statements: [] };
  if (diagnostics.some((d) => d.severity === 'error')) return empty;
  const tl = new ScenarioTimeline(source, Number.POSITIVE_INFINITY, { program, diagnostics, editorInfo: opts.editorInfo, budget: opts.budget, onProgress: opts.onProgress });
  return tl.resultWith(opts);
}

