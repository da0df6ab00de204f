// The 'dmascope/inspect' custom request: the machine view at the debugger's
// position for the panels. Pure: the session (session.ts) passes the machines
// and fills in what only the run knows (the position, the walk sites); this
// builds the response.

import { findDevice, inspectBounceDiffs, inspectMachine, inspectSwiotlb, inspectVduse, inspectWalk } from '../engine/inspect';
import type { Machine } from '../engine/machine';
import type { MachineView } from '../engine/inspect/types';
import {
  parseBounceInspectArguments, parseInspectArguments, parseWalkInspectArguments, type BounceInspectResponse, type InspectWireResponse, type WalkInspectResponse,
} from '../protocol';
import type { InspectViewStreams } from './inspect-streams';
import { buildBounceModel } from '../panels/bounce-model';
import { sanitizerFindings } from '../engine/sanitizer';
import { buildWalkModel } from '../panels/walk-model';

function onlyDomains(v: MachineView, domains: string[] | undefined): MachineView {
  return domains ? { ...v, domains: v.domains.filter((d) => domains.includes(d.label)) } : v;
}

/**
 * Answer 'dmascope/inspect' for event `event` whose machine is `m`; `previous`
 * is the machine right before that event (asked with withPrevious). On a
 * stream the views go as patches where they can (`streams`). Bad arguments
 * give an Error with the reason, never a crash.
 */
export function handleInspectRequest(m: Machine, rawArgs: unknown, event: number, previous: Machine | null = null, streams: InspectViewStreams | null = null): InspectWireResponse {
  const parsed = parseInspectArguments(rawArgs);
  if (!parsed.ok) throw new Error(`dmascope/inspect: ${parsed.error}`);
  const args = parsed.message;
  const answer = {
    event,
    machine: onlyDomains(inspectMachine(m), args.domains),
    previous: args.withPrevious && previous ? onlyDomains(inspectMachine(previous), args.domains) : null,
    findings: sanitizerFindings(m.trace.checks),
  };
  return streams ? streams.encode(answer, args.stream, args.have) : answer;
}

/** 'dmascope/inspect' with kind 'walk': the walk panel's model of `target` on machine `m` (the state at `event`). */
export function handleWalkInspectRequest(m: Machine, rawArgs: unknown, event: number): WalkInspectResponse {
  const parsed = parseWalkInspectArguments(rawArgs);
  if (!parsed.ok) throw new Error(`dmascope/inspect: ${parsed.error}`);
  const t = parsed.message.target;
  const devices = [...m.devices.values()].map((d) => d.name);
  if (!t) return { event, target: null, model: null, error: 'Nothing to walk: the scenario has no translate, dev_read or dev_write; type a device and an address.', devices };
  const dev = findDevice(m, t.device);
  if (!dev) return { event, target: t, model: null, error: `No device ${t.device} at this point of the run${devices.length ? ` (devices: ${devices.join(', ')})` : ''}.`, devices };
  return { event, target: t, model: buildWalkModel(inspectWalk(m, dev, BigInt(t.addr), t.pasid, t.access)), error: null, devices };
}

/** 'dmascope/inspect' with kind 'bounce': the bounce panel's model of machine `m`. */
export function handleBounceInspectRequest(m: Machine, rawArgs: unknown, event: number): BounceInspectResponse {
  const parsed = parseBounceInspectArguments(rawArgs);
  if (!parsed.ok) throw new Error(`dmascope/inspect: ${parsed.error}`);
  return { event, model: buildBounceModel(inspectSwiotlb(m), inspectVduse(m), inspectBounceDiffs(m), sanitizerFindings(m.trace.checks)) };
}

/** Every kind of 'dmascope/inspect' (the session's one entry): `kind` picks the panel, none is the IOVA map's machine view. */
export function answerInspectRequest(
  m: Machine, rawArgs: unknown, event: number, previous: Machine | null = null, streams: InspectViewStreams | null = null,
): InspectWireResponse | WalkInspectResponse | BounceInspectResponse {
  const kind = typeof rawArgs === 'object' && rawArgs !== null ? (rawArgs as { kind?: unknown }).kind : undefined;
  if (kind === 'walk') return handleWalkInspectRequest(m, rawArgs, event);
  if (kind === 'bounce') return handleBounceInspectRequest(m, rawArgs, event);
  return handleInspectRequest(m, rawArgs, event, previous, streams);
}
