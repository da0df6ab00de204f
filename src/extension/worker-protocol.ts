// Messages between the extension host and the run worker (run-worker.ts).
// Plain data only: the run result crosses as a JSON string, which is cheaper
// to copy and parse than a structured clone of thousands of event objects.

import type { RunBudget } from '../lang/interp/run-budget';
import type { Diagnostic } from '../lang/run-result';
import type { RunSummary } from './run-diagnostics';

export type WorkerRequest =
  /** `key` (the document's URI) lets the worker re-check only what an edit changed since its last check of that key. */
  | { id: number; kind: 'check'; source: string; key?: string }
  | { id: number; kind: 'run'; source: string; fileName: string; kernelVersion: string; budget?: RunBudget };

export type WorkerResponse =
  | { id: number; kind: 'check'; diagnostics: Diagnostic[]; durationMs: number }
  | {
      id: number;
      kind: 'run';
      /** JSON of the RunResult. */
      resultJson: string;
      /** What checkScenario reports for the same source (the parse/check part of the result's diagnostics). */
      checkDiagnostics: Diagnostic[];
      /** False when the source has errors and was not run (the result then only holds them). */
      ran: boolean;
      /** The Run lens summary, counted on the whole result. */
      summary: RunSummary;
      /** Items left out of the result (run-trim.ts caps); 0 when whole. */
      omitted: number;
      /** The report, when items were left out (it then notes them and keeps the true counts). */
      reportText?: string;
      durationMs: number;
    }
  | { id: number; kind: 'error'; message: string; stack?: string }
  /** Where a long run stands (not an answer: the run's answer follows). */
  | { id: number; kind: 'progress'; line: number; statements: number; events: number; elapsedMs: number };

export type WorkerProgress = Extract<WorkerResponse, { kind: 'progress' }>;

export type WorkerJobKind = WorkerRequest['kind'];
