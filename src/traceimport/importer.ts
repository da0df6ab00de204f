// Reads a capture line by line (push each line, then end) and accounts for
// every line: a tracepoint event, a finding, part of a multi-line record, a
// header or blank line, unknown (counted, with samples) or malformed (with
// its line number and why). Lines cut by a mail client are joined back when
// the line after them does not start a record of its own.

import { DmesgReader, type FinishedRecord, looksLikeKernelRecord } from './dmesg/reader';
import { type LineCtx, isPartial } from './dmesg/record';
import { FORMATS_BY_EVENT, formatsOfEventAt, parsePayload, parsePayloadAt, storePayloadAt, type ParsedPayload } from './event-parser';
import { CaptureEventStore, NO_EVENTS } from './event-store';
import { type FtraceHeaderScan, type FtraceLine, headerOf, isTraceHeaderLine, newHeaderScan, parseBareEvent, parseFtraceLine, parseLostEvents, scanFtraceHeader } from './ftrace-line';
import { stripPrefix, type PrefixKind } from './line-prefix';
import { foldRepeats, sortByLine } from './fold';
import type { CaptureEvent, CaptureFormat, Finding, FormatChoice, ImportError, ImportResult, LineAccounting, Malformed } from './types';
import { UNKNOWN_SAMPLES } from './types';
import { RecentIds } from './recent-ids';
import { Interner, ownString } from './values';

/** Longest line parsed; a longer one is reported malformed (the stream reader cuts it there). */
export const MAX_LINE_CHARS = 64 * 1024;
/** Lines a cut-short line may be joined with. */
const MAX_JOINS = 2;

export interface ImporterOptions {
  format?: FormatChoice;
  /** Keep the tracepoint events in the result (default true); the findings and the replay use them either way. */
  keepEvents?: boolean;
}

interface Pending {
  first: number;
  /** Raw text of each line taken so far (the first included), to process them alone if the join fails. */
  raws: { no: number; raw: string }[];
  text: string;
  reason: string;
  ftrace?: FtraceLine;
  ctx?: LineCtx;
}

export class CaptureImporter {
  private readonly format: FormatChoice;
  private readonly keepEvents: boolean;
  private readonly intern = new Interner();
  /** The header of the line being read (reused: no object per line). */
  private readonly scan: FtraceHeaderScan = newHeaderScan();
  private readonly dmesg: DmesgReader;
  private lineNo = 0;
  private pending: Pending | undefined;
  private readonly findings: Finding[] = [];
  private readonly malformed: Malformed[] = [];
  private readonly unknownSamples: { line: number; text: string }[] = [];
  private readonly acct: LineAccounting = { event: 0, finding: 0, part: 0, ignored: 0, unknown: 0, malformed: 0 };
  private readonly carrier: Record<CaptureFormat, number> = { ftrace: 0, 'trace-cmd': 0, dmesg: 0, journal: 0, syslog: 0 };
  /** Every event, in columns, kept for the replay even when not returned. */
  readonly allEvents = new CaptureEventStore();
  /** Store ids of the comms and irq flags of the last few trace lines (a few CPUs' tasks take turns). */
  private readonly commIds = new RecentIds(4, (comm) => this.allEvents.stringId(comm));
  private readonly flagIds = new RecentIds(4, (flags) => this.allEvents.stringId(flags));
  /** Store ids of the comm and irq flags of the header `scan` last read in full (-1: not looked up yet); a repeated header's are these. */
  private headerComm = -1;
  private headerFlags = 0;
  /** Lines the stream reader cut because they were too long. */
  private readonly cutLines = new Set<number>();

  constructor(opts: ImporterOptions = {}) {
    this.format = opts.format ?? 'auto';
    this.keepEvents = opts.keepEvents ?? true;
    this.dmesg = new DmesgReader((r) => this.recordFinished(r));
  }

  get linesRead(): number {
    return this.lineNo;
  }

  /** Marks the next line as one the stream reader had to cut. */
  markNextLineCut(): void {
    this.cutLines.add(this.lineNo + 1);
  }

  /** One line of the capture, without its newline. */
  push(raw: string): void {
    const no = ++this.lineNo;
    if (this.pending !== undefined) {
      if (this.tryJoin(no, raw)) return;
    }
    this.process(no, raw);
    if (this.dmesg.hasOpen) this.dmesg.expire(no);
  }

  /** End of input. `unterminated`: the last line had no newline (the file may have been cut in it). */
  end(unterminated = false): { incomplete?: { line: number; reason: string } } {
    let incomplete: { line: number; reason: string } | undefined;
    if (this.pending !== undefined) {
      const p = this.pending;
      this.pending = undefined;
      if (unterminated) incomplete = { line: p.first, reason: `the file ends inside line ${p.first} (${p.reason})` };
      this.flushPending(p);
    }
    const open = this.dmesg.end();
    if (open !== undefined && (incomplete === undefined || open.line < incomplete.line)) incomplete = open;
    return incomplete === undefined ? {} : { incomplete };
  }

  /** The result so far (call after end()). */
  result(error?: ImportError): ImportResult {
    const findings = foldRepeats(sortByLine(this.findings));
    this.malformed.sort((a, b) => a.line - b.line);
    const res: ImportResult = {
      format: this.detectedFormat(),
      lines: this.lineNo,
      events: this.keepEvents ? this.allEvents : NO_EVENTS,
      findings,
      unknown: { count: this.acct.unknown, samples: this.unknownSamples },
      malformed: this.malformed,
      accounting: { ...this.acct },
    };
    if (error !== undefined) res.error = error;
    return res;
  }

  private detectedFormat(): CaptureFormat {
    if (this.format === 'ftrace' || this.format === 'trace-cmd') return this.format;
    const c = this.carrier;
    if (this.format === 'dmesg') return c.journal > c.dmesg && c.journal >= c.syslog ? 'journal' : c.syslog > c.dmesg ? 'syslog' : 'dmesg';
    let best: CaptureFormat = 'dmesg';
    for (const k of ['ftrace', 'trace-cmd', 'journal', 'syslog', 'dmesg'] as CaptureFormat[]) if (c[k] > c[best]) best = k;
    return best;
  }

  private get readsTrace(): boolean {
    return this.format !== 'dmesg';
  }

  private get readsLog(): boolean {
    return this.format === 'auto' || this.format === 'dmesg';
  }

  private process(no: number, raw: string): void {
    if (this.cutLines.size !== 0 && this.cutLines.has(no)) {
      this.addMalformed(no, raw, `line longer than ${MAX_LINE_CHARS} characters; cut there`);
      return;
    }
    if (raw.length > MAX_LINE_CHARS) {
      this.addMalformed(no, raw, `line longer than ${MAX_LINE_CHARS} characters`);
      return;
    }
    if (isBlank(raw)) {
      this.acct.ignored++;
      return;
    }
    if (this.readsTrace) {
      const h = this.scan;
      if (scanFtraceHeader(raw, h)) {
        this.carrier[h.flagsStart < 0 ? 'trace-cmd' : 'ftrace']++;
        this.scannedTraceLine(no, raw, h);
        return;
      }
      if (isTraceHeaderLine(raw)) {
        this.acct.ignored++;
        if (/^\s*(?:cpus=|version = )/.test(raw)) this.carrier['trace-cmd']++;
        return;
      }
      const lost = parseLostEvents(raw);
      if (lost !== undefined) {
        const f: Finding = { line: no, kind: 'lost_events', cpu: lost.cpu, message: raw.trim(), reason: 'the trace ring buffer overflowed: events are missing' };
        if (lost.count !== undefined) f.count = lost.count;
        this.findings.push(f);
        this.acct.finding++;
        return;
      }
    }
    if (this.readsLog) {
      const prefix = stripPrefix(raw);
      const ctx: LineCtx = { no, raw, body: prefix.body, prefix };
      const v = this.dmesg.classify(ctx);
      if (v.kind === 'taken') {
        this.countCarrier(prefix.kind);
        return;
      }
      if (v.kind === 'started') {
        this.countCarrier(prefix.kind);
        this.dmesg.add(v.record);
        return;
      }
      if (v.kind === 'partial') {
        this.countCarrier(prefix.kind);
        this.pending = { first: no, raws: [{ no, raw }], text: prefix.body.trimEnd(), reason: v.reason, ctx };
        return;
      }
    }
    if (this.readsTrace) {
      const bare = parseBareEvent(raw);
      if (bare !== undefined && this.isKnownEvent(bare)) {
        this.traceLine(no, raw, bare);
        return;
      }
    }
    this.addUnknown(no, raw);
  }

  private countCarrier(kind: PrefixKind): void {
    this.carrier[kind === 'none' ? 'dmesg' : kind]++;
  }

  private isKnownEvent(h: FtraceLine): boolean {
    const formats = FORMATS_BY_EVENT.get(h.event);
    return formats !== undefined && (h.system === undefined || formats[0].spec.system === h.system);
  }

  /** An ftrace/trace-cmd line: strings are made only for an event of ours. */
  private scannedTraceLine(no: number, raw: string, h: FtraceHeaderScan): void {
    if (!h.repeated) this.headerComm = -1;
    const formats = formatsOfEventAt(raw, h.eventStart, h.eventEnd);
    if (formats === undefined || (h.systemStart >= 0 && !isSpelledAt(raw, h.systemStart, h.systemEnd, formats[0].spec.system))) {
      // Another subsystem's event (sched_switch, ...): counted, not ours.
      this.addUnknown(no, raw);
      return;
    }
    // The payload is matched inside the line when trimming would not change it (printable ASCII at both ends).
    const start = h.payloadStart;
    const first = raw.charCodeAt(start);
    const last = raw.charCodeAt(raw.length - 1);
    const inPlace = first > 32 && first < 127 && last > 32 && last < 127;
    const store = this.allEvents;
    if (inPlace) {
      if (this.headerComm < 0) {
        this.headerComm = this.commIds.get(raw.slice(h.commStart, h.commEnd));
        this.headerFlags = h.flagsStart < 0 ? 0 : this.flagIds.get(raw.slice(h.flagsStart, h.flagsEnd));
      }
      const comm = this.headerComm;
      const flags = this.headerFlags;
      if (storePayloadAt(formats, raw, start, store, no, h.ts, h.cpu, comm, h.pid, flags)) {
        this.eventAdded(store.length - 1, false);
        return;
      }
    }
    const event = raw.slice(h.eventStart, h.eventEnd);
    const parsed = inPlace ? parsePayloadAt(event, formats, raw, start, this.intern) : parsePayload(event, raw.slice(start).trim(), this.intern);
    if (parsed.ok) {
      const comm = this.intern.get(raw.slice(h.commStart, h.commEnd));
      const flags = h.flagsStart < 0 ? undefined : this.intern.get(raw.slice(h.flagsStart, h.flagsEnd));
      this.emitEvent(no, h.ts, h.cpu, comm, h.pid, flags, false, parsed, undefined);
      return;
    }
    this.traceLineFailed(no, raw, headerOf(raw, h), parsed);
  }

  private traceLine(no: number, raw: string, hdr: FtraceLine): void {
    if (!this.isKnownEvent(hdr)) {
      // Another subsystem's event (sched_switch, ...): counted, not ours.
      this.addUnknown(no, raw);
      return;
    }
    const parsed = parsePayload(hdr.event, hdr.payload, this.intern);
    if (parsed.ok) {
      this.emitHeaderEvent(no, hdr, parsed, undefined);
      return;
    }
    this.traceLineFailed(no, raw, hdr, parsed);
  }

  private traceLineFailed(no: number, raw: string, hdr: FtraceLine, parsed: ParsedPayload & { ok: false }): void {
    if (parsed.partial) {
      this.pending = { first: no, raws: [{ no, raw }], text: hdr.payload, reason: `${hdr.event}: ${parsed.reason}`, ftrace: hdr };
      return;
    }
    if (hdr.style === 'bare') this.addUnknown(no, raw);
    else this.addMalformed(no, raw, `${hdr.event}: ${parsed.reason}`);
  }

  /** Whether a line begins a record of its own (so it is not the wrapped tail of the line before). */
  private startsRecord(raw: string): boolean {
    if (raw.trim() === '') return true;
    if (parseFtraceLine(raw) !== undefined || isTraceHeaderLine(raw)) return true;
    const bare = parseBareEvent(raw);
    if (bare !== undefined && this.isKnownEvent(bare)) return true;
    const p = stripPrefix(raw);
    if (p.kind !== 'none') return true;
    return looksLikeKernelRecord(p.body);
  }

  private tryJoin(no: number, raw: string): boolean {
    const p = this.pending;
    if (p === undefined) return false;
    if (raw.length > MAX_LINE_CHARS || this.startsRecord(raw)) {
      this.pending = undefined;
      this.flushPending(p);
      return false;
    }
    const tail = raw.trim();
    p.raws.push({ no, raw });
    for (const text of joinings(p.text, tail)) {
      if (p.ftrace !== undefined) {
        const parsed = parsePayload(p.ftrace.event, text, this.intern);
        if (parsed.ok) {
          this.pending = undefined;
          this.emitHeaderEvent(p.first, p.ftrace, parsed, no);
          this.acct.part += p.raws.length - 1;
          return true;
        }
      } else if (p.ctx !== undefined) {
        const ctx: LineCtx = { ...p.ctx, body: text };
        const r = this.dmesg.start(ctx);
        if (r !== undefined && !isPartial(r)) {
          this.pending = undefined;
          for (const extra of p.raws.slice(1)) r.lines.push(extra.no);
          this.dmesg.add(r);
          return true;
        }
      }
    }
    if (p.raws.length - 1 < MAX_JOINS) {
      p.text = p.text + ' ' + tail;
      return true;
    }
    this.pending = undefined;
    this.flushPending(p);
    return true;
  }

  /** A cut-short line that found no tail: malformed; the lines tried as its tail are read on their own. */
  private flushPending(p: Pending): void {
    const [first, ...rest] = p.raws;
    this.addMalformed(first.no, first.raw, p.reason);
    for (const r of rest) this.process(r.no, r.raw);
  }

  private emitHeaderEvent(no: number, hdr: FtraceLine, parsed: ParsedPayload & { ok: true }, endLine: number | undefined): void {
    const comm = hdr.comm === undefined ? undefined : this.intern.get(hdr.comm);
    const flags = hdr.flags === undefined ? undefined : this.intern.get(hdr.flags);
    this.emitEvent(no, hdr.ts, hdr.cpu, comm, hdr.pid, flags, hdr.style === 'bare', parsed, endLine);
  }

  private emitEvent(no: number, ts: number | undefined, cpu: number | undefined, comm: string | undefined, pid: number | undefined, flags: string | undefined, bare: boolean, parsed: ParsedPayload & { ok: true }, endLine: number | undefined): void {
    this.eventAdded(this.allEvents.addValues(parsed.format, parsed.values, no, ts, cpu, comm, pid, flags, endLine), bare);
  }

  /** Counts event i; a tracepoint that is itself a finding also gives one. */
  private eventAdded(i: number, bare: boolean): void {
    this.acct.event++;
    if (bare) this.carrier.ftrace++;
    const kind = this.allEvents.kindAt(i);
    if (kind === 'io_page_fault' || kind === 'dma_map_sg_err' || kind === 'dma_alloc_sgt_err') {
      const finding = findingOfEvent(this.allEvents.at(i));
      if (finding !== undefined) this.findings.push(finding);
    }
  }

  private recordFinished(r: FinishedRecord): void {
    for (const f of r.findings) this.findings.push(f);
    for (const m of r.malformed) this.malformed.push(m);
    this.acct.finding += r.findingLines;
    this.acct.malformed += r.malformedLines;
    this.acct.part += r.partLines;
  }

  private addUnknown(no: number, raw: string): void {
    this.acct.unknown++;
    if (this.unknownSamples.length < UNKNOWN_SAMPLES) this.unknownSamples.push({ line: no, text: clip(raw) });
  }

  private addMalformed(no: number, raw: string, reason: string): void {
    this.acct.malformed++;
    this.malformed.push({ line: no, text: clip(raw), reason });
  }
}

/**
 * Ways a cut line and its tail may go together: a quoted-printable soft
 * break ("=" at the end, "=3D" for "=") joins without a space, a mail
 * client's wrap with one, a wrap inside a word without.
 */
function joinings(head: string, tail: string): string[] {
  if (head.endsWith('=')) return [head.slice(0, -1).replace(/=3D/g, '=') + tail.replace(/=3D/g, '='), head + ' ' + tail];
  return [head + ' ' + tail, head + tail];
}

const NOT_BLANK = /\S/;

/** raw.trim() === '' without making the trimmed string (an ftrace line starts with spaces). */
function isBlank(raw: string): boolean {
  const c = raw.charCodeAt(0);
  // Most lines start with a printable character; an ftrace line starts with spaces but ends with one.
  if (c > 32 && c < 127) return false;
  const last = raw.charCodeAt(raw.length - 1);
  if (last > 32 && last < 127) return false;
  return !NOT_BLANK.test(raw);
}

/** Whether raw[from, to) is `word`. */
function isSpelledAt(raw: string, from: number, to: number, word: string): boolean {
  return to - from === word.length && raw.startsWith(word, from);
}

/** Text of a line as the result shows it: at most 300 characters. */
function clip(raw: string): string {
  return raw.length > 300 ? raw.slice(0, 300) + '…' : ownString(raw);
}

/** A tracepoint that is itself a finding: a translation fault, a failed mapping. */
function findingOfEvent(ev: CaptureEvent): Finding | undefined {
  if (ev.kind === 'io_page_fault') {
    const f: Finding = { line: ev.line, kind: 'io_page_fault', source: 'iommu:io_page_fault' };
    if (ev.device !== undefined) f.device = ev.device;
    if (ev.addr !== undefined) f.addr = ev.addr;
    if (ev.access !== undefined) f.access = ev.access;
    f.driver = ev.driver;
    f.flags = ev.flags;
    f.reason = 'io_page_fault tracepoint (report_iommu_fault)';
    f.message = `io_page_fault: IOMMU:${String(ev.driver)} ${ev.device ?? '?'} iova=${ev.addr ?? '?'} flags=${String(ev.flags)}`;
    copyTime(ev, f);
    return f;
  }
  if (ev.kind === 'dma_map_sg_err' || ev.kind === 'dma_alloc_sgt_err') {
    const f: Finding = { line: ev.line, kind: 'dma_map_error', event: ev.kind };
    if (ev.device !== undefined) f.device = ev.device;
    if (ev.size !== undefined) f.size = ev.size;
    if (typeof ev.err === 'number') f.err = ev.err;
    f.reason = ev.kind === 'dma_map_sg_err' ? `dma_map_sg failed (${String(ev.err)})` : 'dma_alloc_noncontiguous failed';
    f.message = f.reason as string;
    copyTime(ev, f);
    return f;
  }
  return undefined;
}

function copyTime(ev: CaptureEvent, f: Finding): void {
  if (ev.ts !== undefined) f.ts = ev.ts;
  if (ev.cpu !== undefined) f.cpu = ev.cpu;
  if (ev.endLine !== undefined) f.endLine = ev.endLine;
}
