// Arm SMMUv3 event queue records (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c):
//   "arm-smmu-v3 <smmu>: event 0x%02x received:" then the record's four
//   64-bit words, one per line ("\t0x%016llx"); newer kernels follow with
//   "event: F_TRANSLATION client: <dev> sid: %#x ssid: %#x iova: %#llx ipa: %#llx"
//   and "unpriv data write s1 \"Input address caused fault\" stag: %#x".
// Raw-only dumps are decoded here from the words (EVTQ_0_ID, EVTQ_0_SID,
// EVTQ_1_RnW, ...), so both forms give the same finding.

import { devName } from '../values';
import { type LineCtx, OpenRecord, type Partial, type RecordSink, base, devPrefix } from './record';
import type { Finding } from '../types';

const RECEIVED = /^event 0x([0-9a-fA-F]{1,2}) received:\s*$/;
const WORD = /^\s*0x([0-9a-fA-F]{16})\s*$/;
const DECODED = /^event: (\S+) client: (.+?) sid: (0x[0-9a-fA-F]+|0) ssid: (0x[0-9a-fA-F]+|0)(?: iova: (0x[0-9a-fA-F]+|0) ipa: (0x[0-9a-fA-F]+|0)| fetch_addr: (0x[0-9a-fA-F]+|0))?\s*$/;
const ACCESS = /^(priv|unpriv) (inst|data) (read|write) (s1|s2) "([^"]*)"((?: ttd_read| ttd_write)?)((?: stall)?) stag: (0x[0-9a-fA-F]+|0)\s*$/;

const EVENT_NAMES: Record<number, string> = {
  0x01: 'F_UUT',
  0x02: 'C_BAD_STREAMID',
  0x03: 'F_STE_FETCH',
  0x04: 'C_BAD_STE',
  0x05: 'F_BAD_ATS_TREQ',
  0x06: 'F_STREAM_DISABLED',
  0x07: 'F_TRANSL_FORBIDDEN',
  0x08: 'C_BAD_SUBSTREAMID',
  0x09: 'F_CD_FETCH',
  0x0a: 'C_BAD_CD',
  0x0b: 'F_WALK_EABT',
  0x10: 'F_TRANSLATION',
  0x11: 'F_ADDR_SIZE',
  0x12: 'F_ACCESS',
  0x13: 'F_PERMISSION',
  0x20: 'F_TLB_CONFLICT',
  0x21: 'F_CFG_CONFLICT',
  0x24: 'E_PAGE_REQUEST',
  0x25: 'F_VMS_FETCH',
};
/** The translation faults: a device access the tables did not allow. */
const TRANSLATION_FAULTS = new Set([0x10, 0x11, 0x12, 0x13]);
/** EVTQ_1_CLASS: which access of the walk faulted. */
const CLASS_TEXT = ['CD fetch', 'Stage 1 translation table fetch', 'Input address caused fault', 'Reserved'];

/** Bits 63..32 of a word's 16 hex digits (numbers, not BigInts: a record is decoded per fault). */
function high(word: string): number {
  return parseInt(word.slice(0, 8), 16);
}

/** Bits 31..0 of a word's 16 hex digits. */
function low(word: string): number {
  return parseInt(word.slice(8), 16);
}

/** A word's value as canonical hex: its digits without leading zeros. */
function wordHex(word: string): string {
  let i = 0;
  while (i < 15 && word.charCodeAt(i) === 48) i++;
  return '0x' + word.slice(i);
}

class EventRecord extends OpenRecord {
  /** The record's words as printed: 16 lowercase hex digits each. */
  private readonly words: string[] = [];
  private readonly decode: string[] = [];
  private readonly f: Finding;

  constructor(
    first: LineCtx,
    private readonly smmu: string,
    private readonly id: number,
    message: string,
  ) {
    super(first);
    this.f = base(first, TRANSLATION_FAULTS.has(id) ? 'io_page_fault' : 'iommu_event');
    this.f.source = 'arm-smmu-v3';
    this.f.iommu = smmu;
    this.f.event_id = '0x' + id.toString(16).padStart(2, '0');
    this.f.event = EVENT_NAMES[id] ?? 'UNKNOWN';
    this.f.message = message;
  }

  offer(ctx: LineCtx): boolean {
    const p = devPrefix(ctx.body);
    if (!p || p.device !== this.smmu) return false;
    if (this.words.length < 4) {
      const w = WORD.exec(p.rest);
      if (!w) return false;
      this.words.push(w[1].toLowerCase());
      this.f.endLine = ctx.no;
      return this.take(ctx);
    }
    const d = DECODED.exec(p.rest);
    if (d && this.decode.length === 0) {
      this.decode.push(p.rest);
      this.f.event = d[1];
      const client = devName(d[2]);
      if (client !== undefined) this.f.device = client;
      this.f.sid = d[3] === '0' ? '0x0' : d[3].toLowerCase();
      this.f.ssid = d[4] === '0' ? '0x0' : d[4].toLowerCase();
      if (d[5] !== undefined) this.f.addr = d[5] === '0' ? '0x0' : d[5].toLowerCase();
      if (d[6] !== undefined) this.f.ipa = d[6] === '0' ? '0x0' : d[6].toLowerCase();
      if (d[7] !== undefined) this.f.fetch_addr = d[7].toLowerCase();
      this.f.endLine = ctx.no;
      if (d[5] === undefined) this.done = true;
      return this.take(ctx);
    }
    const a = ACCESS.exec(p.rest);
    if (a && this.decode.length === 1) {
      this.decode.push(p.rest);
      this.f.privileged = a[1] === 'priv';
      this.f.instruction = a[2] === 'inst';
      this.f.access = a[3] as 'read' | 'write';
      this.f.stage = a[4];
      this.f.class = a[5];
      this.f.reason = `${this.f.event as string}: ${a[5]}`;
      this.f.stall = a[7] !== '';
      this.f.stag = a[8] === '0' ? '0x0' : a[8];
      this.f.endLine = ctx.no;
      this.done = true;
      return this.take(ctx);
    }
    return false;
  }

  override get patience(): number {
    return 6;
  }

  finish(sink: RecordSink): void {
    const f = this.f;
    if (this.words.length === 4) {
      this.decodeWords(f);
    } else {
      sink.malformed({
        line: this.firstLine,
        text: this.firstText,
        reason: `SMMUv3 event record with ${this.words.length} of its 4 words`,
      });
    }
    if (this.words.length > 0) f.raw = this.words.map((w) => '0x' + w);
    if (f.reason === undefined) f.reason = f.event as string;
    if (this.decode.length > 0) f.decode = this.decode;
    if (this.words.length === 4 || this.decode.length > 0) sink.finding(f);
  }

  /** Fills what the decode lines did not give from the raw words (the layout of struct arm_smmu_event's source). */
  private decodeWords(f: Finding): void {
    const [w0, w1, w2, w3] = this.words;
    const hi0 = high(w0);
    const lo0 = low(w0);
    const hi1 = high(w1);
    const lo1 = low(w1);
    const id = lo0 & 0xff;
    if (id !== this.id) f.raw_event_id_mismatch = true;
    if (f.sid === undefined) f.sid = '0x' + hi0.toString(16);
    if (f.ssid === undefined && (lo0 >>> 11) & 1) f.ssid = '0x' + (lo0 >>> 12).toString(16);
    if (!TRANSLATION_FAULTS.has(id)) return;
    if (f.access === undefined) f.access = (hi1 >>> 3) & 1 ? 'read' : 'write';
    if (f.privileged === undefined) f.privileged = ((hi1 >>> 1) & 1) === 1;
    if (f.instruction === undefined) f.instruction = ((hi1 >>> 2) & 1) === 1;
    if (f.stage === undefined) f.stage = (hi1 >>> 7) & 1 ? 's2' : 's1';
    if (f.class === undefined) f.class = CLASS_TEXT[(hi1 >>> 8) & 3];
    if (f.stall === undefined) f.stall = lo1 >>> 31 === 1;
    if (f.stag === undefined) f.stag = '0x' + (lo1 & 0xffff).toString(16);
    if (f.addr === undefined) f.addr = wordHex(w2);
    if (f.ipa === undefined) f.ipa = '0x' + ((high(w3) & 0xfffff) * 0x1_0000_0000 + ((low(w3) & 0xfffff000) >>> 0)).toString(16);
    if (f.reason === undefined) f.reason = `${f.event as string}: ${f.class as string}`;
  }

  override incompleteAtEof(): string | undefined {
    return this.words.length < 4 ? `the SMMUv3 event record at line ${this.firstLine} has ${this.words.length} of its 4 words` : undefined;
  }
}

export function startArmSmmuV3(ctx: LineCtx): OpenRecord | Partial | undefined {
  const p = devPrefix(ctx.body);
  if (!p) return undefined;
  const m = RECEIVED.exec(p.rest);
  if (!m) return undefined;
  return new EventRecord(ctx, p.device, parseInt(m[1], 16), p.rest);
}

export function looksLikeArmSmmuV3(body: string): boolean {
  return body.includes(' received:') || /: \s*0x[0-9a-fA-F]{16}\s*$/.test(body) || body.includes(': event: ');
}
