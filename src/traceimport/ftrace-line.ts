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
const HEADER = /^\s*(.*?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d{1,5})\]\s+(?:([^\s\d][^\s:]{2,6})\s+)?(\d+(?:\.\d+)?):\s+(?:(\w+):)?(\w+):(?: +(.*))?$/;
const BARE = /^\s*(?:(\w+):)?(\w+): +(.*)$/;

/** Parses the ftrace/trace-cmd header of a line; undefined when the line has none. */
export function parseFtraceLine(raw: string): FtraceLine | undefined {
  // Cheap rejection first: every header line has "[" then "]" then ": ".
  const bracket = raw.indexOf('[');
  if (bracket > 0) {
    const m = HEADER.exec(raw);
    if (m) {
      return {
        comm: m[1],
        pid: Number(m[2]),
        cpu: Number(m[3]),
        flags: m[4],
        ts: Number(m[5]),
        system: m[6],
        event: m[7],
        payload: (m[8] ?? '').trim(),
        style: m[4] === undefined ? 'trace-cmd' : 'ftrace',
      };
    }
  }
  return undefined;
}

/** A line that is only `event: payload`, the header stripped (as commit messages quote traces). */
export function parseBareEvent(raw: string): FtraceLine | undefined {
  const m = BARE.exec(raw);
  if (!m) return undefined;
  return { system: m[1], event: m[2], payload: m[3].trim(), style: 'bare' };
}

/** Lines that belong to a trace file without being events: its comment header, trace-cmd's preamble. */
export function isTraceHeaderLine(raw: string): boolean {
  const t = raw.trimStart();
  return t.startsWith('#') || /^(?:cpus=\d+|version = \d+|CPU \d+ is empty|trace-cmd: )/.test(t);
}

/** `CPU:3 [LOST 120 EVENTS]` (ftrace) or `CPU: 3 [LOST EVENTS]`: the ring buffer overflowed. */
export function parseLostEvents(raw: string): { cpu: number; count?: number } | undefined {
  const m = /^\s*CPU:\s*(\d+) \[LOST(?: (\d+))? EVENTS\]\s*$/.exec(raw);
  if (!m) return undefined;
  return { cpu: Number(m[1]), count: m[2] === undefined ? undefined : Number(m[2]) };
}
