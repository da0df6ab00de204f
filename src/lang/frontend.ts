// The language front end in one call: parse, then check, then one sorted,
// capped list of diagnostics. What the CLI, the editor and the interpreter
// call before running anything.

import type { Program } from './ast';
import type { Diagnostic } from './run-result';
import { parse } from './parser';
import { check, type SymbolInfo } from './checker';
import { MAX_DIAGNOSTICS } from './tokens';

export interface FrontendResult {
  program: Program;
  diagnostics: Diagnostic[];
  /** Names the scenario defines, for hovers and go-to-definition. */
  symbols: SymbolInfo[];
}

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.line - b.line || a.column - b.column || a.endLine - b.endLine || a.endColumn - b.endColumn;
}

/** Parses and checks a scenario. Never throws; `diagnostics` is empty for a clean file. */
export function parseAndCheck(source: string): FrontendResult {
  const parsed = parse(source);
  const checked = check(parsed.program);
  // Sort is stable, so diagnostics at the same place keep parser-before-checker order.
  const all = [...parsed.diagnostics, ...checked.diagnostics].sort(byPosition);
  const capped = all.length > MAX_DIAGNOSTICS + 1 ? all.slice(0, MAX_DIAGNOSTICS) : all;
  if (capped.length < all.length) {
    const last = capped[capped.length - 1]!;
    capped.push({ ...last, severity: 'error', code: 'too-many-errors', message: `more than ${MAX_DIAGNOSTICS} problems; the rest are not shown` });
  }
  return { program: parsed.program, diagnostics: capped, symbols: checked.symbols };
}

/** True when the diagnostics stop a run (docs/run-output.md: exit code 2). */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
