// The run result of LANGUAGE.md section 7. One object feeds the CLI, the
// diagnostics, code lenses, the debugger and the panels.

import type { Severity } from '../engine/trace/recorder';

export interface Diagnostic {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  code: string;
  message: string;
  /** Another place that explains this one (the line that mapped the buffer). */
  related?: { line: number; message: string }[];
}

export interface ExpectationResult {
  line: number;
  passed: boolean;
  message: string;
}

export interface CheckResult {
  line: number;
  id: string;
  severity: Severity;
  message: string;
  /** Consumed by an `expect` that asked for it: listed, but does not fail the run. */
  expected: boolean;
  relatedLine?: number;
}

export interface FaultResult {
  line: number;
  device: string;
  addr: string;
  access: 'read' | 'write';
  pasid: number | null;
  reason: string;
  expected: boolean;
}

export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface EventResult {
  seq: number;
  line: number;
  name: string;
  fields: Record<string, JsonValue>;
  depth: number;
}

/** What a statement produced, for hovers, inlay hints and lenses. */
export interface StatementResult {
  line: number;
  /** Short rendering of the value the statement's call returned. */
  value?: string;
}

export interface RunResult {
  ok: boolean;
  diagnostics: Diagnostic[];
  expectations: ExpectationResult[];
  checks: CheckResult[];
  faults: FaultResult[];
  values: Record<string, JsonValue>;
  events: EventResult[];
  /** Kernel log lines (dmesg) the run printed, with their lines. */
  log: { line: number; text: string }[];
  statements: StatementResult[];
}

/** Exit codes of `dmascope run` (LANGUAGE.md section 7). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
