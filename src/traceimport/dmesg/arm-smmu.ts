// Arm SMMUv2 context faults (drivers/iommu/arm/arm-smmu/arm-smmu.c):
//   "arm-smmu <smmu>: Unhandled context fault: fsr=0x%x, iova=0x%08lx, fsynr=0x%x, cbfrsynra=0x%x, cb=%d"
// (no cbfrsynra before ~5.2; "iova=..., fsynr=..., cb=%d" in 3.x), followed
// on newer and Qualcomm kernels by decode lines from the same SMMU:
//   "FSR    = %08x [Format=%u TF ...], SID=0x%x", "FSYNR0 = %08x [S1CBNDX=%u PNU PLVL=%u]".
// The SMMU, not the master, prints it: the faulting master is known only by
// its stream ID (cbfrsynra / SID), kept as `sid` beside the SMMU's name.

import { canonHex, cInt } from '../values';
import { type LineCtx, OpenRecord, type Partial, type RecordSink, base, devPrefix, keyValues } from './record';
import type { Finding } from '../types';

// Patterns of the functions below, made once (a regex literal in a function is a new RegExp object at each call).
const DECODE_SID = /SID=(0x[0-9a-fA-F]+)/;

const FAULT = /^Unhandled context fault: (.*)$/;
const DECODE = /^(FSR|FSYNR0|FSYNR1|FAR|PAR|TTBR0|TTBR1|CONTEXTIDR|SCTLR|TCR|MAIR0|CBAR|Client info|soft iova-to-phys|hard iova-to-phys|SOFTWARE TABLE WALK)\b\s*(.*)$/;

/** ARM_SMMU_CB_FSR bits, low to high, and what each means. */
const FSR_BITS: [number, string, string][] = [
  [1, 'TF', 'translation fault'],
  [2, 'AFF', 'access flag fault'],
  [3, 'PF', 'permission fault'],
  [4, 'EF', 'external fault'],
  [5, 'TLBMCF', 'TLB match conflict'],
  [6, 'TLBLKF', 'TLB lock fault'],
  [7, 'ASF', 'address size fault'],
  [8, 'UUT', 'unsupported upstream transaction'],
  [30, 'SS', 'stalled'],
  [31, 'MULTI', 'multiple faults'],
];
const FSYNR0_WNR = 1 << 4;

/** The last FSR decoded and its text (an SMMU repeats the same fault). */
let lastFsr = -1;
let lastFsrText = '';

function decodeFsr(fsr: number): string {
  if (fsr === lastFsr) return lastFsrText;
  let text = '';
  for (let k = 0; k < FSR_BITS.length; k++) {
    const b = FSR_BITS[k];
    if ((fsr >>> b[0]) & 1) text = text === '' ? b[2] : text + ', ' + b[2];
  }
  lastFsr = fsr;
  lastFsrText = text === '' ? 'context fault' : text;
  return lastFsrText;
}

class ContextFaultRecord extends OpenRecord {
  constructor(
    first: LineCtx,
    private readonly smmu: string,
    private readonly f: Finding,
  ) {
    super(first);
  }

  offer(ctx: LineCtx): boolean {
    const p = devPrefix(ctx.body);
    if (!p || p.device !== this.smmu) return false;
    const d = DECODE.exec(p.rest);
    if (!d) return false;
    const decode = (this.f.decode as string[] | undefined) ?? [];
    decode.push(p.rest);
    this.f.decode = decode;
    const sid = DECODE_SID.exec(p.rest);
    if (sid) this.f.sid = sid[1].toLowerCase();
    this.f.endLine = ctx.no;
    return this.take(ctx);
  }

  override get patience(): number {
    return 4;
  }

  finish(sink: RecordSink): void {
    sink.finding(this.f);
  }
}

export function startArmSmmu(ctx: LineCtx): OpenRecord | Partial | undefined {
  const p = devPrefix(ctx.body);
  if (!p) return undefined;
  const m = FAULT.exec(p.rest);
  if (!m) return undefined;
  const kv = keyValues(m[1]);
  if (kv.iova === undefined || kv.cb === undefined) {
    return { partial: true, reason: 'arm-smmu context fault without its iova or cb field (cut short?)' };
  }
  const f = base(ctx, 'io_page_fault');
  f.source = 'arm-smmu';
  f.iommu = p.device;
  const iova = canonHex(kv.iova);
  if (iova !== undefined) f.addr = iova;
  const fsr = kv.fsr !== undefined ? cInt(kv.fsr) : undefined;
  const fsynr = kv.fsynr !== undefined ? cInt(kv.fsynr) : undefined;
  if (kv.fsr !== undefined) f.fsr = kv.fsr;
  if (kv.fsynr !== undefined) f.fsynr = kv.fsynr;
  if (kv.cbfrsynra !== undefined) {
    f.cbfrsynra = kv.cbfrsynra;
    const sid = cInt(kv.cbfrsynra);
    // CBFRSYNRA[15:0] is the stream ID of the faulting transaction.
    if (sid !== undefined) f.sid = '0x' + (sid & 0xffff).toString(16);
  }
  const cb = cInt(kv.cb);
  if (cb !== undefined) f.cb = cb;
  if (fsynr !== undefined) f.access = fsynr & FSYNR0_WNR ? 'write' : 'read';
  f.reason = fsr !== undefined ? decodeFsr(fsr) : 'context fault';
  f.message = p.rest;
  return new ContextFaultRecord(ctx, p.device, f);
}

export function looksLikeArmSmmu(body: string): boolean {
  return body.includes('context fault') || /: (?:FSR|FSYNR0|FSYNR1|FAR|PAR) /.test(body);
}
