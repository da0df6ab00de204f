// Where the walk panel's state comes from without the debugger: a run of the
// scenario in a ScenarioTimeline. The targets are the scenario's walk sites,
// which the interpreter's call log records with the device, address and
// PASID each translate/dev_read/dev_write was called with; the state shown
// is the machine right before that access ran (the walk it made). No vscode.

import type { WalkAccess } from '../engine/inspect';
import { findDevice, inspectWalk } from '../engine/inspect';
import { ScenarioTimeline } from '../lang/timeline';
import type { PositionInfo, WalkState, WalkTarget } from '../protocol';
import { buildWalkModel } from './walk-model';

/** A timeline of `source` that also records the walk sites (the call log). */
export function walkTimeline(source: string): ScenarioTimeline {
  return new ScenarioTimeline(source, 256, { editorInfo: true });
}

function accessOf(callee: string): WalkAccess {
  return callee === 'dev_read' ? 'read' : callee === 'dev_write' ? 'write' : null;
}

/** Every walk site of the run, in line order: what the target picker offers (the debugger's run records them too). */
export function walkTargets(tl: ScenarioTimeline): WalkTarget[] {
  return (tl.final.callLog?.walkSites() ?? []).map((w) => ({ device: w.device, addr: w.addr, pasid: w.pasid, access: accessOf(w.callee), line: w.line }));
}

/** The walk site on `line` (a lens's), else the next one after it, else the first; undefined when there is none. */
export function pickWalkTarget(targets: readonly WalkTarget[], line: number | undefined): WalkTarget | undefined {
  return (line !== undefined ? targets.find((t) => t.line === line) : undefined) ?? targets.find((t) => line === undefined || t.line >= line) ?? targets[0];
}

/** The statement stops of the run: the `engine:statement` events and their lines. */
export function statementStops(tl: ScenarioTimeline): { event: number; line: number }[] {
  const out: { event: number; line: number }[] = [];
  const trace = tl.trace;
  for (let i = 0; i < trace.length; i++) if (trace.nameAt(i) === 'engine:statement') out.push({ event: i, line: trace.lineAt(i) });
  return out;
}

/**
 * The event whose state is the one the access on `target.line` walked: right
 * before its device_read/device_write call, or (translate, which records no
 * event) right after its statement started. `run` picks the call site's n-th
 * run in a loop (the call log shows the last one it probed).
 */
export function walkEventFor(tl: ScenarioTimeline, target: WalkTarget, run = 1): number | undefined {
  if (target.line <= 0) return undefined;
  let seen = 0;
  const trace = tl.trace;
  for (let i = 0; i < trace.length; i++) {
    if (trace.nameAt(i) !== 'engine:statement' || trace.lineAt(i) !== target.line || ++seen < run) continue;
    if (target.access === null) return i;
    const name = target.access === 'read' ? 'device_read' : 'device_write';
    const dev = tl.final.machine ? findDevice(tl.final.machine, target.device) : undefined;
    for (let j = i + 1; j < trace.length; j++) {
      const cname = trace.nameAt(j);
      if (cname === 'engine:statement') break;
      if (cname !== name || trace.kindAt(j) !== 'call') continue;
      const fields = trace.fieldsAt(j);
      if (fields.device === dev?.busId && fields.addr === target.addr) return j - 1;
    }
    return i;
  }
  return undefined;
}

/** Which run of its call site the walk log shows for the site on `line` (the lens's). */
export function walkSiteRun(tl: ScenarioTimeline, target: WalkTarget): number {
  const site = tl.final.callLog?.walkSites().find((w) => w.line === target.line && w.device === target.device && w.addr === target.addr);
  return site?.count ?? 1;
}

function position(tl: ScenarioTimeline, uri: string, event: number): PositionInfo {
  const line = event >= 0 && event < tl.trace.length ? tl.trace.lineAt(event) : 0;
  return { source: 'run', event, total: tl.trace.length, line, backwards: false, statements: statementStops(tl), uri };
}

/** The walk panel's state for `target` at `event` of the run (-1: before any event). Never throws. */
export function walkStateAt(tl: ScenarioTimeline, uri: string, target: WalkTarget, event: number): WalkState {
  const targets = walkTargets(tl);
  const pos = position(tl, uri, event);
  const m = tl.stateAt(event).machine;
  const devices = m ? [...m.devices.values()].map((d) => d.name) : [];
  const fail = (error: string): WalkState => ({ position: pos, target, model: null, error, targets, devices });
  if (!m) return fail('The scenario has not set up the machine at this point.');
  const dev = findDevice(m, target.device);
  if (!dev) return fail(`No device ${target.device} at this point of the run${devices.length ? ` (devices: ${devices.join(', ')})` : ''}.`);
  let addr: bigint;
  try {
    addr = BigInt(target.addr);
  } catch {
    return fail(`${target.addr} is not an address.`);
  }
  try {
    return { position: pos, target, model: buildWalkModel(inspectWalk(m, dev, addr, target.pasid, target.access)), error: null, targets, devices };
  } catch (e) {
    return fail(`The walk could not be made: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The walk panel's state for the walk site on `line` (the lens's), or the
 * first walk site when `line` has none; undefined when the scenario has no
 * walk site at all and no target is given.
 */
export function walkStateForLine(tl: ScenarioTimeline, uri: string, line: number | undefined): WalkState | undefined {
  const target = pickWalkTarget(walkTargets(tl), line);
  if (!target) return undefined;
  const event = walkEventFor(tl, target, walkSiteRun(tl, target)) ?? tl.trace.length - 1;
  return walkStateAt(tl, uri, target, event);
}
