// The two-step IOVA API of drivers/iommu/dma-iommu.c (v6.16+, as in v6.18):
// dma_iova_try_alloc reserves IOVA space once, dma_iova_link maps pieces of
// it without IOTLB maintenance, dma_iova_sync publishes them, and
// dma_iova_unlink / dma_iova_destroy / dma_iova_free take them down.
// The kernel remembers nothing about the links (and dma-debug has no hooks
// here); the emulator records them only to report misuse and leaks.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { EINVAL, EIO, ENOMEM, EPERM, errnoName } from '../errno';
import { iommuIotlbSync, iommuIovaToPhys, iommuMapNosync, iommuSyncMap, iommuUnmapFast } from '../iommu/iommu-core';
import type { IommuDomain } from '../iommu/iommu-domain';
import { IOMMU_MMIO } from '../io-pgtable/types';
import type { IovaDomain } from '../iova/iova';
import type { TraceRecorder } from '../trace/recorder';
import { IOVA_RANGE_CACHE_MAX_SIZE, orderBase2 } from '../iova/iova-rcache';
import { DMA_MAPPING_ERROR, hex, maxBig, minBig } from '../u64';
import { archSyncDmaForCpu, archSyncDmaForDevice } from './arch-sync';
import { DMA_ATTR_MMIO, DMA_ATTR_SKIP_CPU_SYNC, dirName, type DmaDirection } from './dma-direction';
import { devUseSwiotlb, dmaDomain, dmaInfoToProt, iommuDmaAllocIova, iommuDmaFreeIova, zeroBouncePadding } from './dma-iommu';
import { traceAttrs } from './dma-mapping';
import { swiotlbTblMapSingle, swiotlbTblUnmapSingle } from './swiotlb-glue';

/** DMA_IOVA_USE_SWIOTLB: bit 63 of __size, set once a link bounced a partial granule. */
export const DMA_IOVA_USE_SWIOTLB = 1n << 63n;

/** A piece of a link as the IOMMU maps it: the buffer in place, or a swiotlb slot standing for it. */
export interface IovaLinkPiece {
  /** DMA address of the piece's first byte. */
  dma: bigint;
  size: bigint;
  /** The driver's buffer behind it. */
  phys: bigint;
  /** The swiotlb slot the device really reads and writes, or null. */
  bounce: bigint | null;
}

/** One successful dma_iova_link(), kept by the emulator only. */
export interface IovaLink {
  offset: bigint;
  size: bigint;
  phys: bigint;
  dir: DmaDirection;
  attrs: number;
  line: number;
  pieces: IovaLinkPiece[];
}

/** A granule-aligned range iommu_map_nosync() mapped that no dma_iova_sync() has published yet. */
export interface UnsyncedRange {
  iova: bigint;
  size: bigint;
  line: number;
}

/** The IOVA tree node a dma_iova_destroy() left behind by freeing less than was reserved. */
export interface LeakedIova {
  pfnLo: number;
  pfnHi: number;
  /** Bytes of the node that no allocation can get back while the node stays. */
  bytes: bigint;
  line: number;
}

/** struct dma_iova_state (addr, __size), plus what the emulator needs to check how it is used. */
export class DmaIovaState {
  /** The kernel's name for it, in messages about wrong argument kinds. */
  static readonly kindName = 'dma_iova_state';
  /** dma_addr_t addr: the IOVA of the first byte (the reservation plus phys's offset in its granule). */
  addr = 0n;
  /** u64 __size: the reserved size, with DMA_IOVA_USE_SWIOTLB in bit 63. */
  __size = 0n;
  /** The device it was allocated for ('' while dma_use_iova() is false). */
  device = '';
  /** Links in place now, by offset. */
  readonly links: IovaLink[] = [];
  /** The dma_iova_destroy / dma_iova_free that released it. */
  ended: { fn: 'dma_iova_destroy' | 'dma_iova_free'; line: number } | null = null;
  leaked: LeakedIova | null = null;

  constructor(readonly line: number) {}
}

/** The dma-iommu cookie's view of the two-step API in one domain (IommuDomain.iovaLinks). */
export class DomainIovaLinks {
  /** States reserved from this domain and not yet cleanly released. */
  readonly states: DmaIovaState[] = [];
  readonly unsynced: UnsyncedRange[] = [];
}

/** dma_use_iova(). */
export function dmaUseIova(state: DmaIovaState): boolean {
  return state.__size !== 0n;
}

/** dma_iova_size(): __size without the swiotlb flag. */
export function dmaIovaSize(state: DmaIovaState): bigint {
  return state.__size & ~DMA_IOVA_USE_SWIOTLB;
}

function domainLinks(domain: IommuDomain): DomainIovaLinks {
  if (!domain.iovaLinks) domain.iovaLinks = new DomainIovaLinks();
  return domain.iovaLinks;
}

function span(a: bigint, len: bigint): string {
  return `[${hex(a)}, ${hex(a + len)})`;
}

/** A WARN() splat: the kernel log line, and an error finding at the statement. */
function warn(ctx: EngineCtx, fn: string, cond: string, id: string, message: string, relatedLine?: number): void {
  ctx.trace.printk(`WARNING: drivers/iommu/dma-iommu.c: ${fn}: ${cond}`);
  ctx.trace.check(id, 'error', message, relatedLine);
}

// --- byte ranges -------------------------------------------------------------------

interface Range {
  lo: bigint;
  hi: bigint;
}

/** [lo, hi) minus the given ranges, as sorted pieces. */
function subtract(lo: bigint, hi: bigint, cut: Range[]): Range[] {
  let out: Range[] = lo < hi ? [{ lo, hi }] : [];
  for (const c of cut) {
    const next: Range[] = [];
    for (const r of out) {
      if (c.hi <= r.lo || c.lo >= r.hi) next.push(r);
      else {
        if (r.lo < c.lo) next.push({ lo: r.lo, hi: c.lo });
        if (c.hi < r.hi) next.push({ lo: c.hi, hi: r.hi });
      }
    }
    out = next;
  }
  return out;
}

function fmtRanges(rs: Range[]): string {
  return rs.map((r) => span(r.lo, r.hi - r.lo)).join(', ');
}

function linkRanges(state: DmaIovaState): Range[] {
  return state.links.map((l) => ({ lo: l.offset, hi: l.offset + l.size }));
}

// --- checks on the state -----------------------------------------------------------

/**
 * Whether a call may go on with this state: one dma_iova_try_alloc() never
 * set up is refused (the kernel would dereference garbage); a released one
 * is reported and used anyway, as the kernel would.
 */
function usable(ctx: EngineCtx, dev: Device, state: DmaIovaState, fn: string): { domain: IommuDomain; iovad: IovaDomain } | null {
  if (state.device === '') {
    ctx.trace.check(
      'iova-state-unused',
      'error',
      `${fn} on a dma_iova_state that dma_iova_try_alloc (line ${state.line}) did not set up: dma_use_iova() is false, so the driver must use dma_map_* instead; the call is ignored`,
      state.line,
    );
    return null;
  }
  if (state.ended) {
    ctx.trace.check(
      'iova-state-use-after-free',
      'error',
      `${fn} uses the dma_iova_state of line ${state.line} after ${state.ended.fn} (line ${state.ended.line}) released its IOVA ${span(state.addr, dmaIovaSize(state))}: that IOVA may already belong to another mapping`,
      state.ended.line,
    );
  }
  if (state.device !== dev.name) {
    ctx.trace.check('iova-state-wrong-device', 'error', `${fn} on ${dev.name} with a dma_iova_state allocated for ${state.device} (line ${state.line})`, state.line);
  }
  const domain = dmaDomain(dev);
  if (!dev.dmaIommu || !domain || !domain.iovad || !domain.ops) return null;
  return { domain, iovad: domain.iovad };
}

// --- dma_iova_try_alloc / dma_iova_free ------------------------------------------------

/** dma_iova_try_alloc(): a zeroed state (dma_use_iova() false) unless IOVA space was reserved. */
export function dmaIovaTryAlloc(ctx: EngineCtx, dev: Device, phys: bigint, size: bigint): DmaIovaState {
  return ctx.trace.call('dma_iova_try_alloc', { device: dev.busId, phys, size }, () => {
    const state = new DmaIovaState(ctx.trace.line);
    const domain = dmaDomain(dev);
    // use_dma_iommu(); the emulator's stacked DMA ops over a chain of IOMMUs do not cover this API.
    if (!dev.dmaIommu || !domain || !domain.iovad || dev.path.length !== 1) return state;
    const iovad = domain.iovad;
    const pad = iovad.iovaOffset(phys);
    if (size === 0n) {
      warn(ctx, 'dma_iova_try_alloc', 'WARN_ON_ONCE(!size)', 'iova-try-alloc-warn', 'dma_iova_try_alloc with size 0: nothing reserved, dma_use_iova() is false');
      return state;
    }
    if (size & DMA_IOVA_USE_SWIOTLB) {
      warn(ctx, 'dma_iova_try_alloc', 'WARN_ON_ONCE((u64)size & DMA_IOVA_USE_SWIOTLB)', 'iova-try-alloc-warn', `dma_iova_try_alloc with size ${hex(size)}: bit 63 is DMA_IOVA_USE_SWIOTLB, nothing reserved`);
      return state;
    }
    const len = iovad.iovaAlign(size + pad);
    const iova = ctx.trace.call('iommu_dma_alloc_iova', { size: len, dma_limit: dev.dmaMask }, () => iommuDmaAllocIova(ctx, domain, len, dev.dmaMask, dev));
    if (iova === 0n) return state;
    state.addr = iova + pad;
    state.__size = size;
    state.device = dev.name;
    domainLinks(domain).states.push(state);
    ctx.trace.emit('engine:dma_iova_state', { addr: state.addr, size, iova, iova_len: len });
    return state;
  });
}

/** dma_iova_free(): give back iova_align(size + pad); every link must have been undone. */
export function dmaIovaFree(ctx: EngineCtx, dev: Device, state: DmaIovaState): void {
  ctx.trace.call('dma_iova_free', { device: dev.busId, addr: state.addr, size: dmaIovaSize(state) }, () => {
    const u = usable(ctx, dev, state, 'dma_iova_free');
    if (!u) return;
    if (state.links.length > 0) {
      const rs = linkRanges(state);
      ctx.trace.check(
        'iova-free-linked',
        'error',
        `dma_iova_free with ${fmtRanges(rs)} still linked: every dma_iova_link must be undone first (dma_iova_unlink, or dma_iova_destroy instead); the IOMMU keeps mapping those pages after their IOVA is freed`,
        state.links[0].line,
      );
    }
    freeReservation(ctx, u.domain, u.iovad, state);
    release(u.domain, state, 'dma_iova_free', ctx.trace.line);
  });
}

function freeReservation(ctx: EngineCtx, domain: IommuDomain, iovad: IovaDomain, state: DmaIovaState): void {
  const pad = iovad.iovaOffset(state.addr);
  const len = iovad.iovaAlign(dmaIovaSize(state) + pad);
  ctx.trace.call('iommu_dma_free_iova', { iova: state.addr - pad, size: len }, () => iommuDmaFreeIova(ctx, domain, state.addr - pad, len, false));
}

/** Mark the state released; the domain keeps it only while it still explains a leak. */
function release(domain: IommuDomain, state: DmaIovaState, fn: 'dma_iova_destroy' | 'dma_iova_free', line: number): void {
  if (!state.ended) state.ended = { fn, line };
  const list = domainLinks(domain).states;
  const i = list.indexOf(state);
  if (i >= 0 && state.links.length === 0 && !state.leaked) list.splice(i, 1);
}

// --- dma_iova_link ------------------------------------------------------------------

/** __dma_iova_link(): CPU cache maintenance for non-coherent devices, then map without an IOTLB sync. */
function dmaIovaLinkRaw(ctx: EngineCtx, dev: Device, domain: IommuDomain, addr: bigint, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): number {
  return ctx.trace.call('__dma_iova_link', { iova: addr, phys, size: Number(size) }, () => {
    const mmio = (attrs & DMA_ATTR_MMIO) !== 0;
    if (!dev.coherent && (attrs & (DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_MMIO)) === 0) archSyncDmaForDevice(ctx, phys, size, dir);
    // dma_info_to_prot(): MMIO is never cacheable in the IOMMU.
    const prot = mmio ? dmaInfoToProt(dir, false, attrs) | IOMMU_MMIO : dmaInfoToProt(dir, dev.coherent, attrs);
    const ret = iommuMapNosync(ctx, domain, addr, phys, size, prot);
    if (ret === 0 && size > 0n) domainLinks(domain).unsynced.push({ iova: addr, size, line: ctx.trace.line });
    return ret;
  });
}

/** iommu_dma_map_swiotlb(): bounce one partial granule; the padding around it is zeroed for untrusted devices. */
function iommuDmaMapSwiotlb(ctx: EngineCtx, dev: Device, iovad: IovaDomain, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): bigint {
  return ctx.trace.call('iommu_dma_map_swiotlb', { phys, size: Number(size) }, () => {
    if (!ctx.swiotlb) {
      ctx.trace.printk(`${dev.driver} ${dev.busId}: DMA bounce buffers are inactive, unable to map unaligned transaction.`);
      return DMA_MAPPING_ERROR;
    }
    const tlb = swiotlbTblMapSingle(ctx, dev, phys, size, iovad.iovaMask(), dir, attrs, phys);
    if (tlb !== DMA_MAPPING_ERROR && dev.untrusted) zeroBouncePadding(ctx, tlb, size, iovad.granule);
    return tlb;
  });
}

/** iommu_dma_iova_bounce_and_link(): the slot takes the granule the partial data sits in. */
function bounceAndLink(
  ctx: EngineCtx, dev: Device, domain: IommuDomain, iovad: IovaDomain, addr: bigint, phys: bigint, len: bigint, dir: DmaDirection, attrs: number, pad: bigint,
): { ret: number; bounce: bigint } {
  return ctx.trace.call('iommu_dma_iova_bounce_and_link', { iova: addr, phys, len: Number(len) }, () => {
    const bounce = iommuDmaMapSwiotlb(ctx, dev, iovad, phys, len, dir, attrs);
    if (bounce === DMA_MAPPING_ERROR) return { ret: -ENOMEM, bounce };
    if (iovad.iovaOffset(bounce) !== pad) {
      // swiotlb keeps phys's offset in the slot only under the device's min_align_mask.
      ctx.trace.check(
        'iova-link-bounce-misaligned',
        'error',
        `the swiotlb slot ${hex(bounce)} for ${hex(len)} bytes at phys ${hex(phys)} is ${hex(iovad.iovaOffset(bounce))} into its granule, not ${hex(pad)} like the IOVA ${hex(addr)}: without a min_align_mask covering the granule (dma_set_min_align_mask) the bounced piece cannot be linked`,
      );
    }
    const ret = dmaIovaLinkRaw(ctx, dev, domain, addr - pad, bounce - pad, iovad.iovaAlign(len), dir, attrs);
    if (ret) swiotlbTblUnmapSingle(ctx, dev, bounce, len, dir, attrs);
    return { ret, bounce };
  });
}

/** iommu_dma_iova_link_swiotlb(): bounce the partial head and tail granules, link the aligned middle in place. */
function iommuDmaIovaLinkSwiotlb(
  ctx: EngineCtx, dev: Device, domain: IommuDomain, iovad: IovaDomain, state: DmaIovaState, phys: bigint, offset: bigint, size: bigint, dir: DmaDirection, attrs: number,
): number {
  return ctx.trace.call('iommu_dma_iova_link_swiotlb', { phys, offset, size: Number(size) }, () => {
    const startPad = iovad.iovaOffset(phys);
    const endPad = iovad.iovaOffset(phys + size);
    const addr = state.addr + offset;
    const pieces: IovaLinkPiece[] = [];
    const link: IovaLink = { offset, size, phys, dir, attrs, line: ctx.trace.line, pieces };
    let mapped = 0n;
    let rest = size;
    if (startPad) {
      const len = minBig(rest, iovad.granule - startPad);
      const b = bounceAndLink(ctx, dev, domain, iovad, addr, phys, len, dir, attrs, startPad);
      if (b.ret) return b.ret;
      state.__size |= DMA_IOVA_USE_SWIOTLB;
      pieces.push({ dma: addr, size: len, phys, bounce: b.bounce });
      mapped += len;
      rest -= len;
      if (rest === 0n) {
        recordLink(ctx, state, link);
        return 0;
      }
    }
    rest -= endPad;
    // v6.18 maps the middle even when it is empty; an io-pgtable driver treats size 0 as a no-op.
    let ret = dmaIovaLinkRaw(ctx, dev, domain, addr + mapped, phys + mapped, rest, dir, attrs);
    if (!ret) {
      if (rest > 0n) pieces.push({ dma: addr + mapped, size: rest, phys: phys + mapped, bounce: null });
      mapped += rest;
      if (!endPad) {
        recordLink(ctx, state, link);
        return 0;
      }
      const b = bounceAndLink(ctx, dev, domain, iovad, addr + mapped, phys + mapped, endPad, dir, attrs, 0n);
      ret = b.ret;
      if (!ret) {
        state.__size |= DMA_IOVA_USE_SWIOTLB;
        pieces.push({ dma: addr + mapped, size: endPad, phys: phys + mapped, bounce: b.bounce });
        recordLink(ctx, state, link);
        return 0;
      }
    }
    // out_unmap: v6.18 unwinds from offset 0 rather than from this link's offset.
    link.size = mapped;
    if (pieces.length > 0) recordLink(ctx, state, link);
    const pad0 = iovad.iovaOffset(state.addr);
    const hit = iovad.iovaAlign(mapped + pad0);
    if (offset !== 0n && (hit > 0n || state.__size & DMA_IOVA_USE_SWIOTLB)) {
      ctx.trace.check(
        'iova-link-unwind',
        'error',
        `dma_iova_link at offset ${hex(offset)} failed with -${errnoName(ret)} after mapping ${hex(mapped)} bytes, and v6.18 unwinds with dma_iova_unlink(state, 0, ${hex(mapped)}): from offset 0, not ${hex(offset)}, so it unmaps IOVA ${span(state.addr - pad0, hit)} (with DMA_IOVA_USE_SWIOTLB set, also releasing the bounce slot there) and leaves ${mapped > 0n ? `this link's ${span(offset, mapped)}` : 'nothing of this link'} mapped (fixed after v6.18 by commit 6ec91df8aff7)`,
      );
    }
    ctx.trace.call('dma_iova_unlink', { device: dev.busId, offset: 0n, size: Number(mapped) }, () => unlinkAndForget(ctx, dev, domain, iovad, state, 0n, mapped, dir, attrs, false));
    return ret;
  });
}

/** The emulator's record of a link: mapping records for `expect bounced`, ownership for CPU-access checks. */
function recordLink(ctx: EngineCtx, state: DmaIovaState, link: IovaLink): void {
  state.links.push(link);
  state.links.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  for (const p of link.pieces) {
    ctx.mappings.add({ device: state.device, dma: p.dma, size: p.size, phys: p.phys, dir: link.dir, bounce: p.bounce, kind: 'iova-link', line: link.line });
  }
  if (link.size > 0n) {
    ctx.ownership.add({ key: ownershipKey(state, link), device: state.device, phys: link.phys, size: link.size, dir: link.dir, owner: 'device', line: link.line });
  }
}

function ownershipKey(state: DmaIovaState, link: IovaLink): string {
  return `iova-link:${state.device}:${hex(state.addr + link.offset)}`;
}

/** What a link looks like from the state's own checks, before the kernel code runs. */
function checkLink(ctx: EngineCtx, iovad: IovaDomain, state: DmaIovaState, phys: bigint, offset: bigint, size: bigint): void {
  const pad = iovad.iovaOffset(phys);
  const iova = state.addr + offset;
  const ioff = iovad.iovaOffset(iova);
  if (ioff !== pad) {
    ctx.trace.check(
      'iova-link-misaligned',
      'error',
      `dma_iova_link: phys ${hex(phys)} is ${hex(pad)} into its ${iovad.granule}-byte granule but its IOVA ${hex(iova)} (state.addr + offset ${hex(offset)}) is ${hex(ioff)} into one: phys and offset must be aligned to each other modulo the granule, or the IOMMU cannot map it`,
      state.line,
    );
  }
  const reserved = dmaIovaSize(state);
  if (offset + size > reserved) {
    ctx.trace.check(
      'iova-link-out-of-range',
      'error',
      `dma_iova_link of ${span(offset, size)} runs past the ${hex(reserved)} bytes dma_iova_try_alloc reserved (line ${state.line}): IOVA ${span(state.addr + maxBig(offset, reserved), offset + size - maxBig(offset, reserved))} is not the state's to map`,
      state.line,
    );
  }
}

/** dma_iova_link(): 0 or a negative errno; no IOTLB sync until dma_iova_sync(). */
export function dmaIovaLink(ctx: EngineCtx, dev: Device, state: DmaIovaState, phys: bigint, offset: bigint, size: bigint, dir: DmaDirection, attrs: number): number {
  const fields = { device: dev.busId, addr: state.addr, phys, offset, size: Number(size), dir: dirName(dir), attrs: traceAttrs(attrs) };
  return ctx.trace.call('dma_iova_link', fields, () => {
    const u = usable(ctx, dev, state, 'dma_iova_link');
    if (!u) return -EINVAL;
    const { domain, iovad } = u;
    const pad = iovad.iovaOffset(phys);
    if (pad && offset > 0n) {
      warn(
        ctx, 'dma_iova_link', 'WARN_ON_ONCE(iova_start_pad && offset > 0)', 'iova-link-unaligned',
        `dma_iova_link at offset ${hex(offset)}: phys ${hex(phys)} starts ${hex(pad)} into its ${iovad.granule}-byte granule, but only the first link of a state (offset 0) may start inside a granule; returns -EIO`,
      );
      return -EIO;
    }
    checkLink(ctx, iovad, state, phys, offset, size);
    let ret: number;
    if (devUseSwiotlb(ctx, dev, size, dir) && iovad.iovaOffset(phys | size)) {
      if (attrs & DMA_ATTR_MMIO) return -EPERM;
      ret = iommuDmaIovaLinkSwiotlb(ctx, dev, domain, iovad, state, phys, offset, size, dir, attrs);
    } else {
      ret = dmaIovaLinkRaw(ctx, dev, domain, state.addr + offset - pad, phys - pad, iovad.iovaAlign(size + pad), dir, attrs);
      if (!ret) recordLink(ctx, state, { offset, size, phys, dir, attrs, line: ctx.trace.line, pieces: [{ dma: state.addr + offset, size, phys, bounce: null }] });
    }
    // A released state linked again (use after free) is tracked again, so no_leaks sees its links.
    const live = domainLinks(domain).states;
    if (state.links.length > 0 && !live.includes(state)) live.push(state);
    return ret;
  });
}

// --- dma_iova_sync ------------------------------------------------------------------

/** dma_iova_sync(): iommu_sync_map() over the granules of the range; the device may use them from now on. */
export function dmaIovaSync(ctx: EngineCtx, dev: Device, state: DmaIovaState, offset: bigint, size: bigint): number {
  return ctx.trace.call('dma_iova_sync', { device: dev.busId, addr: state.addr, offset, size: Number(size) }, () => {
    const u = usable(ctx, dev, state, 'dma_iova_sync');
    if (!u) return -EINVAL;
    const addr = state.addr + offset;
    const pad = u.iovad.iovaOffset(addr);
    const start = addr - pad;
    const len = u.iovad.iovaAlign(size + pad);
    ctx.trace.call('iommu_sync_map', { iova: start, size: Number(len) }, () => iommuSyncMap(ctx, u.domain, start, len));
    forgetUnsynced(u.domain, start, len);
    return 0;
  });
}

function forgetUnsynced(domain: IommuDomain, start: bigint, len: bigint): void {
  const list = domain.iovaLinks?.unsynced;
  if (!list) return;
  const kept: UnsyncedRange[] = [];
  for (const r of list) {
    for (const piece of subtract(r.iova, r.iova + r.size, [{ lo: start, hi: start + len }])) kept.push({ iova: piece.lo, size: piece.hi - piece.lo, line: r.line });
  }
  list.splice(0, list.length, ...kept);
}

// --- dma_iova_unlink / dma_iova_destroy ---------------------------------------------------

/** iommu_dma_iova_unlink_range_slow(): per granule, CPU cache maintenance and the swiotlb unmap. */
function unlinkRangeSlow(ctx: EngineCtx, dev: Device, domain: IommuDomain, iovad: IovaDomain, start: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  ctx.trace.call('iommu_dma_iova_unlink_range_slow', { iova: start, size: Number(size) }, () => {
    let addr = start;
    let pad = iovad.iovaOffset(addr);
    const end = start + size;
    do {
      const phys = iommuIovaToPhys(domain, addr);
      if (phys === 0n) {
        // v5 of the series used `continue` here and looped forever on the WARN; mainline gives up.
        ctx.trace.printk(`WARNING: drivers/iommu/dma-iommu.c: iommu_dma_iova_unlink_range_slow: WARN_ON(!phys) at IOVA ${hex(addr)}`);
        return;
      }
      const len = minBig(end - addr, iovad.granule - pad);
      if (!dev.coherent && (attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0) archSyncDmaForCpu(ctx, phys, len, dir);
      swiotlbTblUnmapSingle(ctx, dev, phys, len, dir, attrs);
      addr += len;
      pad = 0n;
    } while (addr < end);
  });
}

/** __iommu_dma_iova_unlink(), then the emulator forgets what the IOMMU no longer maps. */
function unlinkAndForget(
  ctx: EngineCtx, dev: Device, domain: IommuDomain, iovad: IovaDomain, state: DmaIovaState, offset: bigint, size: bigint, dir: DmaDirection, attrs: number, freeIova: boolean,
): void {
  ctx.trace.call('__iommu_dma_iova_unlink', { offset, size: Number(size), free_iova: freeIova }, () => {
    let addr = state.addr + offset;
    const pad = iovad.iovaOffset(addr);
    if (state.__size & DMA_IOVA_USE_SWIOTLB || (!dev.coherent && (attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0)) unlinkRangeSlow(ctx, dev, domain, iovad, addr, size, dir, attrs);
    // A flush-queue domain defers the IOTLB flush and the IOVA free to the queue.
    const queued = freeIova && domain.fq !== null;
    const len = iovad.iovaAlign(size + pad);
    addr -= pad;
    let unmapped: bigint;
    try {
      unmapped = iommuUnmapFast(ctx, domain, addr, len);
    } catch (e) {
      // io-pgtable-arm returns -ENOENT as a size at a hole, __iommu_unmap walks on misaligned and iommu_pgsize BUG()s.
      if (!(e instanceof Error) || !e.message.startsWith('kernel BUG')) throw e;
      ctx.trace.printk(e.message);
      ctx.trace.check('kernel-bug', 'error', `${e.message}: iommu_unmap_fast of ${span(addr, len)} ran into IOVA that was never linked; the kernel oopses here, so the emulator stops this unlink (nothing is synced or freed)`);
      return;
    }
    if (unmapped !== len) ctx.trace.printk(`WARNING: drivers/iommu/dma-iommu.c: __iommu_dma_iova_unlink: WARN_ON(unmapped != size): unmapped ${hex(unmapped)} of ${hex(len)} at ${hex(addr)}`);
    if (!queued) iommuIotlbSync(ctx, domain, addr, len);
    if (freeIova) ctx.trace.call('iommu_dma_free_iova', { iova: addr, size: len, queued }, () => iommuDmaFreeIova(ctx, domain, addr, len, queued));
    forgetMapped(ctx, domain, state, addr, len);
  });
}

/** Drop (or trim) the links, mapping records, ownership and unsynced ranges inside IOVA [start, start+len). */
function forgetMapped(ctx: EngineCtx, domain: IommuDomain, state: DmaIovaState, start: bigint, len: bigint): void {
  forgetUnsynced(domain, start, len);
  const lo = start - state.addr;
  const cut = [{ lo, hi: lo + len }];
  const untouched: IovaLink[] = [];
  const remainders: IovaLink[] = [];
  for (const link of state.links) {
    if (link.offset + link.size <= lo || link.offset >= lo + len) {
      untouched.push(link);
      continue;
    }
    for (const p of link.pieces) ctx.mappings.end(state.device, p.dma, ctx.trace.line);
    ctx.ownership.remove(ownershipKey(state, link));
    for (const r of subtract(link.offset, link.offset + link.size, cut)) {
      const pieces: IovaLinkPiece[] = [];
      for (const p of link.pieces) {
        const pLo = maxBig(p.dma, state.addr + r.lo);
        const pHi = minBig(p.dma + p.size, state.addr + r.hi);
        if (pLo < pHi) pieces.push({ dma: pLo, size: pHi - pLo, phys: p.phys + (pLo - p.dma), bounce: p.bounce === null ? null : p.bounce + (pLo - p.dma) });
      }
      remainders.push({ ...link, offset: r.lo, size: r.hi - r.lo, phys: link.phys + (r.lo - link.offset), pieces });
    }
  }
  state.links.splice(0, state.links.length, ...untouched);
  for (const r of remainders) recordLink(ctx, state, r);
}

/** What the driver unlinks, compared with what it linked: never-linked parts, and dir/attrs that differ per link. */
function checkUnlink(ctx: EngineCtx, state: DmaIovaState, offset: bigint, size: bigint, dir: DmaDirection, attrs: number, fn: string, missingId: string): void {
  const missing = subtract(offset, offset + size, linkRanges(state));
  if (missing.length > 0) {
    const linked = state.links.length > 0 ? `linked: ${fmtRanges(linkRanges(state))}` : 'nothing is linked';
    ctx.trace.check(missingId, 'error', `${fn} of ${span(offset, size)} (offsets into the state of line ${state.line}) covers ${fmtRanges(missing)}, which was never linked (${linked})`, state.line);
  }
  for (const link of state.links) {
    if (link.offset + link.size <= offset || link.offset >= offset + size) continue;
    if (link.dir !== dir) {
      ctx.trace.check(
        'iova-unlink-mismatch',
        'error',
        `${fn} with ${dirName(dir)} over ${span(link.offset, link.size)}, which dma_iova_link mapped with ${dirName(link.dir)} (line ${link.line}): the cache maintenance and bounce copies follow the unlink's direction`,
        link.line,
      );
    }
    if (link.attrs !== attrs) {
      ctx.trace.check(
        'iova-unlink-mismatch',
        'warning',
        `${fn} attrs (${traceAttrs(attrs) || 'none'}) differ from those of the dma_iova_link of ${span(link.offset, link.size)} at line ${link.line} (${traceAttrs(link.attrs) || 'none'}): the kernel keeps no per-link attrs and applies the unlink's to the whole range`,
        link.line,
      );
    }
  }
}

/** dma_iova_unlink(): unmap and sync the IOTLB; the IOVA stays reserved for new links. */
export function dmaIovaUnlink(ctx: EngineCtx, dev: Device, state: DmaIovaState, offset: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  ctx.trace.call('dma_iova_unlink', { device: dev.busId, addr: state.addr, offset, size: Number(size), dir: dirName(dir), attrs: traceAttrs(attrs) }, () => {
    const u = usable(ctx, dev, state, 'dma_iova_unlink');
    if (!u) return;
    checkUnlink(ctx, state, offset, size, dir, attrs, 'dma_iova_unlink', 'iova-unlink-not-linked');
    unlinkAndForget(ctx, dev, u.domain, u.iovad, state, offset, size, dir, attrs, false);
  });
}

/** dma_iova_destroy(): unlink [0, mapped_len) and free the IOVA it spans; mapped_len 0 is dma_iova_free(). */
export function dmaIovaDestroy(ctx: EngineCtx, dev: Device, state: DmaIovaState, mappedLen: bigint, dir: DmaDirection, attrs: number): void {
  ctx.trace.call('dma_iova_destroy', { device: dev.busId, addr: state.addr, mapped_len: Number(mappedLen), dir: dirName(dir), attrs: traceAttrs(attrs) }, () => {
    const u = usable(ctx, dev, state, 'dma_iova_destroy');
    if (!u) return;
    const { domain, iovad } = u;
    if (mappedLen === 0n) {
      if (state.links.length > 0) {
        ctx.trace.check('iova-destroy-mapped-len', 'error', `dma_iova_destroy with mapped_len 0 only frees the IOVA, but ${fmtRanges(linkRanges(state))} is still linked and stays mapped in the IOMMU`, state.links[0].line);
      }
      ctx.trace.call('dma_iova_free', { device: dev.busId, addr: state.addr, size: dmaIovaSize(state) }, () => freeReservation(ctx, domain, iovad, state));
      release(domain, state, 'dma_iova_destroy', ctx.trace.line);
      return;
    }
    checkUnlink(ctx, state, 0n, mappedLen, dir, attrs, 'dma_iova_destroy', 'iova-destroy-mapped-len');
    const beyond = linkRanges(state).filter((l) => l.hi > mappedLen).map((l) => ({ lo: maxBig(l.lo, mappedLen), hi: l.hi }));
    if (beyond.length > 0) {
      ctx.trace.check(
        'iova-destroy-mapped-len',
        'error',
        `dma_iova_destroy(mapped_len ${hex(mappedLen)}) leaves ${fmtRanges(beyond)} linked: destroy must cover every linked byte, or those pages stay mapped in the IOMMU after their IOVA is freed`,
        state.links[state.links.length - 1].line,
      );
    }
    const pad = iovad.iovaOffset(state.addr);
    const base = state.addr - pad;
    const reserved = iovad.iovaAlign(dmaIovaSize(state) + pad);
    const freed = iovad.iovaAlign(mappedLen + pad);
    const node = iovad.findIova(iovad.iovaPfn(base));
    unlinkAndForget(ctx, dev, domain, iovad, state, 0n, mappedLen, dir, attrs, true);
    reportDestroySize(ctx, iovad, state, base, reserved, freed, node);
    release(domain, state, 'dma_iova_destroy', ctx.trace.line);
  });
}

/**
 * Mainline frees iova_align(mapped_len + pad), not the reservation. Fewer
 * granules go back to the rcache under a smaller order while the IOVA tree
 * keeps the whole node; more granules free IOVA the state never owned.
 */
function reportDestroySize(ctx: EngineCtx, iovad: IovaDomain, state: DmaIovaState, base: bigint, reserved: bigint, freed: bigint, node: { pfnLo: number; pfnHi: number } | null): void {
  if (freed === reserved) return;
  const head = `dma_iova_destroy frees ${hex(freed)} bytes of IOVA at ${hex(base)}, computed from mapped_len, not the ${hex(reserved)} bytes dma_iova_try_alloc reserved (line ${state.line}), as mainline does`;
  if (freed > reserved) {
    ctx.trace.check('iova-destroy-size', 'error', `${head}: ${span(base + reserved, freed - reserved)} was never the state's, and may now be handed out twice`, state.line);
    return;
  }
  if (!node) return;
  const freedPages = Number(freed >> BigInt(iovad.shift));
  const nodePages = node.pfnHi - node.pfnLo + 1;
  const order = orderBase2(freedPages);
  if (order >= IOVA_RANGE_CACHE_MAX_SIZE) {
    ctx.trace.check('iova-destroy-size', 'info', `${head}: ${freedPages} granules bypass the rcache, so free_iova() drops the whole ${nodePages}-granule node and nothing leaks`, state.line);
    return;
  }
  const usableBytes = BigInt(Math.min(nodePages, 2 ** order)) << BigInt(iovad.shift);
  const lost = (BigInt(nodePages) << BigInt(iovad.shift)) - usableBytes;
  if (lost <= 0n) return;
  state.leaked = { pfnLo: node.pfnLo, pfnHi: node.pfnHi, bytes: lost, line: ctx.trace.line };
  ctx.trace.check(
    'iova-destroy-leak',
    'warning',
    `${head}: the range goes back to the rcache as an order-${order} entry while the IOVA tree keeps the whole ${nodePages}-granule node ${span(iovad.iovaDmaAddr(node.pfnLo), BigInt(nodePages) << BigInt(iovad.shift))}, so ${hex(lost)} bytes stay allocated and unusable until the rcache is flushed (an IOVA allocation failure, depot trimming, or the domain being freed)`,
    state.line,
  );
}

// --- what the rest of the emulator asks -------------------------------------------------

/**
 * Device access to an IOVA dma_iova_link() mapped but dma_iova_sync() has
 * not published: reported to `trace` (none for a probe); the fault reason on
 * IOMMUs whose new mappings need iotlb_sync_map before the device may see them.
 */
export function iovaUnsyncedAccess(trace: TraceRecorder | undefined, dev: Device, domain: IommuDomain, iova: bigint): string | undefined {
  const r = domain.iovaLinks?.unsynced.find((u) => iova >= u.iova && iova < u.iova + u.size);
  if (!r) return undefined;
  const iommu = domain.iommu;
  const needs = iommu.traits.needsSyncMap;
  if (trace) {
    trace.check(
      'iova-not-synced',
      needs ? 'error' : 'warning',
      `${dev.busId} accessed IOVA ${hex(iova)}, linked by dma_iova_link (line ${r.line}) but not yet published by dma_iova_sync: ` +
        (needs
          ? `${iommu.traits.driver} needs iotlb_sync_map before a new mapping is visible, so the access faults`
          : `${iommu.traits.driver} walks the new entry anyway, but an IOMMU that caches non-present entries (virtio-iommu, Apple DART, VT-d in caching mode) would fault`),
      r.line,
    );
  }
  return needs ? `${iommu.name}: IOVA ${hex(iova)} was linked but not synced (dma_iova_sync missing), so the IOMMU cannot see the mapping yet` : undefined;
}

/** Live IOVA states, links still mapped and IOVA leaked by dma_iova_destroy, for `expect no_leaks`. */
export function dmaIovaPending(domains: readonly IommuDomain[]): string[] {
  const out: string[] = [];
  for (const d of domains) {
    for (const s of d.iovaLinks?.states ?? []) {
      const where = `dma_iova state ${hex(s.addr)}+${hex(dmaIovaSize(s))} (line ${s.line})`;
      if (!s.ended) out.push(`${where} still reserved`);
      if (s.links.length > 0) out.push(`${where} has ${fmtRanges(linkRanges(s))} still linked`);
      const leak = s.leaked;
      if (leak && d.iovad) {
        const n = d.iovad.findIova(leak.pfnLo);
        if (n && n.pfnLo === leak.pfnLo && n.pfnHi === leak.pfnHi) out.push(`${where}: ${hex(leak.bytes)} bytes of IOVA left allocated by dma_iova_destroy (line ${leak.line})`);
      }
    }
  }
  return out;
}
