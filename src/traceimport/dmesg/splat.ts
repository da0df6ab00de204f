// Kernel splats: WARN/BUG/Oops reports with their CPU, registers and call
// trace, and the DMA-API (dma-debug, kernel/dma/debug.c err_printk) reports
// that come inside one. err_printk is WARN(1, "DMA-API: %s %s: " fmt,
// driver, dev_name) since ~4.20 ("%s %s: DMA-API: " before): on x86 the
// message line comes before "WARNING: CPU: ...", on arm after it. Every line
// of one splat becomes part of one finding: `dma_debug` when it carries a
// DMA-API report, `kernel_splat` otherwise.

import { canonHex, devName } from '../values';
import { type LineCtx, OpenRecord, type RecordSink } from './record';
import type { Finding } from '../types';

// Patterns of the functions below, made once (a regex literal in a function is a new RegExp object at each call).
const KEY_SPACE = /[ +]/g;
const BYTES = /^(\d+)(?: bytes)?$/;
const MAPPED_AT = /^(?:DMA-API: )?Mapped at:\s*$/;
const WARNING_AT = /^WARNING: (?:CPU: (\d+) PID: (\d+) )?at (\S+) (\S+)/;
const CALL_PARENS = /\(\)$/;
const CPU_LINE = /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.*?)(?: (?:Not tainted|Tainted:).*)?$/;
const RIP_FUNCTION = /(?:RIP: [0-9a-f]{4}:|pc : |PC is at )\[?<?[0-9a-f]*>?\]?\s*([\w.$]+\+0x[0-9a-f]+\/0x[0-9a-f]+)/;
const AFTER_COLON = /:.*$/;
const FIRST_FIELD = / ?\[[a-z][a-z +]*=/;
const TRAILING_SEPARATORS = /[ ,]+$/;
const NUMERIC_KEY = /size|count|len|max/;

const CUT_HERE = /^-+\[ cut here \]-+\s*$/;
const WARNING = /^WARNING: (.*)$/;
const OOPS = /^(?:BUG: .*|kernel BUG at .*|general protection fault.*|Oops(?: - \w+)?: .*|Internal error: .*|Unable to handle kernel .*|Kernel panic - not syncing.*)$/;
const DMA_API_NEW = /^DMA-API: (\S+) (\S+): (.*)$/;
const DMA_API_OLD = /^(\S+) (\S+): DMA-API: (.*)$/;
const DMA_API_REPORT = /^(?:device driver |cacheline tracking |exceeded \d+ overlapping|mapping sg segment )/;
const END_TRACE = /^---\[ end (?:trace|Kernel panic)\b.*\]---\s*$/;
const FRAME =
  /^(?:\[<[0-9a-fA-F]+>\] ?)?(?:\? )?[\w.$]+\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+(?: \[[\w-]+\])?\s*$|^\S+ from \S+\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+\s*$|^\[<[0-9a-fA-F]+>\] \(\S+\) from \[<[0-9a-fA-F]+>\] \(\S+\)\s*$/;
/** Lines a splat prints once: a second one starts another splat. */
const SINGLETONS: [string, RegExp][] = [
  ['modules', /^Modules linked in:/],
  ['cpu', /^CPU: \d+ (?:UID: \d+ )?PID: \d+ Comm: /],
  ['hardware', /^Hardware name: /],
  ['workqueue', /^Workqueue: /],
  ['rip', /^(?:RIP|EIP): /],
  ['code', /^Code: /],
  ['calltrace', /^Call [Tt]race:\s*$/],
  ['mapped', /^(?:DMA-API: )?Mapped at:\s*$/],
  ['pc', /^(?:pc : |PC is at )/],
  ['lr', /^(?:lr : |LR is at )/],
];
const REPEATABLE = [
  /^(?:R[A-Z0-9]{1,2}|E[A-Z]{2}|FS|GS|CS|DS|ES|CR\d|DR\d|PKRU|RSP|EFLAGS|ORIG_RAX): ?[0-9a-fA-F(]/,
  /^(?:x\d{1,2}|sp|pstate|r\d{1,2}|sb|ip|fp|psr|Flags|Control|Table|DAC|Process \S+|Stack|Exception stack|Backtrace|Tainted): ?/,
  /^<\/?(?:TASK|IRQ|NMI|EOI|SOFTIRQ)>\s*$/,
  /^(?:irq event stamp: |hardirqs last +(?:en|dis)abled at|softirqs last +(?:en|dis)abled at)/,
  /^One of leaked entries details: /,
  /^(?:sp|pc|lr): /,
];

export interface DmaApiReport {
  driver: string;
  device: string;
  text: string;
}

/** A DMA-API error report line (either era's prefix), or undefined. */
export function parseDmaApiLine(body: string): DmaApiReport | undefined {
  const m = DMA_API_NEW.exec(body) ?? DMA_API_OLD.exec(body);
  if (!m || !DMA_API_REPORT.test(m[3])) return undefined;
  return { driver: m[1], device: m[2], text: m[3] };
}

function singletonOf(body: string): string | undefined {
  for (const [name, re] of SINGLETONS) if (re.test(body)) return name;
  return undefined;
}

function isRepeatable(body: string): boolean {
  if (FRAME.test(body)) return true;
  for (const re of REPEATABLE) if (re.test(body)) return true;
  return false;
}

/** Could this line belong to a splat (so a mail-wrapped line is not glued to it)? */
export function looksLikeSplat(text: string): boolean {
  const body = text.trimStart();
  return CUT_HERE.test(body) || WARNING.test(body) || OOPS.test(body) || END_TRACE.test(body) || singletonOf(body) !== undefined || isRepeatable(body) || parseDmaApiLine(body) !== undefined;
}

/** bracketFields' pattern, made once (see keyValues). */
const BRACKET_FIELD = /\[([a-z][a-z +]*?)=([^\]]*)\]/g;

/** `[device address=0x..] [size=4088 bytes]` pairs of a dma-debug report, keyed as the kernel words them. */
function bracketFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = BRACKET_FIELD;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out[m[1].replace(KEY_SPACE, '_')] = m[2];
  return out;
}

function bytes(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = BYTES.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

export class SplatRecord extends OpenRecord {
  private header: { line: number; text: string } | undefined;
  private dma: { line: number; report: DmaApiReport } | undefined;
  private readonly seen = new Set<string>();
  private readonly frames: string[] = [];
  private cpuLine: string | undefined;
  private rip: string | undefined;
  private cutHere = false;
  /** Past "---[ end trace ]---": a DMA-API report may still print its "Mapped at:" stack (4.x dump_entry_trace). */
  private ended = false;

  constructor(first: LineCtx) {
    super(first);
    this.accept(first);
  }

  /** Whether `body` would start a splat. */
  static starts(text: string): boolean {
    const body = text.trimStart();
    return CUT_HERE.test(body) || WARNING.test(body) || OOPS.test(body) || parseDmaApiLine(body) !== undefined || singletonOf(body) !== undefined || FRAME.test(body);
  }

  private accept(ctx: LineCtx): boolean {
    const body = ctx.body.trimStart();
    if (this.ended) {
      if (MAPPED_AT.test(body) && !this.seen.has('mapped')) {
        this.seen.add('mapped');
        return true;
      }
      if (this.seen.has('mapped') && FRAME.test(body)) {
        if (this.frames.length < 64) this.frames.push(body.trim());
        return true;
      }
      return false;
    }
    if (CUT_HERE.test(body)) {
      if (this.lines.length > 1 || this.cutHere) return false;
      this.cutHere = true;
      return true;
    }
    if (WARNING.test(body) || OOPS.test(body)) {
      if (this.header !== undefined) return false;
      // A header joins only a splat that is its preamble: "cut here", or (x86) the DMA-API line WARN printed first.
      const onlyPreamble = this.lines.length === 1 || (this.seen.size === 0 && this.frames.length === 0);
      if (!onlyPreamble) return false;
      this.header = { line: ctx.no, text: body.trimEnd() };
      return true;
    }
    const dma = parseDmaApiLine(body);
    if (dma) {
      if (this.dma !== undefined) return false;
      if (this.seen.has('calltrace') || this.frames.length > 0) return false;
      this.dma = { line: ctx.no, report: dma };
      return true;
    }
    if (END_TRACE.test(body)) {
      if (this.dma !== undefined) this.ended = true;
      else this.done = true;
      return true;
    }
    const single = singletonOf(body);
    if (single !== undefined) {
      if (this.seen.has(single)) return false;
      this.seen.add(single);
      if (single === 'cpu') this.cpuLine = body;
      if (single === 'rip' || single === 'pc') this.rip = body;
      return true;
    }
    if (FRAME.test(body)) {
      if (this.frames.length < 64) this.frames.push(body.trim());
      return true;
    }
    return isRepeatable(body);
  }

  offer(ctx: LineCtx): boolean {
    if (this.done) return false;
    if (!this.accept(ctx)) return false;
    return this.take(ctx);
  }

  override get patience(): number {
    return 6;
  }

  finish(sink: RecordSink): void {
    const mainLine = this.dma?.line ?? this.header?.line ?? this.firstLine;
    const f: Finding = { line: mainLine, kind: this.dma ? 'dma_debug' : 'kernel_splat' };
    if (this.dma) this.fillDmaApi(f, this.dma.report);
    if (this.header) {
      f.header = this.header.text;
      const w = WARNING_AT.exec(this.header.text);
      if (w) {
        if (w[1] !== undefined) f.cpu = Number(w[1]);
        if (w[2] !== undefined) f.pid = Number(w[2]);
        f.warning_at = w[3];
        f.function = w[4].replace(CALL_PARENS, '');
      }
    }
    if (this.cpuLine !== undefined) {
      const c = CPU_LINE.exec(this.cpuLine);
      if (c) {
        f.cpu ??= Number(c[1]);
        f.pid ??= Number(c[2]);
        f.comm = c[3].trim();
      }
    }
    if (f.function === undefined && this.rip !== undefined) {
      const r = RIP_FUNCTION.exec(this.rip);
      if (r) f.function = r[1];
    }
    if (!this.dma) {
      f.message = this.header?.text ?? `kernel splat (no WARNING/BUG line): ${this.rip ?? this.cpuLine ?? 'call trace'}`;
      f.reason = this.header ? this.header.text.replace(AFTER_COLON, '') : 'splat';
    }
    if (this.frames.length > 0) f.call_trace = this.frames;
    if (this.firstLine !== mainLine) f.startLine = this.firstLine;
    if (this.lastLine !== mainLine) f.endLine = this.lastLine;
    const first = this.lines.length > 0 ? this.firstLine : mainLine;
    if (first < mainLine) f.startLine = first;
    sink.finding(f);
  }

  private fillDmaApi(f: Finding, r: DmaApiReport): void {
    const dev = devName(r.device);
    if (dev !== undefined) f.device = dev;
    else if (r.device !== 'NULL') f.dev_name = r.device;
    f.driver = r.driver;
    const text = r.text.trimEnd();
    f.message = text;
    const cut = text.search(FIRST_FIELD);
    f.reason = (cut >= 0 ? text.slice(0, cut) : text).replace(TRAILING_SEPARATORS, '');
    const fields = bracketFields(text);
    // for-in: the same keys in the same order as Object.entries, without its array of pairs.
    for (const k in fields) {
      const v = fields[k];
      const key = k === 'addr' ? 'cpu_addr' : k;
      const n = bytes(v);
      if (k === 'device_address') {
        const a = canonHex(v);
        if (a !== undefined) f.addr = a;
      } else if (n !== undefined && NUMERIC_KEY.test(key)) {
        f[key] = n;
      } else {
        f[key] = v;
      }
    }
    const size = f.size ?? f.map_size ?? f.allocation_size;
    if (typeof size === 'number') f.size = size;
  }
}
