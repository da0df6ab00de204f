// VDUSE's MMU-based software IOTLB (drivers/vdpa/vdpa_user/iova_domain.c):
// struct vduse_iova_domain. Streaming maps take an IOVA below bounce_size
// and always bounce through kernel pages that the userspace device reaches
// by mmap()ing the domain's file; coherent memory sits above bounce_size and
// is handed to userspace directly through a vhost_iotlb range. The
// vhost-vdpa path replaces the whole IOTLB with guest memory (set_map).
//
// Bounce maps are kept per 4 KiB (BOUNCE_MAP_SHIFT 12, "Use fixed 4KB bounce
// pages", late 2025): on a CPU page larger than 4 KiB the sub-maps of one
// page share the page the head map allocated. They live in a sparse Map
// (vzalloc'ed zeroes in the kernel: an absent entry is a map with no page and
// orig_phys INVALID_PHYS_ADDR), so a 1 GiB bounce area costs nothing until used.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { DMA_ATTR_SKIP_CPU_SYNC, DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE, type DmaDirection } from '../dma-mapping/dma-direction';
import { EEXIST, EFAULT, EINVAL, ENOMEM, KernelError } from '../errno';
import { IovaDomain } from '../iova/iova';
import type { Iommu } from '../iommu/iommu-instance';
import { CpuMemcpy } from '../memory/cpu-memcpy';
import { DMA_MAPPING_ERROR, U64_MASK, alignUp, hex } from '../u64';

export const BOUNCE_MAP_SHIFT = 12n;
export const BOUNCE_MAP_SIZE = 1n << BOUNCE_MAP_SHIFT;
const BOUNCE_MAP_OFFSET_MASK = BOUNCE_MAP_SIZE - 1n;

/** INVALID_PHYS_ADDR: (phys_addr_t)~0, the orig_phys of an idle bounce map. */
export const INVALID_PHYS_ADDR = U64_MASK;

/** IOVA_START_PFN: IOVA 0 is never handed out. */
const IOVA_START_PFN = 1;

/** VHOST_MAP_* (include/uapi/linux/vhost_types.h). */
export const VHOST_MAP_RO = 0x1;
export const VHOST_MAP_WO = 0x2;
export const VHOST_MAP_RW = 0x3;

/** VDUSE_MIN_BOUNCE_SIZE / VDUSE_MAX_BOUNCE_SIZE: what the sysfs bounce_size attribute accepts. */
export const VDUSE_MIN_BOUNCE_SIZE = 1n << 20n;
export const VDUSE_MAX_BOUNCE_SIZE = 1n << 30n;
/** VDUSE_BOUNCE_SIZE and VDUSE_IOVA_SIZE (1 GiB + 128 MiB reserved for virtqueues). */
export const VDUSE_BOUNCE_SIZE = 64n << 20n;
export const VDUSE_IOVA_SIZE = VDUSE_MAX_BOUNCE_SIZE + (128n << 20n);

/** The anon file vduse_domain_create makes: what userspace mmap()s for bounce and coherent IOVAs. */
export const VDUSE_DOMAIN_FILE = '[vduse-domain]';

/** struct vduse_bounce_map. */
export class VduseBounceMap {
  /** The CPU page backing this 4 KiB slice (shared by the sub-maps of one page), or null. */
  bouncePage: bigint | null = null;
  /** VDUSE_IOTLB_REG_UMEM: the daemon's 4 KiB standing in for the kernel page. */
  userBouncePage: bigint | null = null;
  origPhys: bigint = INVALID_PHYS_ADDR;
}

/** struct vhost_iotlb_map with its struct vdpa_map_file (file, offset). */
export interface VhostIotlbMap {
  start: bigint;
  /** Inclusive. */
  last: bigint;
  addr: bigint;
  perm: number;
  file: string;
  offset: bigint;
}

/** struct vduse_iova_domain. */
export class VduseIovaDomain {
  /** Streaming IOVAs: [1 page, bounce_size). */
  readonly streamIovad: IovaDomain;
  /** Coherent IOVAs: [bounce_size, iova_limit]. */
  readonly consistentIovad: IovaDomain;
  /** bounce_maps[iova >> BOUNCE_MAP_SHIFT], sparse. */
  readonly bounceMaps = new Map<number, VduseBounceMap>();
  /** domain->bounce_map: [0, bounce_size - 1] is registered in the IOTLB. */
  bounceMap = false;
  /** domain->iotlb, sorted by start (the interval tree's in-order sequence). */
  readonly iotlb: VhostIotlbMap[] = [];
  /** domain->user_bounce_pages. */
  userBouncePages = false;
  /** PAGE_ALIGN(bounce_size): streaming IOVAs and bounce maps live below it. */
  readonly bounceSize: bigint;

  /**
   * vduse_domain_create(iova_limit, bounce_size): `iovaLimit` is the last
   * usable IOVA (the kernel passes VDUSE_IOVA_SIZE - 1). Throws where the
   * kernel returns NULL.
   */
  constructor(readonly name: string, readonly iovaLimit: bigint, bounceSize: bigint, readonly pageSize: bigint, ncpus: number) {
    this.bounceSize = alignUp(bounceSize, pageSize);
    if (iovaLimit <= bounceSize) throw new KernelError(ENOMEM, `vduse_domain_create: iova_limit ${hex(iovaLimit)} is not above bounce_size ${hex(bounceSize)}`);
    this.streamIovad = new IovaDomain(pageSize, IOVA_START_PFN, ncpus, pageSize);
    this.consistentIovad = new IovaDomain(pageSize, Number(this.bounceSize / pageSize), ncpus, pageSize);
  }

  /** iova_shift of both IOVA domains (granule PAGE_SIZE). */
  get shift(): bigint {
    return BigInt(this.streamIovad.shift);
  }

  mapAt(index: number): VduseBounceMap | undefined {
    return this.bounceMaps.get(index);
  }

  /** &bounce_maps[index], materialising the zeroed entry on first write. */
  mapFor(index: number): VduseBounceMap {
    let map = this.bounceMaps.get(index);
    if (!map) {
      map = new VduseBounceMap();
      this.bounceMaps.set(index, map);
    }
    return map;
  }

  /** vhost_iotlb_itree_first: the lowest range overlapping [start, last]. */
  itreeFirst(start: bigint, last: bigint): VhostIotlbMap | undefined {
    return this.iotlb.find((m) => m.start <= last && m.last >= start);
  }
}

function mapIndex(iova: bigint): number {
  return Number(iova >> BOUNCE_MAP_SHIFT);
}

/** Where the bytes of a bounce map live: the daemon's page once registered, else the kernel page. */
function bounceAddr(domain: VduseIovaDomain, map: VduseBounceMap, iova: bigint): bigint | null {
  if (domain.userBouncePages) return map.userBouncePage === null ? null : map.userBouncePage + (iova & BOUNCE_MAP_OFFSET_MASK);
  return map.bouncePage === null ? null : map.bouncePage + (iova & (domain.pageSize - 1n));
}

// ---- the vhost IOTLB ------------------------------------------------------------

/** vhost_iotlb_add_range_ctx, as vduse_iotlb_add_range calls it: 0 or -errno. */
export function vduseIotlbAddRange(ctx: EngineCtx, domain: VduseIovaDomain, start: bigint, last: bigint, addr: bigint, perm: number, file: string, offset: bigint): number {
  return ctx.trace.call('vduse_iotlb_add_range', { start: hex(start), last: hex(last), addr: hex(addr), perm, file, offset: hex(offset) }, () => {
    if (last < start) return -EFAULT;
    // [0, ULONG_MAX] would overflow the u64 size: vhost splits it in two.
    if (start === 0n && last === U64_MASK) {
      const mid = last / 2n;
      insertRange(domain, { start, last: mid, addr, perm, file, offset });
      addr = (addr + mid + 1n) & U64_MASK;
      start = mid + 1n;
    }
    insertRange(domain, { start, last, addr, perm, file, offset });
    return 0;
  });
}

function insertRange(domain: VduseIovaDomain, m: VhostIotlbMap): void {
  const at = domain.iotlb.findIndex((x) => x.start > m.start || (x.start === m.start && x.last > m.last));
  if (at < 0) domain.iotlb.push(m);
  else domain.iotlb.splice(at, 0, m);
}

/** vduse_iotlb_del_range: drop every range overlapping [start, last]. */
export function vduseIotlbDelRange(ctx: EngineCtx, domain: VduseIovaDomain, start: bigint, last: bigint): number {
  return ctx.trace.call('vduse_iotlb_del_range', { start: hex(start), last: hex(last) }, () => {
    const before = domain.iotlb.length;
    for (let i = domain.iotlb.length - 1; i >= 0; i--) {
      const m = domain.iotlb[i];
      if (m.start <= last && m.last >= start) domain.iotlb.splice(i, 1);
    }
    return before - domain.iotlb.length;
  });
}

/** A range as vduse_domain_set_map takes it from the vhost-vdpa IOTLB: the same fields the table keeps. */
export type VduseMapRange = VhostIotlbMap;

/** vduse_domain_set_map: replace the whole IOTLB; on error it is left empty. */
export function vduseDomainSetMap(ctx: EngineCtx, domain: VduseIovaDomain, ranges: readonly VduseMapRange[]): number {
  return ctx.trace.call('vduse_domain_set_map', { domain: domain.name, ranges: ranges.length }, () => {
    vduseIotlbDelRange(ctx, domain, 0n, U64_MASK);
    // The source vhost_iotlb is walked in interval-tree order.
    const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    for (const r of sorted) {
      const ret = vduseIotlbAddRange(ctx, domain, r.start, r.last, r.addr, r.perm, r.file, r.offset);
      if (ret !== 0) {
        vduseIotlbDelRange(ctx, domain, 0n, U64_MASK);
        return ret;
      }
    }
    return 0;
  });
}

// ---- bounce maps ----------------------------------------------------------------

/** vduse_domain_init_bounce_map: on first use, expose [0, bounce_size - 1] through the domain file. */
function vduseDomainInitBounceMap(ctx: EngineCtx, domain: VduseIovaDomain): number {
  if (domain.bounceMap) return 0;
  return ctx.trace.call('vduse_domain_init_bounce_map', { bounce_size: hex(domain.bounceSize) }, () => {
    const ret = vduseIotlbAddRange(ctx, domain, 0n, domain.bounceSize - 1n, 0n, VHOST_MAP_RW, VDUSE_DOMAIN_FILE, 0n);
    if (ret === 0) domain.bounceMap = true;
    return ret;
  });
}

/** vduse_domain_reset_bounce_map (device reset): the bounce area leaves the IOTLB, the pages stay. */
export function vduseDomainResetBounceMap(ctx: EngineCtx, domain: VduseIovaDomain): void {
  if (!domain.bounceMap) return;
  ctx.trace.call('vduse_domain_reset_bounce_map', { domain: domain.name }, () => {
    vduseIotlbDelRange(ctx, domain, 0n, domain.bounceSize - 1n);
    domain.bounceMap = false;
  });
}

/** alloc_page(GFP_ATOMIC | __GFP_ZERO): zeroed by the CPU, so no stale line survives from a previous owner. */
function allocZeroedPage(ctx: EngineCtx, owner: string): bigint | null {
  const page = ctx.pages.allocPages(0, owner);
  if (page === null) return null;
  new CpuMemcpy(ctx.cache).zero(page, Number(ctx.platform.pageSize));
  ctx.trace.emit('engine:alloc_page', { phys: hex(page), gfp: 'GFP_ATOMIC|__GFP_ZERO' });
  return page;
}

/** vduse_domain_map_bounce_page: a page for every 4 KiB slice that has none, and its orig_phys. */
function vduseDomainMapBouncePage(ctx: EngineCtx, domain: VduseIovaDomain, iova: bigint, size: bigint, paddr: bigint): number {
  return ctx.trace.call('vduse_domain_map_bounce_page', { iova: hex(iova), size: Number(size), paddr: hex(paddr) }, () => {
    const last = iova + size - 1n;
    const pageMask = ~(domain.pageSize - 1n);
    while (iova <= last) {
      const map = domain.mapFor(mapIndex(iova));
      if (map.bouncePage === null) {
        // The head map of the CPU page owns the page; its sub-maps share it.
        const head = domain.mapFor(mapIndex(iova & pageMask));
        if (head.bouncePage === null) {
          const page = allocZeroedPage(ctx, `vduse bounce page ${domain.name}`);
          if (page === null) return -ENOMEM;
          head.bouncePage = page;
        }
        map.bouncePage = head.bouncePage;
      }
      map.origPhys = paddr;
      paddr += BOUNCE_MAP_SIZE;
      iova += BOUNCE_MAP_SIZE;
    }
    return 0;
  });
}

/** vduse_domain_unmap_bounce_page: orig_phys back to INVALID; the pages are kept until the domain goes. */
function vduseDomainUnmapBouncePage(ctx: EngineCtx, domain: VduseIovaDomain, iova: bigint, size: bigint): void {
  ctx.trace.call('vduse_domain_unmap_bounce_page', { iova: hex(iova), size: Number(size) }, () => {
    const last = iova + size - 1n;
    while (iova <= last) {
      const map = domain.mapAt(mapIndex(iova));
      if (map) map.origPhys = INVALID_PHYS_ADDR;
      iova += BOUNCE_MAP_SIZE;
    }
  });
}

/**
 * vduse_domain_bounce: copy between the original buffer and the bounce
 * pages, 4 KiB slice by slice, with the CPU's memcpy (through its cache).
 * `dir` is DMA_TO_DEVICE (orig -> bounce) or DMA_FROM_DEVICE (bounce -> orig).
 */
export function vduseDomainBounce(ctx: EngineCtx, domain: VduseIovaDomain, iova: bigint, size: bigint, dir: DmaDirection): void {
  if (iova >= domain.bounceSize) return; // coherent IOVAs are not bounced
  ctx.trace.call('vduse_domain_bounce', { iova: hex(iova), size: Number(size), dir: dir === DMA_TO_DEVICE ? 'TO_DEVICE' : 'FROM_DEVICE' }, () => {
    const cpu = new CpuMemcpy(ctx.cache);
    while (size > 0n) {
      const off = iova & BOUNCE_MAP_OFFSET_MASK;
      const sz = BOUNCE_MAP_SIZE - off < size ? BOUNCE_MAP_SIZE - off : size;
      const map = domain.mapAt(mapIndex(iova));
      const addr = map ? bounceAddr(domain, map, iova) : null;
      if (!map || addr === null || map.origPhys === INVALID_PHYS_ADDR) {
        ctx.trace.printk(`WARNING: drivers/vdpa/vdpa_user/iova_domain.c: vduse_domain_bounce: IOVA ${hex(iova)} has no bounce page or no orig_phys`);
        ctx.trace.check('vduse-bounce-warn', 'error', `WARN_ON in vduse_domain_bounce: IOVA ${hex(iova)} is not mapped (no bounce page, or orig_phys is INVALID_PHYS_ADDR); the copy stops there`);
        return;
      }
      const orig = map.origPhys + off;
      if (dir === DMA_TO_DEVICE) cpu.copy(addr, orig, Number(sz));
      else cpu.copy(orig, addr, Number(sz));
      ctx.trace.emit('engine:vduse_bounce_copy', { from: hex(dir === DMA_TO_DEVICE ? orig : addr), to: hex(dir === DMA_TO_DEVICE ? addr : orig), len: Number(sz) });
      size -= sz;
      iova += sz;
    }
  });
}

// ---- IOVA allocation ------------------------------------------------------------

/** vduse_domain_alloc_iova: alloc_iova_fast of the page-aligned size under `limit`; 0 on failure. */
function vduseDomainAllocIova(ctx: EngineCtx, iovad: IovaDomain, size: bigint, limit: bigint): bigint {
  const shift = BigInt(iovad.shift);
  const len = Number(iovad.iovaAlign(size) >> shift);
  const pfn = iovad.allocIovaFast(len, Number(limit >> shift), true, ctx.cpu);
  ctx.trace.emit('engine:alloc_iova_fast', { size: len, limit_pfn: hex(limit >> shift), pfn: hex(pfn), src: iovad.lastAllocSource });
  return BigInt(pfn) << shift;
}

/** vduse_domain_free_iova. */
function vduseDomainFreeIova(ctx: EngineCtx, iovad: IovaDomain, iova: bigint, size: bigint): void {
  const shift = BigInt(iovad.shift);
  const len = Number(iovad.iovaAlign(size) >> shift);
  iovad.freeIovaFast(Number(iova >> shift), len, ctx.cpu);
  ctx.trace.emit('engine:free_iova_fast', { pfn: hex(iova >> shift), size: len, dest: iovad.lastFreeDest });
}

// ---- the streaming DMA ops ------------------------------------------------------

export interface VduseMapResult {
  dma: bigint;
  /** Where the device-visible copy lives (the first byte's bounce page address), null on failure. */
  bounce: bigint | null;
}

/** vduse_domain_map_page: always bounces; the IOVA comes from below bounce_size. */
export function vduseDomainMapPage(ctx: EngineCtx, domain: VduseIovaDomain, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): VduseMapResult {
  return ctx.trace.call('vduse_domain_map_page', { domain: domain.name, phys: hex(phys), size: Number(size) }, () => {
    const iovad = domain.streamIovad;
    const iova = size <= domain.bounceSize ? vduseDomainAllocIova(ctx, iovad, size, domain.bounceSize - 1n) : 0n;
    if (iova === 0n) return { dma: DMA_MAPPING_ERROR, bounce: null };
    if (vduseDomainInitBounceMap(ctx, domain) !== 0 || vduseDomainMapBouncePage(ctx, domain, iova, size, phys) !== 0) {
      vduseDomainFreeIova(ctx, iovad, iova, size);
      return { dma: DMA_MAPPING_ERROR, bounce: null };
    }
    if ((attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0 && (dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL)) vduseDomainBounce(ctx, domain, iova, size, DMA_TO_DEVICE);
    const map = domain.mapAt(mapIndex(iova));
    return { dma: iova, bounce: map ? bounceAddr(domain, map, iova) : null };
  });
}

/** vduse_domain_unmap_page: copy back for FROM_DEVICE/BIDIRECTIONAL, release the slices and the IOVA. */
export function vduseDomainUnmapPage(ctx: EngineCtx, domain: VduseIovaDomain, dma: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  ctx.trace.call('vduse_domain_unmap_page', { domain: domain.name, dma_addr: hex(dma), size: Number(size) }, () => {
    if ((attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0 && (dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL)) vduseDomainBounce(ctx, domain, dma, size, DMA_FROM_DEVICE);
    vduseDomainUnmapBouncePage(ctx, domain, dma, size);
    vduseDomainFreeIova(ctx, domain.streamIovad, dma, size);
  });
}

/** vduse_domain_sync_single_for_device: the CPU's latest bytes go to the bounce pages. */
export function vduseDomainSyncSingleForDevice(ctx: EngineCtx, domain: VduseIovaDomain, dma: bigint, size: bigint, dir: DmaDirection): void {
  ctx.trace.call('vduse_domain_sync_single_for_device', { dma_addr: hex(dma), size: Number(size) }, () => {
    if (dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL) vduseDomainBounce(ctx, domain, dma, size, DMA_TO_DEVICE);
  });
}

/** vduse_domain_sync_single_for_cpu: what the userspace device wrote comes back to the buffer. */
export function vduseDomainSyncSingleForCpu(ctx: EngineCtx, domain: VduseIovaDomain, dma: bigint, size: bigint, dir: DmaDirection): void {
  ctx.trace.call('vduse_domain_sync_single_for_cpu', { dma_addr: hex(dma), size: Number(size) }, () => {
    if (dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL) vduseDomainBounce(ctx, domain, dma, size, DMA_FROM_DEVICE);
  });
}

// ---- coherent memory ------------------------------------------------------------

export interface VduseCoherent {
  cpu: bigint;
  dma: bigint;
}

/**
 * vduse_domain_alloc_coherent: alloc_pages_exact (zeroed) plus an IOVA
 * above the bounce area, exposed RW through the domain file at offset = IOVA.
 * Not bounced: userspace sees the very pages the driver uses.
 */
export function vduseDomainAllocCoherent(ctx: EngineCtx, domain: VduseIovaDomain, size: bigint): VduseCoherent | null {
  return ctx.trace.call('vduse_domain_alloc_coherent', { domain: domain.name, size: Number(size) }, () => {
    const iovad = domain.consistentIovad;
    const iova = vduseDomainAllocIova(ctx, iovad, size, domain.iovaLimit);
    const orig = allocPagesExact(ctx, size, `vduse coherent ${domain.name}`);
    const fail = (): null => {
      if (orig !== null) ctx.pages.free(orig);
      if (iova !== 0n) vduseDomainFreeIova(ctx, iovad, iova, size);
      return null;
    };
    if (iova === 0n || orig === null) return fail();
    if (vduseIotlbAddRange(ctx, domain, iova, iova + size - 1n, orig, VHOST_MAP_RW, VDUSE_DOMAIN_FILE, iova) !== 0) return fail();
    return { cpu: orig, dma: iova };
  });
}

/** alloc_pages_exact(size, GFP | __GFP_ZERO): an order-aligned block, of which only PAGE_ALIGN(size) is kept. */
function allocPagesExact(ctx: EngineCtx, size: bigint, owner: string): bigint | null {
  const bytes = alignUp(size, ctx.platform.pageSize);
  let block = ctx.platform.pageSize;
  while (block < bytes) block <<= 1n;
  const phys = ctx.pages.alloc(bytes, block, owner);
  if (phys === null) return null;
  new CpuMemcpy(ctx.cache).zero(phys, Number(bytes));
  ctx.trace.emit('engine:alloc_pages_exact', { phys: hex(phys), size: Number(bytes) });
  return phys;
}

/**
 * vduse_domain_free_coherent: the pages freed are the ones the IOTLB range
 * points at (found by the DMA address), not the CPU address the caller holds.
 * Returns the physical address freed, or null when no range covers dma (a WARN).
 */
export function vduseDomainFreeCoherent(ctx: EngineCtx, domain: VduseIovaDomain, size: bigint, dma: bigint): bigint | null {
  return ctx.trace.call('vduse_domain_free_coherent', { domain: domain.name, dma_addr: hex(dma), size: Number(size) }, () => {
    const map = domain.itreeFirst(dma, dma + size - 1n);
    if (!map) {
      ctx.trace.printk(`WARNING: drivers/vdpa/vdpa_user/iova_domain.c: vduse_domain_free_coherent: no IOTLB range at ${hex(dma)}`);
      ctx.trace.check('vduse-free-coherent-warn', 'error', `WARN_ON in vduse_domain_free_coherent: no IOTLB range covers ${hex(dma)}+${size}; nothing is freed`);
      return null;
    }
    const pa = map.addr;
    domain.iotlb.splice(domain.iotlb.indexOf(map), 1);
    vduseDomainFreeIova(ctx, domain.consistentIovad, dma, size);
    ctx.pages.free(pa);
    ctx.trace.emit('engine:free_pages_exact', { phys: hex(pa), size: Number(size) });
    return pa;
  });
}

// ---- VDUSE_IOTLB_REG_UMEM -------------------------------------------------------

/**
 * vduse_domain_add_user_bounce_pages: the daemon's memory (here one
 * physically contiguous buffer of bounce_size bytes) replaces the kernel
 * bounce pages; slices in use are copied over first.
 */
export function vduseDomainAddUserBouncePages(ctx: EngineCtx, domain: VduseIovaDomain, userBase: bigint, size: bigint): number {
  return ctx.trace.call('vduse_domain_add_user_bounce_pages', { domain: domain.name, base: hex(userBase), size: Number(size) }, () => {
    if (size !== domain.bounceSize) return -EINVAL; // no partial mapping
    if (domain.userBouncePages) return -EEXIST;
    const cpu = new CpuMemcpy(ctx.cache);
    const count = Number(domain.bounceSize >> BOUNCE_MAP_SHIFT);
    for (let i = 0; i < count; i++) {
      const user = userBase + (BigInt(i) << BOUNCE_MAP_SHIFT);
      const map = domain.mapAt(i);
      if (map && map.bouncePage !== null && map.origPhys !== INVALID_PHYS_ADDR) {
        const kaddr = bounceAddr(domain, map, BigInt(i) << BOUNCE_MAP_SHIFT);
        if (kaddr !== null) cpu.copy(user, kaddr, Number(BOUNCE_MAP_SIZE));
      }
      domain.mapFor(i).userBouncePage = user;
    }
    domain.userBouncePages = true;
    return 0;
  });
}

/** vduse_domain_remove_user_bounce_pages: back to the kernel pages, copying live slices back. */
export function vduseDomainRemoveUserBouncePages(ctx: EngineCtx, domain: VduseIovaDomain): void {
  if (!domain.userBouncePages) return;
  ctx.trace.call('vduse_domain_remove_user_bounce_pages', { domain: domain.name }, () => {
    const cpu = new CpuMemcpy(ctx.cache);
    for (const [i, map] of domain.bounceMaps) {
      if (map.userBouncePage === null) continue;
      if (map.origPhys !== INVALID_PHYS_ADDR && map.bouncePage !== null) {
        cpu.copy(map.bouncePage + ((BigInt(i) << BOUNCE_MAP_SHIFT) & (domain.pageSize - 1n)), map.userBouncePage, Number(BOUNCE_MAP_SIZE));
      }
      map.userBouncePage = null;
    }
    domain.userBouncePages = false;
  });
}

// ---- the userspace side: mmap of the IOVA space ---------------------------------

export interface VduseUserPage {
  phys?: bigint;
  /** Why the access cannot complete (the signal the daemon gets). */
  fault?: string;
}

/**
 * Where the daemon's access to `iova` lands. It reaches IOVAs through the
 * files VDUSE_IOTLB_GET_FD hands out for each IOTLB range: the domain file
 * goes through vduse_domain_mmap_fault (bounce page below bounce_size,
 * coherent page above it, SIGBUS when there is none: nothing is allocated
 * lazily), any other file is the guest memory itself.
 */
export function vduseUserResolve(ctx: EngineCtx, domain: VduseIovaDomain, iova: bigint, write: boolean): VduseUserPage {
  const range = domain.itreeFirst(iova, iova);
  if (!range) return { fault: `SIGSEGV: no IOTLB range covers IOVA ${hex(iova)} (VDUSE_IOTLB_GET_FD returns -EINVAL, so nothing is mmap()ed there)` };
  if (write && (range.perm & VHOST_MAP_WO) === 0) return { fault: `SIGSEGV: write to IOVA ${hex(iova)} in a read-only range [${hex(range.start)}..${hex(range.last)}] (VHOST_MAP_RO: the fd is O_RDONLY)` };
  if (!write && (range.perm & VHOST_MAP_RO) === 0) return { fault: `SIGSEGV: read of IOVA ${hex(iova)} in a write-only range [${hex(range.start)}..${hex(range.last)}] (VHOST_MAP_WO: an O_WRONLY fd cannot be mmap()ed)` };
  if (range.file !== VDUSE_DOMAIN_FILE) return { phys: range.addr + (iova - range.start) };
  if (domain.userBouncePages && iova < domain.bounceSize) {
    // The daemon registered its own memory for the bounce area and reads that.
    const map = domain.mapAt(mapIndex(iova));
    if (map && map.userBouncePage !== null) return { phys: map.userBouncePage + (iova & BOUNCE_MAP_OFFSET_MASK) };
  }
  return vduseDomainMmapFault(ctx, domain, iova);
}

/** vduse_domain_mmap_fault for the page holding `iova`, plus the offset into it. */
function vduseDomainMmapFault(ctx: EngineCtx, domain: VduseIovaDomain, iova: bigint): VduseUserPage {
  const pageSize = domain.pageSize;
  const pageIova = iova & ~(pageSize - 1n);
  return ctx.trace.call('vduse_domain_mmap_fault', { iova: hex(pageIova) }, () => {
    if (pageIova < domain.bounceSize) {
      const map = domain.userBouncePages ? undefined : domain.mapAt(mapIndex(pageIova));
      if (!map || map.bouncePage === null) return { fault: `SIGBUS: no bounce page behind IOVA ${hex(iova)} (vduse_domain_get_bounce_page: bounce pages are allocated by dma_map_page, never on a user fault)` };
      return { phys: map.bouncePage + (iova - pageIova) };
    }
    const map = domain.itreeFirst(pageIova, pageIova + pageSize - 1n);
    if (!map) return { fault: `SIGBUS: no coherent page behind IOVA ${hex(iova)} (vduse_domain_get_coherent_page found no IOTLB range)` };
    const page = ((map.addr + pageIova - map.start) & U64_MASK) & ~(pageSize - 1n);
    return { phys: page + (iova - pageIova) };
  });
}

/** Chunks of [iova, iova + len) that stay within one 4 KiB slice. */
function userChunks(iova: bigint, len: number): { iova: bigint; off: number; len: number }[] {
  const out: { iova: bigint; off: number; len: number }[] = [];
  let off = 0;
  while (off < len) {
    const a = iova + BigInt(off);
    const n = Math.min(len - off, Number(BOUNCE_MAP_SIZE - (a & BOUNCE_MAP_OFFSET_MASK)));
    out.push({ iova: a, off, len: n });
    off += n;
  }
  return out;
}

function userFault(ctx: EngineCtx, domain: VduseIovaDomain, iova: bigint, write: boolean, reason: string): void {
  ctx.trace.emit('engine:vduse_user_fault', { domain: domain.name, iova: hex(iova), access: write ? 'write' : 'read', reason });
  ctx.trace.fault(domain.name, iova, write ? 'write' : 'read', null, reason);
}

function checkUserRam(ctx: EngineCtx, domain: VduseIovaDomain, iova: bigint, phys: bigint, len: number, write: boolean): boolean {
  if (ctx.mem.isRam(phys, BigInt(len))) return true;
  userFault(ctx, domain, iova, write, `SIGBUS: IOVA ${hex(iova)} maps physical address ${hex(phys)}, which is not RAM`);
  return false;
}

/** The daemon reads its mmap of the IOVA space; on a fault the bytes before it come back (a short read). */
export function vduseUserRead(ctx: EngineCtx, domain: VduseIovaDomain, iova: bigint, len: number): { bytes: Uint8Array; faulted: boolean } {
  return ctx.trace.call('vduse_user_read', { domain: domain.name, iova: hex(iova), len }, () => {
    const out = new Uint8Array(len);
    for (const c of userChunks(iova, len)) {
      const r = vduseUserResolve(ctx, domain, c.iova, false);
      if (r.phys === undefined) {
        userFault(ctx, domain, c.iova, false, r.fault ?? 'SIGBUS');
        return { bytes: out.slice(0, c.off), faulted: true };
      }
      if (!checkUserRam(ctx, domain, c.iova, r.phys, c.len, false)) return { bytes: out.slice(0, c.off), faulted: true };
      out.set(ctx.cache.cpuRead(r.phys, c.len).bytes, c.off);
    }
    return { bytes: out, faulted: false };
  });
}

/** The daemon writes its mmap of the IOVA space (a CPU store, through the cache). */
export function vduseUserWrite(ctx: EngineCtx, domain: VduseIovaDomain, iova: bigint, bytes: Uint8Array): { faulted: boolean } {
  return ctx.trace.call('vduse_user_write', { domain: domain.name, iova: hex(iova), len: bytes.length }, () => {
    for (const c of userChunks(iova, bytes.length)) {
      const r = vduseUserResolve(ctx, domain, c.iova, true);
      if (r.phys === undefined) {
        userFault(ctx, domain, c.iova, true, r.fault ?? 'SIGBUS');
        return { faulted: true };
      }
      if (!checkUserRam(ctx, domain, c.iova, r.phys, c.len, true)) return { faulted: true };
      ctx.cache.cpuWrite(r.phys, bytes.subarray(c.off, c.off + c.len));
    }
    return { faulted: false };
  });
}

// ---- inspection -----------------------------------------------------------------

export interface VduseBounceMapView {
  index: number;
  iova: bigint;
  bouncePage: bigint | null;
  /** Address of this 4 KiB slice inside its page (what userspace reads at `iova`). */
  bounceAddr: bigint | null;
  userBouncePage: bigint | null;
  /** null for INVALID_PHYS_ADDR (the slice is idle). */
  origPhys: bigint | null;
}

export interface VduseDomainView {
  name: string;
  bounceSize: bigint;
  iovaLimit: bigint;
  bounceMapRegistered: boolean;
  userBouncePages: boolean;
  bounceMaps: VduseBounceMapView[];
  ranges: VhostIotlbMap[];
  streamIovas: { start: bigint; last: bigint }[];
  consistentIovas: { start: bigint; last: bigint }[];
}

/** A plain snapshot of the domain for panels and hovers: slices that have a page, IOTLB ranges, IOVA nodes. */
export function vduseDomainView(domain: VduseIovaDomain): VduseDomainView {
  const shift = domain.shift;
  const iovas = (iovad: IovaDomain): { start: bigint; last: bigint }[] =>
    iovad.ranges().filter((r) => !r.cached).map((r) => ({ start: BigInt(r.pfnLo) << shift, last: ((BigInt(r.pfnHi) + 1n) << shift) - 1n }));
  const maps = [...domain.bounceMaps.entries()]
    .filter(([, m]) => m.bouncePage !== null || m.userBouncePage !== null)
    .sort((a, b) => a[0] - b[0])
    .map(([index, m]) => {
      const iova = BigInt(index) << BOUNCE_MAP_SHIFT;
      return {
        index,
        iova,
        bouncePage: m.bouncePage,
        bounceAddr: bounceAddr(domain, m, iova),
        userBouncePage: m.userBouncePage,
        origPhys: m.origPhys === INVALID_PHYS_ADDR ? null : m.origPhys,
      };
    });
  return {
    name: domain.name,
    bounceSize: domain.bounceSize,
    iovaLimit: domain.iovaLimit,
    bounceMapRegistered: domain.bounceMap,
    userBouncePages: domain.userBouncePages,
    bounceMaps: maps,
    ranges: domain.iotlb.map((m) => ({ ...m })),
    streamIovas: iovas(domain.streamIovad),
    consistentIovas: iovas(domain.consistentIovad),
  };
}

/** vduse_domain_create with the limits vduse_dev.c applies; throws KernelError (-EINVAL / -ENOMEM) where it fails. */
export function vduseDomainCreate(ctx: EngineCtx, name: string, iovaSize: bigint, bounceSize: bigint): VduseIovaDomain {
  return ctx.trace.call('vduse_domain_create', { domain: name, iova_limit: hex(iovaSize - 1n), bounce_size: hex(bounceSize) }, () => {
    // bounce_size_store() rejects sizes outside [1 MiB, 1 GiB].
    if (bounceSize < VDUSE_MIN_BOUNCE_SIZE || bounceSize > VDUSE_MAX_BOUNCE_SIZE) {
      throw new KernelError(EINVAL, `vduse ${name}: bounce_size ${hex(bounceSize)} is outside [1 MiB, 1 GiB] (bounce_size_store returns -EINVAL)`);
    }
    return new VduseIovaDomain(name, iovaSize - 1n, bounceSize, ctx.platform.pageSize, ctx.platform.cpus);
  });
}

/**
 * The instance's domain, created on first use: at probe of the first device
 * behind it (vdpa_dev_add -> vduse_domain_create), or when a scenario drives
 * an instance without a device (set_map, user access). `iova_limit` in the
 * declaration is the size of the IOVA space (VDUSE_IOVA_SIZE), so the last
 * IOVA is one below it.
 */
export function vduseIommuDomain(ctx: EngineCtx, iommu: Iommu): VduseIovaDomain {
  if (!iommu.vduse) iommu.vduse = vduseDomainCreate(ctx, iommu.name, iommu.cfg.iovaLimit ?? VDUSE_IOVA_SIZE, iommu.cfg.bounceSize ?? VDUSE_BOUNCE_SIZE);
  return iommu.vduse;
}

/** The VDUSE domain the device's DMA goes through; null when it is not behind a `vduse` instance. */
export function vduseDomainOf(dev: Device): VduseIovaDomain | null {
  const near = dev.path[0];
  return near !== undefined && near.iommu.cfg.kind === 'vduse' ? near.iommu.vduse : null;
}
