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
import { InspectViewCache } from '../../debug/inspect-streams';
import {
  parseBounceInspectAnswer, parseInspectAnswer, parseInspectWireAnswer, parseWalkInspectAnswer,
  type BounceInspectArguments, type BounceInspectResponse, type DebugInspectAnswer, type InspectArguments, type InspectResponse, type InspectWireResponse, type Parsed,
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

/** The views last received on each stream of each session (their answers' patches apply to them). */
const viewCache = new InspectViewCache();

/**
 * The machine view (IOVA map) of the scenario at the debugger's position, or
 * at `args.event`; `withPrevious` adds the machine right before that event,
 * `domains` keeps only those domains. On a `stream` (one per thing a panel
 * follows) the session sends only what changed since the stream's last
 * answer. Undefined when no dmascope session is paused on the scenario.
 */
export async function inspectAtDebugger(ref: ScenarioRef, args: InspectArguments = {}, stream?: string): Promise<DebugInspectAnswer<InspectResponse> | undefined> {
  if (stream === undefined) return ask(ref, args, parseInspectAnswer);
  const at = debuggerOn(ref);
  if (!at) return undefined;
  const key = `${at.session.id}/${stream}`;
  const request = async (): Promise<DebugInspectAnswer<InspectWireResponse>> => {
    const wire = parseInspectWireAnswer(await at.session.customRequest(INSPECT_REQUEST, viewCache.args(key, stream, args)));
    if (!wire.ok) throw new Error(wire.error);
    return wire.message;
  };
  const answer = await request();
  let decoded: DebugInspectAnswer<InspectResponse>;
  try {
    decoded = viewCache.decode(key, answer);
  } catch {
    // A patch that does not fit what is held (an answer lost, or out of order): the whole view again.
    viewCache.forget(key);
    decoded = viewCache.decode(key, await request());
  }
  const parsed = parseInspectAnswer(decoded);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.message;
}

/** The walk panel's model at the debugger's position: of `target`, or of the walk site on `line`; `withTargets` lists the run's walk sites. */
export function inspectWalkAtDebugger(ref: ScenarioRef, args: Omit<WalkInspectArguments, 'kind'>): Promise<DebugInspectAnswer<WalkInspectResponse> | undefined> {
  return ask(ref, { ...args, kind: 'walk' }, parseWalkInspectAnswer);
}

/** The bounce panel's model (swiotlb, VDUSE, differing bytes) at the debugger's position. */
export function inspectBounceAtDebugger(ref: ScenarioRef, args: Omit<BounceInspectArguments, 'kind'> = {}): Promise<DebugInspectAnswer<BounceInspectResponse> | undefined> {
  return ask(ref, { ...args, kind: 'bounce' }, parseBounceInspectAnswer);
}
