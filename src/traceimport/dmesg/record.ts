// What the kernel-log matchers share: a line with its carrier prefix split
// off, and the open multi-line record (a fault and its decode lines, a WARN
// splat and its call trace) that collects lines until it is complete.

import type { StrippedLine } from '../line-prefix';
import type { Finding, Malformed } from '../types';

// Patterns of the functions below, made once (a regex literal in a function is a new RegExp object at each call).
const DEV_PREFIX = /^(\S+) (\S+): (.*)$/;

export interface LineCtx {
  /** 1-based line number. */
  no: number;
  raw: string;
  /** The kernel's text, carrier prefix removed. */
  body: string;
  prefix: StrippedLine;
}

export interface RecordSink {
  finding(f: Finding): void;
  malformed(m: Malformed): void;
}

/** A matcher's verdict on a line that starts like one of its messages but is cut short. */
export interface Partial {
  partial: true;
  reason: string;
}

export function isPartial(x: object): x is Partial {
  return (x as { partial?: unknown }).partial === true;
}

/**
 * A record spanning lines. The reader offers each later line to the open
 * records (newest first) before trying to start a new one; a record that
 * takes no line for a while, or says it is done, is finished.
 */
export abstract class OpenRecord {
  // Set in the constructor, not as class fields: a record is made per kernel-log
  // finding, and defining fields costs more than assigning them.
  declare readonly lines: number[];
  /** Complete: no further line can belong to it. */
  declare done: boolean;

  /** The first line's text, for a malformed report. */
  declare readonly firstText: string;

  constructor(first: LineCtx) {
    this.lines = [first.no];
    this.done = false;
    this.firstText = first.raw.length > 300 ? first.raw.slice(0, 300) + '…' : first.raw;
  }

  get firstLine(): number {
    return this.lines[0];
  }

  get lastLine(): number {
    return this.lines[this.lines.length - 1];
  }

  /** Takes `ctx` as one of its lines (and records it), or declines. */
  abstract offer(ctx: LineCtx): boolean;

  /** Emits the finding(s); `atEof` when the file ended with the record open. */
  abstract finish(sink: RecordSink, atEof: boolean): void;

  /** At the end of the file: why the record is incomplete (the file is truncated), or undefined. */
  incompleteAtEof(): string | undefined {
    return undefined;
  }

  /** Lines a record waits for a part before it is finished anyway. */
  get patience(): number {
    return 8;
  }

  protected take(ctx: LineCtx): true {
    this.lines.push(ctx.no);
    return true;
  }
}

/** A finding that is complete on its own line. */
export class SingleLineRecord extends OpenRecord {
  declare private readonly f: Finding;

  constructor(first: LineCtx, f: Finding) {
    super(first);
    this.f = f;
    this.done = true;
  }

  offer(): boolean {
    return false;
  }

  finish(sink: RecordSink): void {
    sink.finding(this.f);
  }
}

/** Common fields of a finding printed on `ctx`. */
export function base(ctx: LineCtx, kind: string): Finding {
  const f: Finding = { line: ctx.no, kind };
  if (ctx.prefix.seconds !== undefined) f.ts = ctx.prefix.seconds;
  else if (ctx.prefix.time !== undefined) f.ts = ctx.prefix.time;
  return f;
}

/** `driver devname: rest` as dev_printk prints it; undefined when the line has no such prefix. */
export function devPrefix(body: string): { driver: string; device: string; rest: string } | undefined {
  const m = DEV_PREFIX.exec(body);
  if (!m) return undefined;
  return { driver: m[1], device: m[2], rest: m[3] };
}

/** `key=value` pairs separated by spaces or commas (`fsr=0x402, iova=0x23e0000100`). */
export function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = KEY_VALUE;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out[m[1]] = m[2];
  return out;
}

/** keyValues' pattern, made once (a /g literal inside the function is a new RegExp each call); exec runs it to null, which sets lastIndex back to 0. */
const KEY_VALUE = /([A-Za-z_][\w]*)=([^\s,\]]*)/g;
