// The DMA sanitizer: dma-debug sees only API calls and KASAN only CPU
// accesses; the emulator sees every access, so it flags the corruption real
// hardware commits without a trace. One finding kind per rule, each switched
// off by its platform key (platform.ts SanitizerRules) for scenarios that
// reproduce corruption on purpose. A CPU access past a kmalloc object is
// worded as KASAN reports it (mm/kasan/report.c); the kernel has no words for
// the other findings, so they carry a `dmascope:` prefix.

import type { EngineCtx } from './context';
import type { Device } from './device';
import type { DmaBuffer } from './memory/buffers';
import type { AccessKind, Check } from './trace/recorder';
import { INVALID_PHYS_ADDR } from './swiotlb/swiotlb-pool';
import { hex } from './u64';

export const SANITIZER_CHECK = {
  cpuBounds: 'dmascope-cpu-out-of-bounds',
  dmaBounds: 'dmascope-dma-beyond-mapping',
  dmaDirect: 'dmascope-dma-unmapped',
  staleIotlb: 'dmascope-use-after-unmap',
} as const;

function bufferName(b: DmaBuffer): string {
  const what = b.kind === 'kmalloc' ? `kmalloc-${b.allocSize} object` : b.kind === 'alloc_pages' ? 'pages' : b.kind;
  return `${b.label ? `\`${b.label}\` ` : ''}(${what} ${hex(b.phys)}+${hex(b.size)}, line ${b.line})`;
}

/** IO_TLB_SHIFT: swiotlb slots are 2 KiB. */
const IO_TLB_SHIFT = 11n;

/**
 * Who owns bytes of [phys, phys + len) other than `self`: the first other
 * buffer there, named, else the swiotlb slot there (free, or whose original
 * it bounces).
 */
function neighbour(ctx: EngineCtx, phys: bigint, len: bigint, self?: DmaBuffer): string {
  const end = phys + len;
  const b = ctx.buffers.buffers.find((x) => x !== self && x.phys < end && x.phys + x.size > phys);
  if (b) return `; those bytes belong to ${bufferName(b)}`;
  const pool = ctx.swiotlb?.findPool(phys) ?? null;
  if (!pool) return '';
  const slot = Number((phys - pool.start) >> IO_TLB_SHIFT);
  const orig = pool.origAddr[slot];
  const what = orig === INVALID_PHYS_ADDR ? 'free' : `in use, bouncing orig_addr ${hex(orig)}`;
  return `; those bytes are swiotlb slot ${slot} of the ${pool.transient ? 'transient ' : ''}pool at ${hex(pool.start)} (${what})`;
}

/**
 * A CPU access [phys, phys + len) that `fn` made through buffer `buf`: past its
 * ends is a finding, naming whose bytes it reaches.
 */
export function sanitizeCpuAccess(ctx: EngineCtx, buf: DmaBuffer, phys: bigint, len: bigint, what: 'read' | 'write', fn: string): void {
  if (!ctx.platform.sanitize.cpuBounds || len <= 0n) return;
  const end = buf.phys + buf.size;
  if (phys >= buf.phys && phys + len <= end) return;
  const over = phys + len > end ? phys + len - end : 0n;
  const under = phys < buf.phys ? buf.phys - phys : 0n;
  const how = under > 0n ? `starts ${under} bytes before` : `runs ${over} bytes past the end of`;
  const spill = over > 0n ? neighbour(ctx, end, over, buf) : neighbour(ctx, phys, under, buf);
  if (buf.kind === 'kmalloc') kasanReport(ctx, buf, phys, len, what, fn);
  ctx.trace.check(SANITIZER_CHECK.cpuBounds, 'error', `${cpuBoundsHeader(ctx, buf, phys, len, what, fn)}: the ${what} ${how} buffer ${bufferName(buf)}${spill}`, buf.line, { phys, len });
}

/** Where the access starts relative to the object, in KASAN's words. */
function kasanWhere(buf: DmaBuffer, phys: bigint): string {
  const end = buf.phys + buf.size;
  return phys < buf.phys ? `${buf.phys - phys} bytes to the left of` : phys >= end ? `${phys - end} bytes to the right of` : `${phys - buf.phys} bytes inside of`;
}

/**
 * The kernel log lines of KASAN's report (print_error_description and
 * describe_object_addr in mm/kasan/report.c, without the task, stacks and
 * shadow dump the emulator has no equivalent of), for the first overrun
 * only: without kasan_multi_shot KASAN reports once.
 */
function kasanReport(ctx: EngineCtx, buf: DmaBuffer, phys: bigint, len: bigint, what: 'read' | 'write', fn: string): void {
  if (ctx.kasanReported) return;
  ctx.kasanReported = true;
  const rule = '==================================================================';
  // Above KMALLOC_MAX_CACHE_SIZE kmalloc takes whole pages: KASAN describes the page, not a slab object.
  const where = isKmallocLarge(ctx, buf)
    ? ['The buggy address belongs to the physical page:']
    : [
        `The buggy address belongs to the object at ${hex(buf.phys)}`,
        ` which belongs to the cache kmalloc-${buf.allocSize} of size ${buf.allocSize}`,
        `The buggy address is located ${kasanWhere(buf, phys)}`,
        ` allocated ${buf.size}-byte region [${hex(buf.phys)}, ${hex(buf.phys + buf.size)})`,
      ];
  for (const line of [rule, `BUG: KASAN: slab-out-of-bounds in ${fn}`, `${what === 'write' ? 'Write' : 'Read'} of size ${len} at addr ${hex(phys)}`, ...where, rule]) ctx.trace.printk(line);
}

/** A kmalloc larger than KMALLOC_MAX_CACHE_SIZE (2 pages), served by the page allocator. */
function isKmallocLarge(ctx: EngineCtx, buf: DmaBuffer): boolean {
  return buf.allocSize > 2n * ctx.platform.pageSize;
}

/**
 * KASAN's report lines for a kmalloc object ("BUG: KASAN: slab-out-of-bounds
 * in f", "Write of size n at addr a", "The buggy address is located k bytes
 * inside of allocated s-byte region [a, b)"), at physical addresses; other
 * buffers are whole pages, whose neighbours KASAN does not poison.
 */
function cpuBoundsHeader(ctx: EngineCtx, buf: DmaBuffer, phys: bigint, len: bigint, what: 'read' | 'write', fn: string): string {
  const offset = phys >= buf.phys ? phys - buf.phys : -(buf.phys - phys);
  if (buf.kind !== 'kmalloc') return `dmascope: CPU ${what} of ${len} bytes at offset ${offset} in ${fn}`;
  const end = buf.phys + buf.size;
  const header = `BUG: KASAN: slab-out-of-bounds in ${fn}: ${what === 'write' ? 'Write' : 'Read'} of size ${len} at addr ${hex(phys)}`;
  if (isKmallocLarge(ctx, buf)) return `${header}; the buggy address belongs to the physical page`;
  return `${header}; the buggy address is located ${kasanWhere(buf, phys)} allocated ${buf.size}-byte region [${hex(buf.phys)}, ${hex(end)})`;
}

/** dma-direct ops: no IOMMU, or an identity (passthrough) domain; VDUSE has its own. */
function usesDmaDirect(dev: Device): boolean {
  return dev.path.length === 0 || dev.path.every((p) => p.group.domain?.type === 'identity');
}

/**
 * A device access [addr, addr + len) that reached physical `phys` through the
 * device's translation: on a DMA API domain it must stay inside the live
 * mapping it hits (the IOMMU maps whole granules, so bytes past the mapping
 * are reachable without a fault); on dma-direct it must stay inside some live
 * mapping of the device.
 */
export function sanitizeDeviceAccess(ctx: EngineCtx, dev: Device, addr: bigint, len: number, phys: bigint, access: AccessKind, pasid: number | null): void {
  if (pasid !== null || len <= 0) return;
  const size = BigInt(len);
  const rec = ctx.mappings.liveOf(dev.name, addr);
  if (rec && addr + size <= rec.dma + rec.size) return;
  const at = `${dev.busId} ${access}s ${hex(addr)}+${len}`;
  if (usesDmaDirect(dev)) {
    if (!ctx.platform.sanitize.dmaDirect) return;
    const part = rec ? `, which runs past its mapping ${hex(rec.dma)}+${hex(rec.size)} (line ${rec.line})` : ', which no live mapping of the device covers';
    ctx.trace.check(
      SANITIZER_CHECK.dmaDirect,
      'error',
      `dmascope: ${at}${part}: without an IOMMU (dma-direct) the device reaches any memory below its DMA mask${neighbour(ctx, phys, size)}`,
      rec?.line,
      { phys, len: size, device: dev.busId, iova: addr },
    );
    return;
  }
  // Only the DMA API's own domain: a driver that attached its own domain
  // (iommu_attach_device, iommufd) maps with iommu_map, which the DMA API does not track.
  if (!dev.dmaIommu || !ctx.platform.sanitize.dmaBounds || dev.path[0]?.group.domain?.isDmaApi() !== true) return;
  const where = rec ? `past its mapping ${hex(rec.dma)}+${hex(rec.size)} (line ${rec.line})` : 'where no live mapping of the device is';
  ctx.trace.check(
    SANITIZER_CHECK.dmaBounds,
    'error',
    `dmascope: ${at} ${where}: the IOMMU maps whole granules, so the access reaches physical ${hex(phys)} without a fault${neighbour(ctx, phys, size, rec ? ctx.buffers.find(rec.phys) : undefined)}`,
    rec?.line,
    { phys, len: size, device: dev.busId, iova: addr },
  );
}

/** The platform key that switches each finding kind off, by check id. */
const RULE_KEY: Readonly<Record<string, string>> = {
  [SANITIZER_CHECK.cpuBounds]: 'sanitize_cpu_bounds',
  [SANITIZER_CHECK.dmaBounds]: 'sanitize_dma_bounds',
  [SANITIZER_CHECK.dmaDirect]: 'sanitize_dma_direct',
  [SANITIZER_CHECK.staleIotlb]: 'sanitize_stale_iotlb',
};

/** A sanitizer finding as panels read it: plain JSON, addresses in hex. */
export interface SanitizerFindingView {
  id: string;
  /** The platform key that switches this kind off. */
  rule: string;
  line: number;
  /** The line that made the buffer or mapping involved (the unmap, for a stale IOTLB use). */
  relatedLine: number | null;
  message: string;
  /** The physical bytes the access touched: [phys, end). */
  phys: string;
  end: string;
  device: string | null;
  iova: string | null;
  /** The trace event the finding follows. */
  seq: number;
}

/** The sanitizer's findings among a run's checks (up to the point the trace is at). */
export function sanitizerFindings(checks: readonly Check[]): SanitizerFindingView[] {
  const out: SanitizerFindingView[] = [];
  for (const c of checks) {
    const rule = RULE_KEY[c.id];
    if (rule === undefined || !c.site) continue;
    out.push({
      id: c.id,
      rule,
      line: c.line,
      relatedLine: c.relatedLine ?? null,
      message: c.message,
      phys: hex(c.site.phys),
      end: hex(c.site.phys + c.site.len),
      device: c.site.device ?? null,
      iova: c.site.iova !== undefined ? hex(c.site.iova) : null,
      seq: c.seq,
    });
  }
  return out;
}
