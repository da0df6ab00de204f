// The 'dmascope/inspect' custom request: the machine view at the debugger's
// position for the panels. Pure: the session passes the machines, this builds
// the response (the lead wires it into session.ts).

import { inspectMachine } from '../engine/inspect';
import type { Machine } from '../engine/machine';
import type { MachineView } from '../engine/inspect/types';
import { parseInspectArguments, type InspectResponse } from '../protocol';

function onlyDomains(v: MachineView, domains: string[] | undefined): MachineView {
  return domains ? { ...v, domains: v.domains.filter((d) => domains.includes(d.label)) } : v;
}

/**
 * Answer 'dmascope/inspect' for event `event` whose machine is `m`; `previous`
 * is the machine right before that event (asked with withPrevious). Bad
 * arguments give an Error with the reason, never a crash.
 */
export function handleInspectRequest(m: Machine, rawArgs: unknown, event: number, previous: Machine | null = null): InspectResponse {
  const parsed = parseInspectArguments(rawArgs);
  if (!parsed.ok) throw new Error(`dmascope/inspect: ${parsed.error}`);
  const args = parsed.message;
  return {
    event,
    machine: onlyDomains(inspectMachine(m), args.domains),
    previous: args.withPrevious && previous ? onlyDomains(inspectMachine(previous), args.domains) : null,
  };
}
