// AMD-Vi event log reports (drivers/iommu/amd/iommu.c, iommu_print_event and
// amd_iommu_report_page_fault):
//   old    "AMD-Vi: Event logged [" + "IO_PAGE_FAULT device=bb:dd.f domain=0x%04x address=0x%016llx flags=0x%04x]"
//          printed in two pieces, so syslog often shows them as two lines
//   4.20+  "nvme 0000:01:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x%04x address=0x%llx flags=0x%04x]"
//          (per device, ratelimited per device), or without a known device
//          "AMD-Vi: Event logged [IO_PAGE_FAULT device=%04x:%02x:%02x.%x domain=... address=... flags=...]"
//   6.x    "... flags=0x%04x vflags=%#x]"
// and the other event types (INVALID_DEVICE_REQUEST, ILLEGAL_DEV_TABLE_ENTRY, ...).

import { canonHex, devName, pciDevName } from '../values';
import { type LineCtx, OpenRecord, type Partial, type RecordSink, SingleLineRecord, base, isPartial, keyValues } from './record';
import type { Finding } from '../types';

// Patterns of the functions below, made once (a regex literal in a function is a new RegExp object at each call).
const EVENT_TYPE = /^([A-Za-z][A-Za-z0-9_ ]*?)(?=(?: [a-z_]+=)|$)/;
const DEVICE_DOMAIN = /^device=(\S+) domain=(0x[0-9a-fA-F]+)\s*$/;

const LOGGED = /^(?:(\S+) (\S+): )?(?:AMD-Vi|AMD IOMMU): Event logged \[(.*)$/;
/** The second printk piece of the old form: an event type, its fields, the closing bracket. */
const CONTINUATION = /^([A-Z][A-Z0-9_]+(?: [A-Z0-9_]+)*) (.*\])\s*$/;
/** AMD event flags (amd_iommu_types.h): RW = write, PR = page present (protection), TR = translation request, I = interrupt. */
const EVENT_FLAG_RW = 0x020;
const EVENT_FLAG_PR = 0x010;

function eventFinding(ctx: LineCtx, content: string, prefix: { driver?: string; device?: string }): Finding | Partial {
  const close = content.lastIndexOf(']');
  if (close < 0) return { partial: true, reason: 'AMD-Vi event without its closing "]" (cut short?)' };
  const inner = content.slice(0, close).trim();
  const typeMatch = EVENT_TYPE.exec(inner);
  const type = (typeMatch ? typeMatch[1] : inner).trim();
  const kv = keyValues(inner.slice(type.length));
  const f = base(ctx, type === 'IO_PAGE_FAULT' ? 'io_page_fault' : 'iommu_event');
  f.source = 'amd-vi';
  f.event = type;
  if (kv.device !== undefined) {
    const d = pciDevName(kv.device);
    if (d !== undefined) f.device = d;
    else f.request_device = kv.device;
  } else if (prefix.device !== undefined) {
    const d = devName(prefix.device);
    if (d !== undefined) f.device = d;
  }
  if (prefix.driver !== undefined && kv.device === undefined) f.driver = prefix.driver;
  if (kv.address !== undefined) {
    const a = canonHex(kv.address);
    if (a !== undefined) f.addr = a;
  }
  if (kv.domain !== undefined) f.domain = kv.domain;
  if (kv.pasid !== undefined) {
    const p = parseInt(kv.pasid, 16);
    if (Number.isSafeInteger(p)) f.pasid = p;
  }
  if (kv.flags !== undefined) {
    f.flags = kv.flags;
    const flags = parseInt(kv.flags, 16);
    if (Number.isSafeInteger(flags) && type === 'IO_PAGE_FAULT') {
      f.access = flags & EVENT_FLAG_RW ? 'write' : 'read';
      f.reason = flags & EVENT_FLAG_PR ? 'IO_PAGE_FAULT: page present, access not permitted' : 'IO_PAGE_FAULT: page not present';
    }
  }
  for (const k of ['vflags', 'vmg_tag', 'gpa', 'flags_rmp']) if (kv[k] !== undefined) f[k] = kv[k];
  if (f.reason === undefined) f.reason = type;
  f.message = `Event logged [${inner}]`;
  return f;
}

/** "AMD-Vi: Event logged [" alone on its line: the event follows in the next printk piece. */
class SplitEventRecord extends OpenRecord {
  private f: Finding | undefined;
  private readonly ts: Finding['ts'];

  constructor(
    first: LineCtx,
    private readonly prefix: { driver?: string; device?: string },
  ) {
    super(first);
    this.ts = base(first, '').ts;
  }

  offer(ctx: LineCtx): boolean {
    if (this.f !== undefined) return false;
    const m = CONTINUATION.exec(ctx.body);
    if (!m) return false;
    const parsed = eventFinding(ctx, ctx.body, this.prefix);
    if (isPartial(parsed)) return false;
    parsed.line = this.firstLine;
    parsed.endLine = ctx.no;
    if (this.ts !== undefined) parsed.ts = this.ts;
    this.f = parsed;
    this.done = true;
    return this.take(ctx);
  }

  finish(sink: RecordSink): void {
    if (this.f) sink.finding(this.f);
    else sink.malformed({ line: this.firstLine, text: this.firstText, reason: 'AMD-Vi event header without the event it announces' });
  }

  override incompleteAtEof(): string | undefined {
    return this.f === undefined ? `the AMD-Vi event announced at line ${this.firstLine} never came` : undefined;
  }
}

/** "Event logged [Device not attached to domain properly]" is followed by a "  device=... domain=..." line. */
class NotAttachedRecord extends OpenRecord {
  constructor(
    first: LineCtx,
    private readonly f: Finding,
  ) {
    super(first);
  }

  offer(ctx: LineCtx): boolean {
    const m = DEVICE_DOMAIN.exec(ctx.body);
    if (!m) return false;
    const d = pciDevName(m[1]);
    if (d !== undefined) this.f.device = d;
    this.f.domain = m[2];
    this.f.endLine = ctx.no;
    this.done = true;
    return this.take(ctx);
  }

  finish(sink: RecordSink): void {
    sink.finding(this.f);
  }
}

export function startAmdVi(ctx: LineCtx): OpenRecord | Partial | undefined {
  const m = LOGGED.exec(ctx.body);
  if (!m) return undefined;
  const prefix = { driver: m[1], device: m[2] };
  const content = m[3];
  if (content.trim() === '') return new SplitEventRecord(ctx, prefix);
  const parsed = eventFinding(ctx, content, prefix);
  if (isPartial(parsed)) return parsed;
  if (parsed.event === 'Device not attached to domain properly') {
    parsed.kind = 'iommu_event';
    return new NotAttachedRecord(ctx, parsed);
  }
  return new SingleLineRecord(ctx, parsed);
}

export function looksLikeAmdVi(body: string): boolean {
  return body.includes('Event logged [');
}
