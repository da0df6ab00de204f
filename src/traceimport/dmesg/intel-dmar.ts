// Intel VT-d fault reports (drivers/iommu/intel/dmar.c, dmar_fault_do_one),
// in every form the kernel has printed them:
//   3.x   "dmar: DMAR:[DMA Read] Request device [bb:dd.f] fault addr %llx \n"
//         "DMAR:[fault reason %02d] %s"                 (two lines)
//   4.x   "DMAR: [DMA Read] Request device [..] fault addr %llx [fault reason %02d] %s"
//   5.x   "... [..] PASID %x fault addr %llx [fault reason %02d] %s"
//   5.14+ "DMAR: [DMA Read NO_PASID] Request device [..] fault addr 0x%llx [fault reason 0x%02x] %s"
//         "DMAR: [DMA Write PASID 0x%x] ..."; scalable-mode reasons ("SM: ...")
//   "[INTR-REMAP] Request device [..] fault index 0x%llx [fault reason ..] %s"
// preceded by "DRHD: handling fault status reg %x", and followed with
// CONFIG_DMAR_DEBUG by the page-table dump of the faulting address.

import { canonHex, pciDevName } from '../values';
import { type LineCtx, OpenRecord, type Partial, type RecordSink, base, isPartial } from './record';
import type { Finding } from '../types';

// Patterns of the functions below, made once (a regex literal in a function is a new RegExp object at each call).
const HEX_MARK = /0x/g;

const DMAR_TAG = /^(?:dmar: ?){1,2}/i;
const STATUS = /^DRHD: handling fault status reg ([0-9a-fA-F]+)\s*$/;
const FAULT =
  /^\[([A-Za-z][A-Za-z -]*?)(?: (NO_PASID|w\/o PASID)| (?:w\/ )?PASID (?:0x)?([0-9a-fA-F]+))?\] Request device \[([^\]]*)\](?: PASID ([0-9a-fA-F]+))? fault (addr|index) (?:0x)?([0-9a-fA-F]+)\s*(?:\[fault reason (0x[0-9a-fA-F]+|[0-9a-fA-F]+h|\d+)\]\s*(.*))?$/;
const FAULT_3X_IR = /^INTR-REMAP: Request device \[\[?([^\]]*)\] fault index ([0-9a-fA-F]+)\s*$/;
const REASON = /^(?:INTR-REMAP:)?\[fault reason (0x[0-9a-fA-F]+|[0-9a-fA-F]+h|\d+)\]\s*(.*)$/;
const DUMP =
  /^(?:Dump dmar\d+ table entries for IOVA 0x[0-9a-fA-F]+|(?:scalable mode )?root entry: |(?:scalable mode )?context entry: |pasid dir entry: |pasid table entry\[\d+\]: |pte level: \d+|page table not present at level \d+|No (?:root|context|pasid) entry)/;

/** The VT-d text of a line with its `DMAR: ` tag removed, or undefined when the line is not VT-d's. */
function dmarText(body: string): string | undefined {
  const tag = DMAR_TAG.exec(body);
  if (tag) return body.slice(tag[0].length);
  return body.startsWith('INTR-REMAP') ? body : undefined;
}

/** `[fault reason ..]`: hex since 5.14 (`0x02`, proposed `02h`), decimal before (`%02d`). */
function reasonNumber(text: string): number {
  if (text.startsWith('0x')) return parseInt(text.slice(2), 16);
  if (text.endsWith('h')) return parseInt(text.slice(0, -1), 16);
  return parseInt(text, 10);
}

class DmarFaultRecord extends OpenRecord {
  private fault: Finding | undefined;
  private status: string | undefined;
  private waitingForReason = false;
  private dumpLines = 0;

  constructor(first: LineCtx, status: string | undefined, fault: { f: Finding; needsReason: boolean } | undefined) {
    super(first);
    this.status = status;
    if (fault) this.setFault(fault.f, fault.needsReason);
  }

  private setFault(f: Finding, needsReason: boolean): void {
    this.fault = f;
    if (this.status !== undefined) f.fault_status = this.status;
    this.waitingForReason = needsReason;
  }

  offer(ctx: LineCtx): boolean {
    const t = dmarText(ctx.body);
    if (t === undefined) return false;
    if (this.fault === undefined) {
      const parsed = parseFault(ctx, t);
      if (parsed === undefined || isPartial(parsed)) return false;
      this.setFault(parsed.f, parsed.needsReason);
      return this.take(ctx);
    }
    if (this.waitingForReason) {
      const r = REASON.exec(t);
      if (r) {
        this.fault.fault_reason = reasonNumber(r[1]);
        this.fault.reason = r[2].trim();
        this.fault.message = `${this.fault.message as string} ${t}`;
        this.waitingForReason = false;
        return this.take(ctx);
      }
      return false;
    }
    if (DUMP.test(t)) {
      this.dumpLines++;
      const dump = (this.fault.dump as string[] | undefined) ?? [];
      if (dump.length < 16) dump.push(t);
      this.fault.dump = dump;
      return this.take(ctx);
    }
    return false;
  }

  finish(sink: RecordSink): void {
    if (this.fault) sink.finding(this.fault);
  }
}

type ParsedFault = { f: Finding; needsReason: boolean } | Partial;

function parseFault(ctx: LineCtx, t: string): ParsedFault | undefined {
  const m = FAULT.exec(t);
  if (!m) {
    const ir = FAULT_3X_IR.exec(t);
    if (ir) return { f: faultFinding(ctx, t, 'INTR-REMAP', ir[1], undefined, 'index', ir[2]), needsReason: true };
    if (/^\[[A-Za-z -]+(?: [A-Za-z_/]+(?: (?:0x)?[0-9a-fA-F]+)?)?\] Request device/.test(t)) {
      return { partial: true, reason: 'VT-d fault line does not match any known format (cut short?)' };
    }
    return undefined;
  }
  const [, type, noPasid, pasidNew, requester, pasidOld, what, addr, reasonNo, reasonText] = m;
  const f = faultFinding(ctx, t, type, requester, pasidNew ?? pasidOld, what, addr);
  if (noPasid !== undefined) f.pasid_present = false;
  if (reasonNo !== undefined) {
    f.fault_reason = reasonNumber(reasonNo);
    f.reason = (reasonText ?? '').trim();
    return { f, needsReason: false };
  }
  return { f, needsReason: true };
}

function faultFinding(ctx: LineCtx, t: string, type: string, requester: string, pasidHex: string | undefined, what: string, addr: string): Finding {
  const interrupt = what === 'index' || type === 'INTR-REMAP';
  const f = base(ctx, interrupt ? 'intr_remap_fault' : 'io_page_fault');
  f.source = 'intel-dmar';
  const dev = pciDevName(requester.replace(HEX_MARK, ''));
  if (dev !== undefined) f.device = dev;
  f.request_device = requester;
  if (interrupt) {
    f.fault_index = canonHex(addr);
  } else {
    f.addr = canonHex(addr);
    if (type === 'DMA Read') f.access = 'read';
    else if (type === 'DMA Write') f.access = 'write';
  }
  f.type = type;
  if (pasidHex !== undefined) {
    const p = parseInt(pasidHex, 16);
    // 5.x printed every fault with "PASID %x", -1 (ffffffff) when the request had none.
    if (p !== 0xffffffff && Number.isSafeInteger(p)) f.pasid = p;
    else f.pasid_present = false;
  }
  f.message = t.trimEnd();
  return f;
}

/** Starts a VT-d record on `ctx`, or says the line is a cut-short VT-d fault, or is not VT-d's. */
export function startDmar(ctx: LineCtx): OpenRecord | Partial | undefined {
  const t = dmarText(ctx.body);
  if (t === undefined) return undefined;
  const st = STATUS.exec(t);
  if (st) return new DmarFaultRecord(ctx, st[1].toLowerCase(), undefined);
  const parsed = parseFault(ctx, t);
  if (parsed === undefined) return undefined;
  if (isPartial(parsed)) return parsed;
  return new DmarFaultRecord(ctx, undefined, parsed);
}

/** Cheap test: could this line be a VT-d fault or its parts? */
export function looksLikeDmar(body: string): boolean {
  const c = body.charCodeAt(0);
  // "dmar: ", "DMAR: ", "INTR-REMAP": test the first letter before any regex.
  if (c !== 100 && c !== 68 && c !== 73) return false;
  return DMAR_TAG.test(body) || body.startsWith('INTR-REMAP');
}
