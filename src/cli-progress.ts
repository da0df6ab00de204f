// The command line's progress line for a long run: on a terminal only (a pipe
// or a file gets nothing), after the first second, redrawn at most four times
// a second on standard error, and erased when the run ends.

import type { RunProgress } from './lang/interp/run-budget';

/** A run shorter than this shows no progress at all. */
export const PROGRESS_AFTER_MS = 1000;
const REDRAW_MS = 250;

export function progressText(p: RunProgress): string {
  return `dmascope: running, line ${p.line}: ${p.statements.toLocaleString('en-US')} statements, ${p.events.toLocaleString('en-US')} events, ${(p.elapsedMs / 1000).toFixed(1)} s`;
}

/** A progress display writing to `write` (a terminal); `done()` erases it. */
export class ProgressLine {
  private shownAt = -Infinity;
  private shown = false;

  constructor(private readonly write: (text: string) => void) {}

  update(p: RunProgress): void {
    if (p.elapsedMs < PROGRESS_AFTER_MS || p.elapsedMs - this.shownAt < REDRAW_MS) return;
    this.shownAt = p.elapsedMs;
    this.shown = true;
    this.write(`\r\x1b[K${progressText(p)}`);
  }

  done(): void {
    if (this.shown) this.write('\r\x1b[K');
    this.shown = false;
  }
}
