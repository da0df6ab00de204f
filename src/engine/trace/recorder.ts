// The trace recorder: every API call and internal step of the engine is an
// event here, nested by call depth and tagged with the scenario line that
// caused it. Checks (dma-debug style findings), IO page faults and kernel log
// lines are recorded alongside so every consumer reads one run result.

export type FieldValue = string | number | boolean | bigint;
export type Fields = Record<string, FieldValue>;

export interface TraceEvent {
  seq: number;
  line: number;
  name: string;
  fields: Fields;
  depth: number;
}

export type Severity = 'error' | 'warning' | 'info';

export interface Check {
  line: number;
  id: string;
  severity: Severity;
  message: string;
  /** Line of the statement that created the mapping/buffer involved, when known. */
  relatedLine?: number;
  seq: number;
}

export type AccessKind = 'read' | 'write';

export interface Fault {
  line: number;
  device: string;
  addr: bigint;
  access: AccessKind;
  pasid: number | null;
  reason: string;
  seq: number;
}

export interface LogLine {
  line: number;
  seq: number;
  text: string;
}

export interface TraceLengths {
  events: number;
  checks: number;
  faults: number;
  log: number;
}

export class TraceRecorder {
  events: TraceEvent[] = [];
  checks: Check[] = [];
  faults: Fault[] = [];
  log: LogLine[] = [];
  /** Scenario line the current statement came from (1-based; 0 = setup). */
  line = 0;
  depth = 0;
  /** When false only depth-0 events are kept (benchmarks of the bare engine). */
  detailed = true;

  get seq(): number {
    return this.events.length;
  }

  emit(name: string, fields: Fields = {}): void {
    if (!this.detailed && this.depth > 0) return;
    this.events.push({ seq: this.events.length, line: this.line, name, fields, depth: this.depth });
  }

  /** Record an event and run `body` one level deeper, so the steps it takes nest under it. */
  call<T>(name: string, fields: Fields, body: () => T): T {
    this.emit(name, fields);
    this.depth++;
    try {
      return body();
    } finally {
      this.depth--;
    }
  }

  check(id: string, severity: Severity, message: string, relatedLine?: number): void {
    const c: Check = { line: this.line, id, severity, message, seq: this.events.length };
    if (relatedLine !== undefined) c.relatedLine = relatedLine;
    this.checks.push(c);
    this.emit('engine:check', { id, severity, message });
  }

  fault(device: string, addr: bigint, access: AccessKind, pasid: number | null, reason: string): void {
    this.faults.push({ line: this.line, device, addr, access, pasid, reason, seq: this.events.length });
  }

  printk(text: string): void {
    this.log.push({ line: this.line, seq: this.events.length, text });
    this.emit('engine:printk', { text });
  }

  /** Counts events of one name so far (the language's events("...")). */
  count(name: string): number {
    let n = 0;
    for (const e of this.events) if (e.name === name) n++;
    return n;
  }

  lengths(): TraceLengths {
    return { events: this.events.length, checks: this.checks.length, faults: this.faults.length, log: this.log.length };
  }

  /** Runs `body` with the recorded arrays set aside: snapshots clone state, not this append-only log. */
  withLogDetached<T>(body: () => T): T {
    const { events, checks, faults, log } = this;
    this.events = [];
    this.checks = [];
    this.faults = [];
    this.log = [];
    try {
      return body();
    } finally {
      Object.assign(this, { events, checks, faults, log });
    }
  }

  /** After a restore: this recorder's log becomes the first `lengths` entries of `full`'s. */
  adoptPrefix(full: TraceRecorder, lengths: TraceLengths): void {
    this.events = full.events.slice(0, lengths.events);
    this.checks = full.checks.slice(0, lengths.checks);
    this.faults = full.faults.slice(0, lengths.faults);
    this.log = full.log.slice(0, lengths.log);
  }
}
