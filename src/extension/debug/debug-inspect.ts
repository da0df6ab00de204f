// How a panel reads the debugger's state: the 'dmascope/inspect' custom
// request to the dmascope debug session paused on the panel's scenario. The
// session answers from the exact state it holds at its position (memory
// edits made in the debugger included), so a panel never re-runs a scenario
// that is being debugged; it runs the scenario itself only when these return
// undefined (no session on that file).
//
// For a panel:
//   const a = await inspectAtDebugger(doc.uri, { withPrevious: true });
//   if (a === undefined) { /* no debug session: run the scenario yourself */ }
//   else { /* a.machine, a.previous, a.position (event, total, line, backwards, statements) */ }
// It throws an Error with the session's message when the session refuses
// (bad arguments, an event past the end of the run).

import * as vscode from 'vscode';
import { INSPECT_REQUEST } from '../../debug/session';
import {
  parseBounceInspectAnswer, parseInspectAnswer, parseWalkInspectAnswer,
  type BounceInspectArguments, type BounceInspectResponse, type DebugInspectAnswer, type InspectArguments, type InspectResponse, type Parsed,
  type WalkInspectArguments, type WalkInspectResponse,
} from '../../protocol';
import { debugPositionOf, type DebugPosition } from '../panels/panel-host';

/** A scenario given by its URI, a document, or a file path. */
export type ScenarioRef = vscode.Uri | vscode.TextDocument | string;

function fileOf(ref: ScenarioRef): string | undefined {
  if (typeof ref === 'string') return ref;
  const uri = ref instanceof vscode.Uri ? ref : ref.uri;
  return uri.scheme === 'file' ? uri.fsPath : undefined;
}

/** The dmascope debug session paused on this scenario (the active one first), and where it is; undefined when none is. */
export function debuggerOn(ref: ScenarioRef): DebugPosition | undefined {
  const file = fileOf(ref);
  return file === undefined ? undefined : debugPositionOf(file);
}

async function ask<R>(ref: ScenarioRef, args: object, parse: (raw: unknown) => Parsed<R>): Promise<R | undefined> {
  const at = debuggerOn(ref);
  if (!at) return undefined;
  const raw: unknown = await at.session.customRequest(INSPECT_REQUEST, args);
  const parsed = parse(raw);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.message;
}

/**
 * The machine view (IOVA map) of the scenario at the debugger's position, or
 * at `args.event`; `withPrevious` adds the machine right before that event,
 * `domains` keeps only those domains. Undefined when no dmascope session is
 * paused on the scenario.
 */
export function inspectAtDebugger(ref: ScenarioRef, args: InspectArguments = {}): Promise<DebugInspectAnswer<InspectResponse> | undefined> {
  return ask(ref, args, parseInspectAnswer);
}

/** The walk panel's model at the debugger's position: of `target`, or of the walk site on `line`; `withTargets` lists the run's walk sites. */
export function inspectWalkAtDebugger(ref: ScenarioRef, args: Omit<WalkInspectArguments, 'kind'>): Promise<DebugInspectAnswer<WalkInspectResponse> | undefined> {
  return ask(ref, { ...args, kind: 'walk' }, parseWalkInspectAnswer);
}

/** The bounce panel's model (swiotlb, VDUSE, differing bytes) at the debugger's position. */
export function inspectBounceAtDebugger(ref: ScenarioRef, args: Omit<BounceInspectArguments, 'kind'> = {}): Promise<DebugInspectAnswer<BounceInspectResponse> | undefined> {
  return ask(ref, { ...args, kind: 'bounce' }, parseBounceInspectAnswer);
}
