// drivers/iommu/dma-iommu.c: streaming maps through the device's DMA domain.
// IOVA allocation (32-bit first for PCI), granule rounding, bouncing of
// unaligned buffers for untrusted devices, strict vs flush-queue unmap.

import type { EngineCtx } from '../context';
import { traceReturnSite, traceSite } from '../trace/recorder';
import type { Device } from '../device';
import type { IommuDomain } from '../iommu/iommu-domain';
import type { IovaDomain } from '../iova/iova';
import { iommuIotlbSync, iommuIovaToPhys, iommuIovaToPhysN, iommuMap, iommuMapN, iommuUnmapFastN } from '../iommu/iommu-core';
import { hasNumberOps, IOMMU_CACHE, IOMMU_MMIO, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE } from '../io-pgtable/types';
import { BigIntMemo, DMA_MAPPING_ERROR, fls, hex, NumberMemo, numberOf, shiftedUp } from '../u64';
import { archSyncDmaForCpu, archSyncDmaForDevice } from './arch-sync';
import { dmaKmallocNeedsBounce } from './dma-direct';
import { DMA_ATTR_MMIO, DMA_ATTR_PRIVILEGED, DMA_ATTR_SKIP_CPU_SYNC, DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE, type DmaDirection } from './dma-direction';
import { swiotlbSyncSingleForCpu, swiotlbSyncSingleForDevice, swiotlbTblMapSingle, swiotlbTblUnmapSingle } from './swiotlb-glue';

/** The DMA domain the device's DMA API uses (its group's current domain on the near IOMMU). */
export function dmaDomain(dev: Device): IommuDomain | null {
  return dev.path[0]?.group.domain ?? null;
}

/** dma_info_to_prot. */
export function dmaInfoToProt(dir: DmaDirection, coherent: boolean, attrs: number): number {
  // v6.18: MMIO is mapped IOMMU_MMIO and never cacheable.
  let prot = attrs & DMA_ATTR_MMIO ? IOMMU_MMIO : coherent ? IOMMU_CACHE : 0;
  if (attrs & DMA_ATTR_PRIVILEGED) prot |= IOMMU_PRIV;
  if (dir === DMA_BIDIRECTIONAL) prot |= IOMMU_READ | IOMMU_WRITE;
  else if (dir === DMA_TO_DEVICE) prot |= IOMMU_READ;
  else if (dir === DMA_FROM_DEVICE) prot |= IOMMU_WRITE;
  return prot;
}

/** dev_use_swiotlb(). */
export function devUseSwiotlb(ctx: EngineCtx, dev: Device, size: bigint, dir: DmaDirection): boolean {
  return ctx.swiotlb !== null && (dev.untrusted || dmaKmallocNeedsBounce(ctx, dev, size, dir));
}

function iovaShift(domain: IommuDomain): bigint {
  return domain.minPageShift;
}

const LIMIT_32 = 0xffff_ffffn;
/** LIMIT_32 >> shift for the last granule: the first try of every PCI allocation asks for it. */
const limit32 = { granule: -1, pfn: 0n };

/** LIMIT_32 >> shift, remembered by the domain's granule as a number (one per shift: a number compare, not a BigInt one). */
function limit32Pfn(shift: bigint, granule: number): bigint {
  if (granule !== limit32.granule) {
    limit32.granule = granule;
    limit32.pfn = LIMIT_32 >> shift;
  }
  return limit32.pfn;
}

/**
 * Conversions between BigInt and number cost more than the arithmetic around
 * them, and a driver loop repeats them with the same values: the limit pfn,
 * the size in granules, and at free the pfn of the IOVA just allocated. Each
 * memo is a pure function of its key, so it holds across snapshots.
 */
const limitPfnNumbers = new NumberMemo();
const pfnBigInts = new BigIntMemo();
const iovaOfPfn = { pfn: -1, granule: 0, iova: 0n };

/** BigInt(pfn) << shift, remembered for the last pfn and granule (the IOVA caches hand a loop the same pfn back; granule is 2^shift). */
function pfnToIova(pfn: number, shift: bigint, granule: number): bigint {
  if (pfn !== iovaOfPfn.pfn || granule !== iovaOfPfn.granule) {
    iovaOfPfn.pfn = pfn;
    iovaOfPfn.granule = granule;
    iovaOfPfn.iova = shiftedUp(pfn, shift, granule);
  }
  return iovaOfPfn.iova;
}
const granules = { size: 0n, shift: 0n, count: 0 };
const lastAlloc = { iova: -1n, shift: 0n, pfn: 0, pfnBig: 0n };

/** Number(size >> shift), remembered for the last size and shift. */
function granuleCount(size: bigint, shift: bigint): number {
  if (size !== granules.size || shift !== granules.shift) {
    granules.size = size;
    granules.shift = shift;
    granules.count = Number(size >> shift);
  }
  return granules.count;
}

/** Trace sites of the events on the map/unmap path, their field names in order (the trace compares repeats by site and position). */
const ALLOC_IOVA_FAST_SITE = traceSite('call', 'alloc_iova_fast', ['size', 'limit_pfn', 'flush_rcache']);
const ALLOC_IOVA_FAST_RET = traceReturnSite(ALLOC_IOVA_FAST_SITE, ['src', 'ret']);
const ALLOC_IOVA_SITE = traceSite('call', 'iommu_dma_alloc_iova', ['device', 'size', 'dma_limit']);
const FREE_IOVA_FAST_SITE = traceSite('call', 'free_iova_fast', ['pfn', 'size']);
const FREE_IOVA_FAST_RET = traceReturnSite(FREE_IOVA_FAST_SITE, ['dest']);
const MAP_PHYS_SITE = traceSite('call', 'iommu_dma_map_phys', ['device', 'phys', 'size']);
const UNMAP_PHYS_SITE = traceSite('call', 'iommu_dma_unmap_phys', ['device', 'dma_addr', 'size']);

/** alloc_iova_fast as a traced call: its arguments, the pfn it returns and where it came from (rcache or rbtree). */
function allocIovaFastTraced(ctx: EngineCtx, iovad: IovaDomain, size: number, limitPfn: bigint, flushRcache: boolean): number {
  const trace = ctx.trace;
  if (trace.keeps()) trace.enterAt(ALLOC_IOVA_FAST_SITE, size, limitPfn, flushRcache);
  else trace.enterUnkept();
  const pfn = iovad.allocIovaFast(size, limitPfnNumbers.of(limitPfn), flushRcache, ctx.cpu);
  const pfnBig = pfnBigInts.of(pfn);
  if (trace.leavesUnkept()) trace.leaveUnkept();
  else trace.leaveAt(ALLOC_IOVA_FAST_RET, iovad.lastAllocSource, pfnBig);
  lastAlloc.pfn = pfn;
  lastAlloc.pfnBig = pfnBig;
  return pfn;
}

/** iommu_dma_alloc_iova: try below 4 GiB first for PCI devices until that fails once. */
export function iommuDmaAllocIova(ctx: EngineCtx, domain: IommuDomain, size: bigint, dmaLimit: bigint, dev: Device): bigint {
  return allocIovaGranules(ctx, domain, size, -1, granuleCount(size, iovaShift(domain)), dmaLimit, dev);
}

/** iommu_dma_alloc_iova of iovaLen granules (size >> shift, which the caller knows; sizeN is size as a number, or -1). */
function allocIovaGranules(ctx: EngineCtx, domain: IommuDomain, size: bigint, sizeN: number, iovaLen: number, dmaLimit: bigint, dev: Device): bigint {
  const iovad = domain.iovad;
  if (!iovad) return 0n;
  const trace = ctx.trace;
  if (trace.keeps()) trace.enterAt(ALLOC_IOVA_SITE, dev.busId, sizeN >= 0 ? sizeN : numberOf(size), dmaLimit);
  else trace.enterUnkept();
  const shift = iovaShift(domain);
  let limit = dmaLimit;
  if (limit > domain.apertureEnd) limit = domain.apertureEnd; // force_aperture
  if (limit > LIMIT_32 && dev.pci32bitWorkaround) {
    const pfn = allocIovaFastTraced(ctx, iovad, iovaLen, limit32Pfn(shift, domain.minPageszN), false);
    if (pfn !== 0) {
      const iova = pfnToIova(pfn, shift, domain.minPageszN);
      lastAlloc.iova = iova;
      lastAlloc.shift = shift;
      if (trace.leavesUnkept()) trace.leaveUnkept();
      else trace.leave(iova);
      return iova;
    }
    dev.pci32bitWorkaround = false;
    ctx.trace.printk(`${dev.driver} ${dev.busId}: Using ${fls(limit) + 1}-bit DMA addresses`);
  }
  const iova = pfnToIova(allocIovaFastTraced(ctx, iovad, iovaLen, limit >> shift, true), shift, domain.minPageszN);
  lastAlloc.iova = iova;
  lastAlloc.shift = shift;
  if (trace.leavesUnkept()) trace.leaveUnkept();
  else trace.leave(iova);
  return iova;
}

/** iommu_dma_free_iova: straight back to the allocator, or through the flush queue. */
export function iommuDmaFreeIova(ctx: EngineCtx, domain: IommuDomain, iova: bigint, size: bigint, queued: boolean): void {
  const shift = iovaShift(domain);
  const known = iova === lastAlloc.iova && shift === lastAlloc.shift; // the IOVA allocated last: its pfn is known
  freeIovaGranules(ctx, domain, known ? lastAlloc.pfn : Number(iova >> shift), granuleCount(size, shift), queued);
}

/** iommu_dma_free_iova of `pages` granules at `pfn`. */
function freeIovaGranules(ctx: EngineCtx, domain: IommuDomain, pfn: number, pages: number, queued: boolean): void {
  const iovad = domain.iovad;
  if (!iovad) return;
  if (queued && domain.fq) {
    queueIova(ctx, domain, pfn, pages);
    return;
  }
  const trace = ctx.trace;
  if (trace.keeps()) trace.enterAt(FREE_IOVA_FAST_SITE, pfn === lastAlloc.pfn ? lastAlloc.pfnBig : BigInt(pfn), pages);
  else trace.enterUnkept();
  iovad.freeIovaFast(pfn, pages, ctx.cpu);
  if (trace.leavesUnkept()) trace.leaveUnkept();
  else trace.leaveAt(FREE_IOVA_FAST_RET, iovad.lastFreeDest);
}

/** fq_flush_iotlb + fq_ring_free on every CPU: what the timer or a full ring does. */
export function fqFlush(ctx: EngineCtx, domain: IommuDomain): void {
  const fq = domain.fq;
  const iovad = domain.iovad;
  if (!fq || !iovad) return;
  fq.flushStartCnt++;
  let n = 0;
  for (const unit of domain.iommus()) n += unit.iotlb.invalidateDomain(domain.id);
  fq.flushFinishCnt++;
  ctx.trace.emit('engine:fq_flush_iotlb', { domain: domain.label, iotlb_entries: n });
  fq.rings.forEach((_, cpu) => {
    for (const e of fq.takeFreeable(cpu)) iovad.freeIovaFast(e.pfn, e.pages, cpu);
  });
  fq.timerDeadline = null;
}

/** queue_iova: free what earlier flushes released, flush when the ring is full, queue, arm the timer. */
function queueIova(ctx: EngineCtx, domain: IommuDomain, pfn: number, pages: number): void {
  const fq = domain.fq;
  const iovad = domain.iovad;
  if (!fq || !iovad) return;
  ctx.trace.enter('queue_iova', { pfn: BigInt(pfn), pages });
  for (const e of fq.takeFreeable(ctx.cpu)) iovad.freeIovaFast(e.pfn, e.pages, ctx.cpu);
  if (fq.isFull(ctx.cpu)) {
    fqFlush(ctx, domain);
  }
  fq.push(ctx.cpu, pfn, pages);
  if (fq.timerDeadline === null) fq.timerDeadline = ctx.timeMs + fq.timeoutMs;
  ctx.trace.emit('engine:queue_iova', { pfn: BigInt(pfn), pages, pending: fq.pending() });
  ctx.trace.leave();
}

/**
 * The number path of a map or unmap of one granule at an aligned address (a
 * driver's 4 KiB dma_map_phys): the addresses go down to the page table as
 * numbers, with BigInt only for the DMA API's values and the trace. Off, every
 * map takes the bigint path: the differential test compares the two.
 */
export const iommuDmaNumberPath = { enabled: true };

/** A granule the number path takes: its offset mask is below 2^31, so & on a number's low 32 bits tests alignment. */
const NUMBER_PATH_MAX_GRANULE = 2 ** 30;

/** Number(phys) and Number(dma_addr) of the last map and unmap (a driver loop maps one buffer, unmaps the IOVA it was just given). */
const physNumbers = new NumberMemo();
const dmaNumbers = new NumberMemo();
const physOfNumber = new BigIntMemo();

/** Whether the number path takes a map or unmap of `size` on the domain: one granule, of a format that takes numbers. */
function numberPathTakes(domain: IommuDomain, size: bigint): boolean {
  const ops = domain.ops;
  return iommuDmaNumberPath.enabled && size === domain.minPagesz && domain.minPageszN <= NUMBER_PATH_MAX_GRANULE && ops !== null && hasNumberOps(ops);
}

/**
 * addr (a phys to map or a dma_addr to unmap) as a number when the number
 * path takes it: one granule at an aligned address below 2^53; else -1.
 * `memo` remembers the conversion a driver loop repeats (one per side).
 */
function numberPathAddr(domain: IommuDomain, addr: bigint, size: bigint, memo: NumberMemo): number {
  const granuleN = domain.minPageszN;
  if (!numberPathTakes(domain, size)) return -1;
  const n = memo.of(addr);
  return n <= Number.MAX_SAFE_INTEGER && (n & (granuleN - 1)) === 0 ? n : -1;
}

/** __iommu_dma_map of one aligned granule, phys also as a number: the IOVA and the page table as numbers. */
function iommuDmaMapGranule(ctx: EngineCtx, dev: Device, domain: IommuDomain, phys: bigint, physN: number, size: bigint, prot: number, dmaMask: bigint): bigint {
  const granuleN = domain.minPageszN;
  const iova = allocIovaGranules(ctx, domain, size, granuleN, 1, dmaMask, dev);
  if (iova === 0n) return DMA_MAPPING_ERROR;
  const product = lastAlloc.pfn * granuleN; // the pfn iommuDmaAllocIova just gave (iova is pfn << shift)
  const iovaN = product <= Number.MAX_SAFE_INTEGER ? dmaNumbers.set(iova, product) : -1;
  if (iommuMapN(ctx, domain, iova, iovaN, phys, physN, size, granuleN, prot) !== 0) {
    iommuDmaFreeIova(ctx, domain, iova, size, false);
    return DMA_MAPPING_ERROR;
  }
  return iova;
}

/** __iommu_dma_map: allocate IOVA for the granule-aligned span and map it. */
export function iommuDmaMapRaw(ctx: EngineCtx, dev: Device, domain: IommuDomain, phys: bigint, size: bigint, prot: number, dmaMask: bigint): bigint {
  const physN = numberPathAddr(domain, phys, size, physNumbers);
  if (physN >= 0) return iommuDmaMapGranule(ctx, dev, domain, phys, physN, size, prot, dmaMask);
  const mask = domain.minPageMask;
  const iovaOff = phys & mask;
  const len = iovaOff === 0n && (size & mask) === 0n ? size : (size + iovaOff + mask) & ~mask;
  const iova = iommuDmaAllocIova(ctx, domain, len, dmaMask, dev);
  if (iova === 0n) return DMA_MAPPING_ERROR;
  if (iommuMap(ctx, domain, iova, iovaOff === 0n ? phys : phys - iovaOff, len, prot) !== 0) {
    iommuDmaFreeIova(ctx, domain, iova, len, false);
    return DMA_MAPPING_ERROR;
  }
  return iovaOff === 0n ? iova : iova + iovaOff;
}

/** __iommu_dma_unmap: unmap the granule-aligned span, sync (strict) or queue (FQ), free the IOVA. */
export function iommuDmaUnmapRaw(ctx: EngineCtx, domain: IommuDomain, dmaAddr: bigint, size: bigint): void {
  const mask = domain.minPageMask;
  const iovaOff = dmaAddr & mask;
  const start = iovaOff === 0n ? dmaAddr : dmaAddr - iovaOff;
  const len = iovaOff === 0n && (size & mask) === 0n ? size : (size + iovaOff + mask) & ~mask;
  iommuDmaUnmapSpan(ctx, domain, start, -1, len, -1);
}

/** __iommu_dma_unmap of the aligned span [start, start + len), also as numbers when startN >= 0. */
function iommuDmaUnmapSpan(ctx: EngineCtx, domain: IommuDomain, start: bigint, startN: number, len: bigint, lenN: number): void {
  const queued = domain.fq !== null;
  const unmapped = iommuUnmapFastN(ctx, domain, start, startN, len, lenN);
  if (unmapped !== len) ctx.trace.printk(`WARNING: __iommu_dma_unmap: unmapped 0x${unmapped.toString(16)} of 0x${len.toString(16)}`);
  if (!queued) iommuIotlbSync(ctx, domain, start, len);
  if (startN >= 0 && lenN === domain.minPageszN) freeIovaGranules(ctx, domain, startN / domain.minPageszN, 1, queued);
  else iommuDmaFreeIova(ctx, domain, start, len, queued);
}

/** What iommuDmaMapPhys returns: the DMA address and the bounce slot it used, if any. */
export interface IommuDmaMapResult {
  dma: bigint;
  bounce: bigint | null;
}

/** The one result object iommuDmaMapPhys fills (its callers read it at once): no object a map. */
const MAP_RESULT: IommuDmaMapResult = { dma: 0n, bounce: null };

function mapResult(dma: bigint, bounce: bigint | null): IommuDmaMapResult {
  MAP_RESULT.dma = dma;
  MAP_RESULT.bounce = bounce;
  return MAP_RESULT;
}

/**
 * iommu_dma_map_phys (iommu_dma_map_page before v6.18). Returns the DMA
 * address and whether it bounced, in an object the next call reuses: read it
 * before mapping again.
 */
export function iommuDmaMapPhys(ctx: EngineCtx, dev: Device, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): IommuDmaMapResult {
  const trace = ctx.trace;
  if (trace.keeps()) trace.enterAt(MAP_PHYS_SITE, dev.busId, phys, numberOf(size));
  else trace.enterUnkept();
  let r: IommuDmaMapResult;
  try {
    r = iommuDmaMapPhysBody(ctx, dev, phys, size, dir, attrs);
  } catch (e) {
    trace.unwind(e);
    throw e;
  }
  if (trace.leavesUnkept()) trace.leaveUnkept();
  else trace.leave();
  return r;
}

/** iommu_dma_map_phys's body, inside its call event. */
function iommuDmaMapPhysBody(ctx: EngineCtx, dev: Device, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): IommuDmaMapResult {
  const domain = dmaDomain(dev);
  if (!domain) return mapResult(DMA_MAPPING_ERROR, null);
  const prot = dmaInfoToProt(dir, dev.coherent, attrs);
  const granule = domain.minPagesz;
  let mapPhys = phys;
  let bounce: bigint | null = null;
  if (dev.minAlignMask >= granule) ctx.trace.printk(`WARNING: ${dev.busId}: Unsupported alignment constraint`);
  if (devUseSwiotlb(ctx, dev, size, dir) && ((phys | size) & (granule - 1n)) !== 0n) {
    if (attrs & DMA_ATTR_MMIO) return mapResult(DMA_MAPPING_ERROR, null);
    const tlb = swiotlbTblMapSingle(ctx, dev, phys, size, granule - 1n, dir, attrs, phys);
    if (tlb === DMA_MAPPING_ERROR) return mapResult(DMA_MAPPING_ERROR, null);
    if (dev.untrusted) zeroBouncePadding(ctx, tlb, size, granule);
    mapPhys = tlb;
    bounce = tlb;
  }
  if (!dev.coherent && (attrs & (DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_MMIO)) === 0) archSyncDmaForDevice(ctx, mapPhys, size, dir);
  const dma = iommuDmaMapRaw(ctx, dev, domain, mapPhys, size, prot, dev.dmaMask);
  if (dma === DMA_MAPPING_ERROR && bounce !== null) swiotlbTblUnmapSingle(ctx, dev, bounce, size, dir, attrs);
  return mapResult(dma, dma === DMA_MAPPING_ERROR ? null : bounce);
}

/** Untrusted devices see the whole granule: zero what lies around the bounced data. */
export function zeroBouncePadding(ctx: EngineCtx, tlb: bigint, size: bigint, granule: bigint): void {
  const start = tlb & ~(granule - 1n);
  const end = tlb + size;
  const endAligned = (end + granule - 1n) & ~(granule - 1n);
  ctx.cache.cpuWrite(start, new Uint8Array(Number(tlb - start)));
  ctx.cache.cpuWrite(end, new Uint8Array(Number(endAligned - end)));
}

/** iommu_dma_unmap_phys. */
export function iommuDmaUnmapPhys(ctx: EngineCtx, dev: Device, dmaAddr: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  const trace = ctx.trace;
  if (trace.keeps()) trace.enterAt(UNMAP_PHYS_SITE, dev.busId, dmaAddr, numberOf(size));
  else trace.enterUnkept();
  try {
    iommuDmaUnmapPhysBody(ctx, dev, dmaAddr, size, dir, attrs);
  } catch (e) {
    trace.unwind(e);
    throw e;
  }
  if (trace.leavesUnkept()) trace.leaveUnkept();
  else trace.leave();
}

/** iommu_dma_unmap_phys's body for one aligned granule, dma_addr also as a number. */
function iommuDmaUnmapGranule(ctx: EngineCtx, dev: Device, domain: IommuDomain, dmaAddr: bigint, iovaN: number, size: bigint, dir: DmaDirection, attrs: number): void {
  const physN = iommuIovaToPhysN(domain, iovaN);
  if (physN === 0) {
    ctx.trace.printk(`WARNING: iommu_dma_unmap_phys: no mapping at IOVA ${hex(dmaAddr)}`);
    return;
  }
  const sync = (attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0 && !dev.coherent;
  // Without a swiotlb pool nothing is a bounce slot: phys is needed as a bigint only to sync or unbounce.
  const phys = sync || ctx.swiotlb !== null ? physOfNumber.of(physN) : 0n;
  if (sync) archSyncDmaForCpu(ctx, phys, size, dir);
  iommuDmaUnmapSpan(ctx, domain, dmaAddr, iovaN, size, domain.minPageszN);
  if (ctx.swiotlb !== null) swiotlbTblUnmapSingle(ctx, dev, phys, size, dir, attrs);
}

/** iommu_dma_unmap_phys's body, inside its call event. */
function iommuDmaUnmapPhysBody(ctx: EngineCtx, dev: Device, dmaAddr: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  const domain = dmaDomain(dev);
  if (!domain) return;
  const iovaN = numberPathAddr(domain, dmaAddr, size, dmaNumbers);
  if (iovaN >= 0) {
    iommuDmaUnmapGranule(ctx, dev, domain, dmaAddr, iovaN, size, dir, attrs);
    return;
  }
  const phys = iommuIovaToPhys(domain, dmaAddr);
  if (phys === 0n) {
    ctx.trace.printk(`WARNING: iommu_dma_unmap_phys: no mapping at IOVA ${hex(dmaAddr)}`);
    return;
  }
  if ((attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0 && !dev.coherent) archSyncDmaForCpu(ctx, phys, size, dir);
  iommuDmaUnmapRaw(ctx, domain, dmaAddr, size);
  swiotlbTblUnmapSingle(ctx, dev, phys, size, dir, attrs);
}

export function iommuDmaSyncSingleForCpu(ctx: EngineCtx, dev: Device, dmaAddr: bigint, size: bigint, dir: DmaDirection): void {
  const domain = dmaDomain(dev);
  if (!domain) return;
  if (dev.coherent && !devUseSwiotlb(ctx, dev, size, dir)) return;
  const phys = iommuIovaToPhys(domain, dmaAddr);
  if (phys === 0n) return;
  if (!dev.coherent) archSyncDmaForCpu(ctx, phys, size, dir);
  swiotlbSyncSingleForCpu(ctx, dev, phys, size, dir);
}

export function iommuDmaSyncSingleForDevice(ctx: EngineCtx, dev: Device, dmaAddr: bigint, size: bigint, dir: DmaDirection): void {
  const domain = dmaDomain(dev);
  if (!domain) return;
  if (dev.coherent && !devUseSwiotlb(ctx, dev, size, dir)) return;
  const phys = iommuIovaToPhys(domain, dmaAddr);
  if (phys === 0n) return;
  swiotlbSyncSingleForDevice(ctx, dev, phys, size, dir);
  if (!dev.coherent) archSyncDmaForDevice(ctx, phys, size, dir);
}
