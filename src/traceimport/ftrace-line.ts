// One line of /sys/kernel/tracing/trace, trace_pipe or `trace-cmd report`:
// the task-pid, [cpu], irq-flags (ftrace; trace-cmd shows them only with -l),
// timestamp and event name in front of the event's payload. Also lines whose
// header was cut away by whoever pasted them (`map: IOMMU: iova=...`).

export interface FtraceLine {
  comm?: string;
  pid?: number;
  cpu?: number;
  /** Latency flags column (`d.h1.`), absent in `trace-cmd report`. */
  flags?: string;
  ts?: number;
  /** `system` when the line names it (`iommu:map`). */
  system?: string;
  event: string;
  payload: string;
  style: 'ftrace' | 'trace-cmd' | 'bare';
}

// comm may hold spaces and dashes ("(udev-worker)-532", "irq/26-AMD-Vi-154"): the last "-PID" before "[CPU]" ends it.
const BARE = /^\s*(?:(\w+):)?(\w+): +(.*)$/;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/**
 * The header of an ftrace/trace-cmd line as numbers and offsets into the
 * line: scanFtraceHeader fills one in place and makes no strings, so a line
 * of another subsystem's event costs no allocation. Offsets are -1 where the
 * line has no such part.
 */
export interface FtraceHeaderScan {
  pid: number;
  cpu: number;
  ts: number;
  commStart: number;
  commEnd: number;
  flagsStart: number;
  flagsEnd: number;
  systemStart: number;
  systemEnd: number;
  eventStart: number;
  eventEnd: number;
  /** Where the payload begins (its leading spaces skipped). */
  payloadStart: number;
  /**
   * The line's text before its timestamp is that of the last line scanned
   * with a header (the same task on the same CPU, as a trace's lines come
   * in runs): comm, pid, cpu and flags are that line's, read again from
   * `prefix` alone.
   */
  repeated: boolean;
  /** The last header's text before its timestamp ('' before the first). */
  prefix: string;
  /** Its first character's code. */
  prefixFirst: number;
}

export function newHeaderScan(): FtraceHeaderScan {
  return { pid: 0, cpu: 0, ts: 0, commStart: -1, commEnd: -1, flagsStart: -1, flagsEnd: -1, systemStart: -1, systemEnd: -1, eventStart: -1, eventEnd: -1, payloadStart: -1, repeated: false, prefix: '', prefixFirst: -1 };
}

/** Powers of ten a decimal fraction is divided by (exact as doubles up to 1e22). */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Digits a number may have to be computed from them exactly (below 2^53); a longer one goes through Number(). */
const EXACT_DIGITS = 15;

/**
 * The number a decimal of `digits` digits spells, `value` being those
 * digits as an integer and `frac` how many follow its "." (0: none), as
 * Number() reads raw[from, to): an integer below 2^53 divided by an exact
 * power of ten is the correctly rounded value, as Number() gives.
 */
function decimalValue(raw: string, from: number, to: number, value: number, digits: number, frac: number): number {
  if (digits > EXACT_DIGITS) return Number(raw.slice(from, to));
  return frac > 0 ? value / POW10[frac] : value;
}

/**
 * Scans the ftrace/trace-cmd header of a line into `out`; false when the
 * line has none. Written out by hand: it runs on every line of a capture.
 * Each character is read once (`c` holds the one at `i`) and the numbers
 * are summed as their digits go by: a charCodeAt costs some 25
 * instructions in optimized code (it dispatches on the string's
 * representation), and this is the import's busiest loop.
 */
export function scanFtraceHeader(raw: string, out: FtraceHeaderScan): boolean {
  // The last header's text up to its timestamp, then a digit: everything before the timestamp reads as it did
  // (a digit there is no space to skip and no flags column), and one comparison of a copy is cheaper than its scan.
  const t0 = out.prefix.length;
  // (The first character first: a kernel-log line's "[" turns it away before any copy.)
  if (t0 > 0 && raw.charCodeAt(0) === out.prefixFirst && isDigit(raw.charCodeAt(t0)) && raw.slice(0, t0) === out.prefix) return scanFromTimestamp(raw, out, t0, true);
  // The CPU column: the first "[digits]" that follows a space.
  let open = raw.indexOf('[');
  let close = -1;
  let cpu = 0;
  while (open > 0) {
    let i = open + 1;
    let c = raw.charCodeAt(i);
    cpu = 0;
    while (isDigit(c)) {
      cpu = cpu * 10 + (c - 48);
      c = raw.charCodeAt(++i);
    }
    if (i > open + 1 && i - open - 1 <= 5 && c === 93 /* ] */ && isSpace(raw.charCodeAt(open - 1))) {
      close = i;
      break;
    }
    open = raw.indexOf('[', open + 1);
  }
  if (close < 0) return false;
  // Before it: "comm-pid", then optionally "(tgid)".
  let e = open - 1;
  let c = raw.charCodeAt(e);
  while (isSpace(c)) c = raw.charCodeAt(--e);
  if (c === 41 /* ) */) {
    const paren = raw.lastIndexOf('(', e);
    if (paren < 0) return false;
    e = paren - 1;
    c = raw.charCodeAt(e);
    while (isSpace(c)) c = raw.charCodeAt(--e);
  }
  // The pid's digits, last first.
  let p = e;
  let pid = 0;
  let unit = 1;
  while (isDigit(c)) {
    pid += (c - 48) * unit;
    unit *= 10;
    c = raw.charCodeAt(--p);
  }
  if (p === e || c !== 45 /* - */) return false;
  if (e - p > EXACT_DIGITS) pid = Number(raw.slice(p + 1, e + 1));
  let c0 = 0;
  while (c0 < p && isSpace(raw.charCodeAt(c0))) c0++;
  // After it: optional irq flags, the timestamp and ":".
  let i = close + 1;
  c = raw.charCodeAt(i);
  if (!isSpace(c)) return false;
  while (isSpace(c)) c = raw.charCodeAt(++i);
  let f0 = -1;
  let f1 = -1;
  if (!isDigit(c)) {
    f0 = i;
    while (i < raw.length && !isSpace(c) && c !== 58) c = raw.charCodeAt(++i);
    if (i - f0 < 3 || i - f0 > 7 || !isSpace(c)) return false;
    f1 = i;
    while (isSpace(c)) c = raw.charCodeAt(++i);
  }
  if (!isDigit(c) || !scanFromTimestamp(raw, out, i, false)) return false;
  // Written only now: a line that failed leaves the last header's (and its prefix) as they were.
  out.commStart = c0;
  out.commEnd = p;
  out.flagsStart = f0;
  out.flagsEnd = f1;
  out.pid = pid;
  out.cpu = cpu;
  out.prefix = raw.slice(0, i);
  out.prefixFirst = raw.charCodeAt(0);
  return true;
}

/**
 * The rest of scanFtraceHeader from the timestamp at raw[t0] (a digit):
 * timestamp, event name, payload start, written to `out` only when all
 * read. `repeated` says whether the part before t0 is the last header's.
 */
function scanFromTimestamp(raw: string, out: FtraceHeaderScan, t0: number, repeated: boolean): boolean {
  let i = t0;
  let c = raw.charCodeAt(i);
  let ts = 0;
  while (isDigit(c)) {
    ts = ts * 10 + (c - 48);
    c = raw.charCodeAt(++i);
  }
  if (i === t0) return false;
  const whole = i - t0;
  let frac = 0;
  if (c === 46 /* . */) {
    c = raw.charCodeAt(++i);
    while (isDigit(c)) {
      ts = ts * 10 + (c - 48);
      frac++;
      c = raw.charCodeAt(++i);
    }
  }
  if (c !== 58 /* : */) return false;
  const t1 = i;
  c = raw.charCodeAt(++i);
  if (!isSpace(c)) return false;
  while (isSpace(c)) c = raw.charCodeAt(++i);
  // The event name, "system:event" or "event", then ":".
  const n0 = i;
  while (isWordChar(c)) c = raw.charCodeAt(++i);
  if (i === n0 || c !== 58) return false;
  let sys0 = -1;
  let sys1 = -1;
  let ev0 = n0;
  let ev1 = i;
  c = raw.charCodeAt(++i);
  if (isWordChar(c)) {
    const s0 = i;
    while (isWordChar(c)) c = raw.charCodeAt(++i);
    if (c !== 58) return false;
    sys0 = ev0;
    sys1 = ev1;
    ev0 = s0;
    ev1 = i;
    c = raw.charCodeAt(++i);
  }
  if (i < raw.length && !isSpace(c)) return false;
  while (isSpace(c)) c = raw.charCodeAt(++i);
  out.repeated = repeated;
  out.ts = decimalValue(raw, t0, t1, ts, whole + frac, frac);
  out.systemStart = sys0;
  out.systemEnd = sys1;
  out.eventStart = ev0;
  out.eventEnd = ev1;
  out.payloadStart = i;
  return true;
}

/** The header a scan found, as strings. */
export function headerOf(raw: string, h: FtraceHeaderScan): FtraceLine {
  const flags = h.flagsStart < 0 ? undefined : raw.slice(h.flagsStart, h.flagsEnd);
  return {
    comm: raw.slice(h.commStart, h.commEnd),
    pid: h.pid,
    cpu: h.cpu,
    flags,
    ts: h.ts,
    system: h.systemStart < 0 ? undefined : raw.slice(h.systemStart, h.systemEnd),
    event: raw.slice(h.eventStart, h.eventEnd),
    payload: raw.slice(h.payloadStart).trim(),
    style: flags === undefined ? 'trace-cmd' : 'ftrace',
  };
}

/** Parses the ftrace/trace-cmd header of a line; undefined when the line has none. */
export function parseFtraceLine(raw: string): FtraceLine | undefined {
  const h = newHeaderScan();
  return scanFtraceHeader(raw, h) ? headerOf(raw, h) : undefined;
}

/** A line that is only `event: payload`, the header stripped (as commit messages quote traces). */
export function parseBareEvent(raw: string): FtraceLine | undefined {
  const m = BARE.exec(raw);
  if (!m) return undefined;
  return { system: m[1], event: m[2], payload: m[3].trim(), style: 'bare' };
}

/** Lines that belong to a trace file without being events: its comment header, trace-cmd's preamble. */
export function isTraceHeaderLine(raw: string): boolean {
  let i = 0;
  while (i < raw.length && isSpace(raw.charCodeAt(i))) i++;
  const c = raw.charCodeAt(i);
  if (c === 35 /* # */) return true;
  // Only "cpus=", "version = ", "CPU n is empty" and "trace-cmd: " lines get as far as the regex.
  if (c !== 99 && c !== 118 && c !== 67 && c !== 116) return false;
  return /^(?:cpus=\d+|version = \d+|CPU \d+ is empty|trace-cmd: )/.test(raw.slice(i));
}

/** `CPU:3 [LOST 120 EVENTS]` (ftrace) or `CPU: 3 [LOST EVENTS]`: the ring buffer overflowed. */
export function parseLostEvents(raw: string): { cpu: number; count?: number } | undefined {
  // A line that starts with a printable character other than the C of "CPU" is none (every kernel-log line gets here).
  const first = raw.charCodeAt(0);
  if (first > 32 && first < 127 && first !== 67) return undefined;
  if (!raw.includes('LOST')) return undefined;
  const m = /^\s*CPU:\s*(\d+) \[LOST(?: (\d+))? EVENTS\]\s*$/.exec(raw);
  if (!m) return undefined;
  return { cpu: Number(m[1]), count: m[2] === undefined ? undefined : Number(m[2]) };
}
