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
 * Parses the ftrace/trace-cmd header of a line; undefined when the line has
 * none. Written out by hand: it runs on every line of a capture.
 */
export function parseFtraceLine(raw: string): FtraceLine | undefined {
  // The CPU column: the first "[digits]" that follows a space.
  let open = raw.indexOf('[');
  let close = -1;
  while (open > 0) {
    let i = open + 1;
    while (i < raw.length && isDigit(raw.charCodeAt(i))) i++;
    if (i > open + 1 && i - open - 1 <= 5 && raw.charCodeAt(i) === 93 && isSpace(raw.charCodeAt(open - 1))) {
      close = i;
      break;
    }
    open = raw.indexOf('[', open + 1);
  }
  if (close < 0) return undefined;
  // Before it: "comm-pid", then optionally "(tgid)".
  let e = open - 1;
  while (e >= 0 && isSpace(raw.charCodeAt(e))) e--;
  if (e >= 0 && raw.charCodeAt(e) === 41 /* ) */) {
    const paren = raw.lastIndexOf('(', e);
    if (paren < 0) return undefined;
    e = paren - 1;
    while (e >= 0 && isSpace(raw.charCodeAt(e))) e--;
  }
  let p = e;
  while (p >= 0 && isDigit(raw.charCodeAt(p))) p--;
  if (p === e || p < 0 || raw.charCodeAt(p) !== 45 /* - */) return undefined;
  const pid = Number(raw.slice(p + 1, e + 1));
  let c0 = 0;
  while (c0 < p && isSpace(raw.charCodeAt(c0))) c0++;
  const comm = raw.slice(c0, p);
  const cpu = Number(raw.slice(open + 1, close));
  // After it: optional irq flags, the timestamp and ":".
  let i = close + 1;
  if (!isSpace(raw.charCodeAt(i))) return undefined;
  while (isSpace(raw.charCodeAt(i))) i++;
  let flags: string | undefined;
  if (!isDigit(raw.charCodeAt(i))) {
    const f0 = i;
    while (i < raw.length && !isSpace(raw.charCodeAt(i)) && raw.charCodeAt(i) !== 58) i++;
    if (i - f0 < 3 || i - f0 > 7 || !isSpace(raw.charCodeAt(i))) return undefined;
    flags = raw.slice(f0, i);
    while (isSpace(raw.charCodeAt(i))) i++;
  }
  const t0 = i;
  while (isDigit(raw.charCodeAt(i))) i++;
  if (i === t0) return undefined;
  if (raw.charCodeAt(i) === 46 /* . */) {
    i++;
    while (isDigit(raw.charCodeAt(i))) i++;
  }
  if (raw.charCodeAt(i) !== 58 /* : */) return undefined;
  const ts = Number(raw.slice(t0, i));
  i++;
  if (!isSpace(raw.charCodeAt(i))) return undefined;
  while (isSpace(raw.charCodeAt(i))) i++;
  // The event name, "system:event" or "event", then ":".
  const n0 = i;
  while (isWordChar(raw.charCodeAt(i))) i++;
  if (i === n0 || raw.charCodeAt(i) !== 58) return undefined;
  let system: string | undefined;
  let event = raw.slice(n0, i);
  i++;
  if (isWordChar(raw.charCodeAt(i))) {
    const s0 = i;
    while (isWordChar(raw.charCodeAt(i))) i++;
    if (raw.charCodeAt(i) !== 58) return undefined;
    system = event;
    event = raw.slice(s0, i);
    i++;
  }
  if (i < raw.length && !isSpace(raw.charCodeAt(i))) return undefined;
  return { comm, pid, cpu, flags, ts, system, event, payload: raw.slice(i).trim(), style: flags === undefined ? 'trace-cmd' : 'ftrace' };
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
  if (!raw.includes('LOST')) return undefined;
  const m = /^\s*CPU:\s*(\d+) \[LOST(?: (\d+))? EVENTS\]\s*$/.exec(raw);
  if (!m) return undefined;
  return { cpu: Number(m[1]), count: m[2] === undefined ? undefined : Number(m[2]) };
}
