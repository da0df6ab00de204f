// The object a tracepoint event becomes. Each print format gets a class of
// its own (an empty subclass of TraceEvent), so the events of one format
// share one shape with every field inside the object: no property array
// per event, and the code reading them sees one shape per format.

import type { CaptureEvent } from './types';

export class TraceEvent implements CaptureEvent {
  declare line: number;
  declare kind: string;
  declare system: string;
  declare device: string | undefined;
  declare addr: string | undefined;
  declare size: number | undefined;
  declare ts: number | undefined;
  declare cpu: number | undefined;
  declare comm: string | undefined;
  declare pid: number | undefined;
  declare irq_flags: string | undefined;
  declare since: string;
  declare endLine: number | undefined;
  [field: string]: unknown;

  // The common keys first, in one order; absent ones stay undefined (left out of JSON).
  constructor(line: number, kind: string, system: string, ts: number | undefined, cpu: number | undefined, comm: string | undefined, pid: number | undefined, irqFlags: string | undefined, since: string, endLine: number | undefined) {
    this.line = line;
    this.kind = kind;
    this.system = system;
    this.device = undefined;
    this.addr = undefined;
    this.size = undefined;
    this.ts = ts;
    this.cpu = cpu;
    this.comm = comm;
    this.pid = pid;
    this.irq_flags = irqFlags;
    this.since = since;
    this.endLine = endLine;
  }
}

export type TraceEventClass = typeof TraceEvent;

/** A class of its own for the events of one print format. */
export function traceEventClass(): TraceEventClass {
  return class extends TraceEvent {};
}
