// Worker-thread entry (bundled as dist/run-worker.js): checks and runs
// scenarios so the extension host's thread stays free while a long scenario
// runs. It imports only the language (never vscode); one request at a time.

import { parentPort } from 'node:worker_threads';
import { checkScenario, runScenario } from '../lang/run';
import { IncrementalChecker } from '../lang/incremental';
import type { RunProgress } from '../lang/interp/run-budget';
import { summarizeRun } from './run-diagnostics';
import { trimResult, trimmedReport } from './run-trim';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

/** Incremental checkers of the documents this worker checked last, least recently used first. */
const checkers = new Map<string, IncrementalChecker>();
const MAX_CHECKERS = 4;

function incrementalCheck(key: string, source: string): ReturnType<typeof checkScenario> {
  const checker = checkers.get(key) ?? new IncrementalChecker();
  checkers.delete(key);
  checkers.set(key, checker);
  while (checkers.size > MAX_CHECKERS) checkers.delete(checkers.keys().next().value as string);
  return checker.update(source).diagnostics;
}

/** Progress messages of a run, at most four a second after its first second (the Run notification shows them). */
function progressPoster(id: number): (p: RunProgress) => void {
  let sentAt = -Infinity;
  return (p) => {
    if (p.elapsedMs < 1000 || p.elapsedMs - sentAt < 250) return;
    sentAt = p.elapsedMs;
    parentPort?.postMessage({ id, kind: 'progress', line: p.line, statements: p.statements, events: p.events, elapsedMs: p.elapsedMs } satisfies WorkerResponse);
  };
}

function handle(req: WorkerRequest): WorkerResponse {
  const t0 = performance.now();
  try {
    if (req.kind === 'check') {
      const diagnostics = req.key !== undefined ? incrementalCheck(req.key, req.source) : checkScenario(req.source);
      return { id: req.id, kind: 'check', diagnostics, durationMs: performance.now() - t0 };
    }
    // The engine models one kernel (req.kernelVersion is validated by the
    // settings); the field is there for when it models more.
    const checkDiagnostics = checkScenario(req.source);
    const ran = !checkDiagnostics.some((d) => d.severity === 'error');
    // Editor features read API-level events only; the debugger runs its own trace.
    const full = runScenario(req.source, req.fileName, { events: 'api', editorInfo: true, onProgress: progressPoster(req.id), ...(req.budget ? { budget: req.budget } : {}) });
    const trimmed = trimResult(full);
    return {
      id: req.id,
      kind: 'run',
      resultJson: JSON.stringify(trimmed.result),
      checkDiagnostics,
      ran,
      summary: summarizeRun(full),
      omitted: trimmed.omitted,
      ...(trimmed.omitted > 0 ? { reportText: trimmedReport(full, trimmed, req.fileName) } : {}),
      durationMs: performance.now() - t0,
    };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { id: req.id, kind: 'error', message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) };
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: WorkerRequest) => port.postMessage(handle(req)));
}
