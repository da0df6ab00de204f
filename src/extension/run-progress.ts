// The Run notification's text for a long run, and when it appears. No vscode
// import: unit-tested on its own.

/** A run still going after this long gets a cancellable notification with its progress. */
export const RUN_NOTIFICATION_AFTER_MS = 1000;

export interface RunProgressView {
  line: number;
  statements: number;
  events: number;
  elapsedMs: number;
}

/** "line 7: 1,234,567 statements, 29,629,608 events, 3.1 s" */
export function runProgressMessage(p: RunProgressView): string {
  return `line ${p.line}: ${p.statements.toLocaleString('en-US')} statements, ${p.events.toLocaleString('en-US')} events, ${(p.elapsedMs / 1000).toFixed(1)} s`;
}
