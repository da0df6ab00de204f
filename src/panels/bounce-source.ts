// Where the bounce panel's state comes from without the debugger: a run of
// the scenario in a ScenarioTimeline, at the end of the statement on the
// lens's line (the slot a map on that line took, the copy a sync made), or
// at any event the panel seeks to. No vscode.

import { inspectBounceDiffs, inspectSwiotlb, inspectVduse } from '../engine/inspect';
import type { ScenarioTimeline } from '../lang/timeline';
import type { BounceState } from '../protocol';
import { buildBounceModel } from './bounce-model';
import { sanitizerFindings } from '../engine/sanitizer';
import { statementStops } from './walk-source';

/** The last event of the (last run of the) statement on `line`; the run's last event when the line made none. */
export function eventAfterLine(tl: ScenarioTimeline, line: number | undefined): number {
  if (line === undefined) return tl.trace.length - 1;
  let last = -1;
  for (let i = 0; i < tl.trace.length; i++) if (tl.trace.lineAt(i) === line) last = i;
  return last >= 0 ? last : tl.trace.length - 1;
}

/** The bounce panel's state at `event` (-1: before any event); throws when the machine does not exist yet. */
export function bounceStateAt(tl: ScenarioTimeline, uri: string, event: number): BounceState {
  const m = tl.stateAt(event).machine;
  if (!m) throw new Error('The scenario has not set up the machine at this point.');
  const line = event >= 0 && event < tl.trace.length ? tl.trace.lineAt(event) : 0;
  return {
    position: { source: 'run', event, total: tl.trace.length, line, backwards: false, statements: statementStops(tl), uri },
    model: buildBounceModel(inspectSwiotlb(m), inspectVduse(m), inspectBounceDiffs(m), sanitizerFindings(m.trace.checks)),
  };
}
