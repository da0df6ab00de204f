// The kernel-log reader: offers each line to the open multi-line records,
// newest first, then to the message matchers of each driver; finishes a
// record when it is complete or has waited long enough for its next part.

import type { Finding, Malformed } from '../types';
import { SharedStrings, detachStrings } from '../values';
import { looksLikeAmdVi, startAmdVi } from './amd-vi';
import { looksLikeArmSmmu, startArmSmmu } from './arm-smmu';
import { looksLikeArmSmmuV3, startArmSmmuV3 } from './arm-smmu-v3';
import { looksLikeDmar, startDmar } from './intel-dmar';
import { startIommuCore } from './iommu-core';
import { startRatelimit } from './ratelimit';
import { type LineCtx, type OpenRecord, type Partial, type RecordSink, isPartial } from './record';
import { SplatRecord, looksLikeSplat } from './splat';
import { looksLikeSwiotlb, startSwiotlb } from './swiotlb';

/** How the lines of a finished record were used (the reader reuses the object and its arrays: valid during the call). */
export interface FinishedRecord {
  findings: Finding[];
  malformed: Malformed[];
  /** Lines that carry a finding's main text. */
  findingLines: number;
  /** Lines reported malformed. */
  malformedLines: number;
  /** The record's other lines. */
  partLines: number;
}

export type DmesgVerdict = { kind: 'taken' } | { kind: 'started'; record: OpenRecord } | { kind: 'partial'; reason: string } | { kind: 'none' };

/** The verdicts without data, made once (classify runs on every kernel-log line). */
const TAKEN: DmesgVerdict = Object.freeze({ kind: 'taken' });
const NONE: DmesgVerdict = Object.freeze({ kind: 'none' });

type Starter = (ctx: LineCtx) => OpenRecord | Partial | undefined;

/** Each matcher behind a cheap test of the line, so an unrelated line costs a few substring searches. */
const STARTERS: [(body: string) => boolean, Starter][] = [
  [(b) => b.includes('suppressed'), startRatelimit],
  [(b) => looksLikeDmar(b), startDmar],
  [(b) => b.includes('Event logged ['), startAmdVi],
  [(b) => b.includes('context fault'), startArmSmmu],
  [(b) => b.includes(' received:'), startArmSmmuV3],
  [(b) => b.includes('swiotlb') || b.includes('SW-IOMMU') || b.includes('SWIOTLB') || b.includes(' overflow (mask'), startSwiotlb],
  [(b) => b.includes('unaligned: '), startIommuCore],
];
/** Words one of which every splat line has; the splat matcher runs only on such lines. */
const SPLAT_HINT = /cut here|WARNING:|BUG|general protection|Oops|Internal error|Unable to handle|Kernel panic|DMA-API|Modules linked in|CPU: \d|Hardware name|Workqueue:|RIP:|EIP:|Code:|Call [Tt]race|Mapped at|pc : |lr : |PC is at|LR is at|\+0x/;

/**
 * The words of STARTERS' tests and SPLAT_HINT in one regex: a line with
 * none of them (and no VT-d tag) starts nothing, found in one pass instead
 * of ten (most kernel-log lines are such lines). The words are grouped by
 * their first characters behind a lookahead of those characters: Irregexp
 * then tries the groups only where one can begin (about 14 % fewer
 * instructions a line than the plain list of words). The gate's tests hold
 * it equal to the matchers' own tests.
 */
const ANY_HINT =
  /(?=[sEc uSWBgOIUKDMCHRplPL+])(?:s(?:uppressed|wiotlb)|Event logged \[|c(?:ontext fault|ut here)| (?:received:|overflow \(mask)|SW(?:-IOMMU|IOTLB)|unaligned: |W(?:ARNING:|orkqueue:)|BUG|general protection|Oops|Internal error|Unable to handle|Kernel panic|DMA-API|M(?:odules linked in|apped at)|C(?:PU: \d|ode:|all [Tt]race)|Hardware name|[RE]IP:|(?:pc|lr) : |(?:PC|LR) is at|\+0x)/;

/** Whether start() can find anything on `body`: false only when every matcher's test is. */
export function mayStart(body: string): boolean {
  return looksLikeDmar(body) || ANY_HINT.test(body);
}

/** mayStart() the slow way, by each matcher's own test (the tests hold the two equal). */
export function mayStartByEachTest(body: string): boolean {
  for (const [may] of STARTERS) if (may(body)) return true;
  return SPLAT_HINT.test(body);
}

/** Cheap test whether a kernel-log line is one the matchers know (a wrapped tail never is). */
export function looksLikeKernelRecord(body: string): boolean {
  return looksLikeDmar(body) || looksLikeAmdVi(body) || looksLikeArmSmmu(body) || looksLikeArmSmmuV3(body) || looksLikeSwiotlb(body) || looksLikeSplat(body) || body.includes('callbacks suppressed') || body.includes('unaligned: iova');
}

/** The distinct numbers of a record's lines (a record is a few lines: no set needed, except for a long one). */
function distinct(lines: readonly number[]): readonly number[] {
  if (lines.length > 32) return [...new Set(lines)];
  for (let i = 1; i < lines.length; i++) if (lines.indexOf(lines[i]) < i) return lines.filter((l, k) => lines.indexOf(l) === k);
  return lines;
}

function hasLine(items: readonly { line: number }[], line: number): boolean {
  for (const x of items) if (x.line === line) return true;
  return false;
}

export class DmesgReader {
  private open: OpenRecord[] = [];
  /** The strings this import's findings repeat, one copy each. */
  private readonly shared = new SharedStrings();
  /** What a finishing record emits, and its verdict: one of each per reader, reused. */
  private readonly finished: FinishedRecord = { findings: [], malformed: [], findingLines: 0, malformedLines: 0, partLines: 0 };
  private readonly sink: RecordSink = {
    finding: (f) => this.finished.findings.push(f),
    malformed: (m) => this.finished.malformed.push(m),
  };

  constructor(private readonly onFinished: (r: FinishedRecord) => void) {}

  /** Whether any record is waiting for more lines. */
  get hasOpen(): boolean {
    return this.open.length > 0;
  }

  /** Tries the line on the open records, then on the matchers; does not finish anything. */
  classify(ctx: LineCtx): DmesgVerdict {
    for (let i = this.open.length - 1; i >= 0; i--) {
      const rec = this.open[i];
      if (rec.offer(ctx)) {
        if (rec.done) this.finishAt(i, false);
        return TAKEN;
      }
    }
    const started = this.start(ctx);
    if (started === undefined) return NONE;
    if (isPartial(started)) return { kind: 'partial', reason: started.reason };
    return { kind: 'started', record: started };
  }

  /** Runs the matchers alone on a line (or a line joined from a wrapped one). */
  start(ctx: LineCtx): OpenRecord | Partial | undefined {
    const body = ctx.body;
    if (!mayStart(body)) return undefined;
    let partial: Partial | undefined;
    for (const [may, s] of STARTERS) {
      if (!may(body)) continue;
      const r = s(ctx);
      if (r === undefined) continue;
      if (isPartial(r)) {
        partial ??= r;
        continue;
      }
      return r;
    }
    if (SPLAT_HINT.test(body) && SplatRecord.starts(body)) return new SplatRecord(ctx);
    return partial;
  }

  /** Adds a started record: finished at once when complete; a new splat ends the ones before it. */
  add(record: OpenRecord): void {
    if (record instanceof SplatRecord) {
      for (let i = this.open.length - 1; i >= 0; i--) if (this.open[i] instanceof SplatRecord) this.finishAt(i, false);
    }
    if (record.done) this.finishRecord(record, false);
    else this.open.push(record);
  }

  /** Finishes records that waited longer than their patience for a next line. */
  expire(lineNo: number): void {
    for (let i = this.open.length - 1; i >= 0; i--) {
      const rec = this.open[i];
      if (lineNo - rec.lastLine > rec.patience) this.finishAt(i, false);
    }
  }

  /** End of input: finishes every open record; returns why the first incomplete one is incomplete. */
  end(): { line: number; reason: string } | undefined {
    let incomplete: { line: number; reason: string } | undefined;
    for (const rec of this.open) {
      const why = rec.incompleteAtEof();
      if (why !== undefined && (incomplete === undefined || rec.firstLine < incomplete.line)) incomplete = { line: rec.firstLine, reason: why };
    }
    while (this.open.length > 0) this.finishAt(0, true);
    return incomplete;
  }

  private finishAt(i: number, atEof: boolean): void {
    const [rec] = this.open.splice(i, 1);
    this.finishRecord(rec, atEof);
  }

  private finishRecord(rec: OpenRecord, atEof: boolean): void {
    const out = this.finished;
    const findings = out.findings;
    const malformed = out.malformed;
    findings.length = 0;
    malformed.length = 0;
    rec.finish(this.sink, atEof);
    for (const f of findings) {
      if (f.endLine === undefined && rec.lastLine > f.line) f.endLine = rec.lastLine;
      detachStrings(f, this.shared);
    }
    for (const m of malformed) detachStrings(m as unknown as Record<string, unknown>);
    const lines = distinct(rec.lines);
    let bad = 0;
    let main = 0;
    for (const l of lines) {
      if (hasLine(malformed, l)) bad++;
      else if (hasLine(findings, l)) main++;
    }
    out.findingLines = main;
    out.malformedLines = bad;
    out.partLines = lines.length - main - bad;
    this.onFinished(out);
  }
}
