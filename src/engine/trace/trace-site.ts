// A trace call site: the kind, name and field names of the events one line of
// engine code records, made once at module load. The recorder recognises a
// loop's next event by the site's identity plus the values, instead of
// comparing the name and field names on every event.

import type { EventKind } from './recorder';

/**
 * The field names of one call site's events, in order: a constant array per
 * site, so a repeat is recognised by identity and its values compared by
 * position, with no fields object built for it.
 */
export type FieldKeys = readonly string[];

/** The fields of a return without a value, by position: none. */
export const NO_KEYS: FieldKeys = [];

/** A return event's field when the call returned a value. */
export const RET_KEYS: FieldKeys = ['ret'];

export class TraceSite {
  /** Of a call site: the sites of its return with a value (RET_KEYS) and without (NO_KEYS), made when first needed (returnSite). */
  valuedReturn: TraceSite | null = null;
  bareReturn: TraceSite | null = null;

  constructor(
    readonly kind: EventKind,
    readonly name: string,
    readonly keys: FieldKeys,
    /** Of a return site: the site of the call it closes (null for a call or a point). */
    readonly call: TraceSite | null,
  ) {}

  /** This call's return site with a `ret` field (valued) or none. */
  returnSite(valued: boolean): TraceSite {
    if (valued) return (this.valuedReturn ??= internSite('return', this.name, RET_KEYS, this));
    return (this.bareReturn ??= internSite('return', this.name, NO_KEYS, this));
  }
}

/** Sites by name: one object per (kind, name, keys array), whichever module asks, so identity means the same events. */
const sites = new Map<string, TraceSite[]>();

function internSite(kind: EventKind, name: string, keys: FieldKeys, call: TraceSite | null): TraceSite {
  let list = sites.get(name);
  if (list === undefined) {
    list = [];
    sites.set(name, list);
  }
  for (const s of list) if (s.kind === kind && s.keys === keys && s.call === call) return s;
  const s = new TraceSite(kind, name, keys, call);
  list.push(s);
  return s;
}

/** The site of a kernel function's call events (enterAt) or of a tracepoint or engine step (pointAt), `keys` its field names. */
export function traceSite(kind: 'call' | 'point', name: string, keys: FieldKeys): TraceSite {
  return internSite(kind, name, keys, null);
}

/** The site of `call`'s return events carrying `keys` (leaveAt): the extra fields a caller learnt, `ret` last when there is one. */
export function traceReturnSite(call: TraceSite, keys: FieldKeys): TraceSite {
  if (call.kind !== 'call') throw new Error(`trace: ${call.name} is a ${call.kind} site, not a call`);
  return internSite('return', call.name, keys, call);
}
