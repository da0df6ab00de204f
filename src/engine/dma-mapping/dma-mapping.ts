// kernel/dma/mapping.c: the DMA API a driver calls. Calls the device's DMA
// ops table (dev.dmaOps, dma-map-ops.ts: dma-direct, dma-iommu, a chain's
// stacked ops or VDUSE's, picked at probe by dma-ops-setup.ts), emits the dma:
// tracepoints, feeds dma-debug, and tracks buffer ownership and what a mapping
// exposes to the device.

import type { EngineCtx } from '../context';
import { traceSite } from '../trace/recorder';
import type { Device } from '../device';
import type { DmaDebugDevice, DmaDebugSg } from '../dma-debug/dma-debug';
import { ENOMEM } from '../errno';
import { DMA_MAPPING_ERROR, hex, numberOf } from '../u64';
import { DMA_ATTR_MMIO, DMA_ATTR_NO_WARN, DMA_ATTR_PRIVILEGED, DMA_ATTR_SKIP_CPU_SYNC, DMA_ATTR_WEAK_ORDERING, DMA_ATTR_WRITE_COMBINE, DMA_ATTR_NO_KERNEL_MAPPING, DMA_ATTR_FORCE_CONTIGUOUS, DMA_ATTR_ALLOC_SINGLE_PAGES, DMA_BIDIRECTIONAL, type DmaDirection } from './dma-direction';
import { dmaDomain } from './dma-iommu';
import { coherentBytes } from './dma-map-ops';
import { mappingKey } from './mapping-records';
import type { SgTable } from './scatterlist';

const TRACE_DIR = ['BIDIRECTIONAL', 'TO_DEVICE', 'FROM_DEVICE', 'NONE'];

/** The attrs field of the dma: tracepoints: |-joined names, empty when none. */
export function traceAttrs(attrs: number): string {
  if (attrs === 0) return '';
  const names: [number, string][] = [
    [DMA_ATTR_WEAK_ORDERING, 'WEAK_ORDERING'], [DMA_ATTR_WRITE_COMBINE, 'WRITE_COMBINE'], [DMA_ATTR_NO_KERNEL_MAPPING, 'NO_KERNEL_MAPPING'],
    [DMA_ATTR_SKIP_CPU_SYNC, 'SKIP_CPU_SYNC'], [DMA_ATTR_FORCE_CONTIGUOUS, 'FORCE_CONTIGUOUS'], [DMA_ATTR_ALLOC_SINGLE_PAGES, 'ALLOC_SINGLE_PAGES'],
    [DMA_ATTR_NO_WARN, 'NO_WARN'], [DMA_ATTR_PRIVILEGED, 'PRIVILEGED'], [DMA_ATTR_MMIO, 'MMIO'],
  ];
  return names.filter(([bit]) => (attrs & bit) !== 0).map(([, n]) => n).join('|');
}

export function debugDevice(dev: Device): DmaDebugDevice {
  return dev.dmaDebug;
}

/** Bytes around the mapped buffer that the device can reach because the IOMMU maps whole granules. */
function checkGranuleExposure(ctx: EngineCtx, dev: Device, phys: bigint, size: bigint, bounced: boolean): void {
  // Without dev->dma_iommu (no IOMMU, or not a DMA API domain) nothing is mapped by granule.
  if (bounced || !dev.dmaIommu) return;
  const domain = dmaDomain(dev);
  if (!domain || !domain.isPaging()) return;
  // Whole granules (the usual page-sized map) expose nothing unless the buffer ends before the mapping does.
  if (((phys | size) & domain.minPageMask) === 0n) {
    const room = ctx.buffers.roomAt(phys);
    if (room < 0n || size <= room) return;
  }
  const g = domain.minPagesz;
  const start = phys & ~(g - 1n);
  const end = (phys + size + g - 1n) & ~(g - 1n);
  const buf = ctx.buffers.find(phys);
  const bufStart = buf ? buf.phys : phys;
  const bufEnd = buf ? buf.phys + buf.size : phys + size;
  const exposed = (bufStart > start ? bufStart - start : 0n) + (end > bufEnd ? end - bufEnd : 0n);
  if (exposed > 0n) {
    ctx.trace.check(
      'granule-exposure',
      'warning',
      `mapping ${hex(phys)}+${size} exposes ${exposed} bytes beyond the buffer to ${dev.busId}: the IOMMU maps whole ${g}-byte granules [${hex(start)}..${hex(end)})`,
      buf?.line,
    );
  }
}

/** Trace sites of the map/unmap events, their field names in order (the trace compares repeats by site and position). */
const MAP_PHYS_SITE = traceSite('call', 'dma_map_phys', ['device', 'phys', 'size', 'dir']);
const MAP_PHYS_POINT = traceSite('point', 'dma:dma_map_phys', ['device', 'dir', 'dma_addr', 'size', 'phys_addr', 'attrs']);
const UNMAP_PHYS_SITE = traceSite('call', 'dma_unmap_phys', ['device', 'dma_addr', 'size', 'dir']);
const UNMAP_PHYS_POINT = traceSite('point', 'dma:dma_unmap_phys', ['device', 'dir', 'dma_addr', 'size', 'attrs']);

/** dma_map_phys (v6.18; dma_map_page_attrs and dma_map_single_attrs land here). */
export function dmaMapPhys(ctx: EngineCtx, dev: Device, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): bigint {
  const trace = ctx.trace;
  trace.enterAt(MAP_PHYS_SITE, dev.busId, phys, numberOf(size), TRACE_DIR[dir]);
  let dma: bigint;
  try {
    dma = dmaMapPhysBody(ctx, dev, phys, size, dir, attrs);
  } catch (e) {
    trace.unwind(e);
    throw e;
  }
  trace.leave(dma);
  return dma;
}

/** dma_map_phys's body, inside its call event. */
function dmaMapPhysBody(ctx: EngineCtx, dev: Device, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): bigint {
  const r = dev.dmaOps.mapPhys(ctx, dev, phys, size, dir, attrs);
  const dma = r.dma;
  const bounce = r.bounce;
  if (ctx.trace.keeps()) ctx.trace.pointAt(MAP_PHYS_POINT, dev.busId, TRACE_DIR[dir], dma, numberOf(size), phys, traceAttrs(attrs));
  ctx.debug.debugDmaMapPhys(debugDevice(dev), phys, size, dir, dma, attrs);
  if (dma !== DMA_MAPPING_ERROR) {
    // The record is also the mapping's ownership region (one object a mapping).
    ctx.ownership.add(ctx.mappings.add({ device: dev.name, dma, size, phys, dir, bounce, kind: 'single', line: ctx.trace.line, key: '', live: true, owner: 'device' }));
    checkGranuleExposure(ctx, dev, phys, size, bounce !== null);
  }
  return dma;
}

export function dmaUnmapPhys(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  const trace = ctx.trace;
  trace.enterAt(UNMAP_PHYS_SITE, dev.busId, addr, numberOf(size), TRACE_DIR[dir]);
  try {
    dmaUnmapPhysBody(ctx, dev, addr, size, dir, attrs);
  } catch (e) {
    trace.unwind(e);
    throw e;
  }
  trace.leave();
}

/** dma_unmap_phys's body, inside its call event. */
function dmaUnmapPhysBody(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  const key = mappingKey(dev.name, addr);
  const known = ctx.mappings.live.has(key);
  // A driver unmapping what it never mapped: dma-debug reports it; the real unmap would WARN or corrupt, so stop there.
  if (known) dev.dmaOps.unmapPhys(ctx, dev, addr, size, dir, attrs);
  if (ctx.trace.keeps()) ctx.trace.pointAt(UNMAP_PHYS_POINT, dev.busId, TRACE_DIR[dir], addr, numberOf(size), traceAttrs(attrs));
  ctx.debug.debugDmaUnmapPhys(debugDevice(dev), addr, size, dir);
  ctx.mappings.endKey(key, dev.name, addr, ctx.trace.line);
  ctx.ownership.remove(key);
}

/** dma_mapping_error(): an int, -ENOMEM for DMA_MAPPING_ERROR and 0 otherwise (include/linux/dma-mapping.h). */
export function dmaMappingError(ctx: EngineCtx, dev: Device, addr: bigint): number {
  ctx.debug.debugDmaMappingError(debugDevice(dev), addr);
  return addr === DMA_MAPPING_ERROR ? -ENOMEM : 0;
}

/** The mapping (if any) whose DMA range holds addr, to move ownership on a sync. */
function ownerMapping(ctx: EngineCtx, dev: Device, addr: bigint): string | undefined {
  for (const r of ctx.mappings.live.values()) if (r.device === dev.name && addr >= r.dma && addr < r.dma + r.size) return r.key;
  return undefined;
}

/** dma_sync_single_for_cpu / _for_device: the device's ops, then ownership, tracepoint and dma-debug. */
function dmaSyncSingle(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection, forCpu: boolean): void {
  const name = forCpu ? 'dma_sync_single_for_cpu' : 'dma_sync_single_for_device';
  ctx.trace.call(name, { device: dev.busId, dma_addr: addr, size: Number(size), dir: TRACE_DIR[dir] }, () => {
    const key = ownerMapping(ctx, dev, addr);
    if (key) {
      if (forCpu) dev.dmaOps.syncSingleForCpu(ctx, dev, addr, size, dir);
      else dev.dmaOps.syncSingleForDevice(ctx, dev, addr, size, dir);
      ctx.ownership.setOwner(key, forCpu ? 'cpu' : 'device');
    }
    ctx.trace.emit(`dma:${name}`, { device: dev.busId, dir: TRACE_DIR[dir], dma_addr: addr, size: Number(size) });
    if (forCpu) ctx.debug.debugDmaSyncSingleForCpu(debugDevice(dev), addr, size, dir);
    else ctx.debug.debugDmaSyncSingleForDevice(debugDevice(dev), addr, size, dir);
  });
}

export function dmaSyncSingleForCpu(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection): void {
  dmaSyncSingle(ctx, dev, addr, size, dir, true);
}

export function dmaSyncSingleForDevice(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection): void {
  dmaSyncSingle(ctx, dev, addr, size, dir, false);
}

function debugSg(sgt: SgTable): DmaDebugSg[] {
  return sgt.entries.map((s) => ({ phys: s.phys, length: Number(s.length), dmaAddress: s.dmaAddress, dmaLength: Number(s.dmaLength) }));
}

function hexList(xs: bigint[]): string {
  return `{${xs.map((x) => hex(x)).join(',')}}`;
}

/** dma_map_sg_attrs: the number of DMA segments, 0 on failure. */
export function dmaMapSg(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number): number {
  return ctx.trace.call('dma_map_sg', { device: dev.busId, nents: sgt.nents, dir: TRACE_DIR[dir] }, () => {
    const ents = dev.dmaOps.mapSg(ctx, dev, sgt, dir, attrs);
    const phys = sgt.entries.map((s) => s.phys);
    if (ents <= 0) {
      ctx.trace.emit('dma:dma_map_sg_err', { device: dev.busId, dir: TRACE_DIR[dir], dma_addrs: hexList(phys), err: ents, attrs: traceAttrs(attrs) });
      sgt.mappedNents = 0;
      return 0;
    }
    sgt.mappedNents = ents;
    const out = sgt.entries.slice(0, ents);
    ctx.trace.emit('dma:dma_map_sg', {
      device: dev.busId, dir: TRACE_DIR[dir], dma_addrs: hexList(out.map((s) => s.dmaAddress)), sizes: hexList(out.map((s) => s.dmaLength)), phys_addrs: hexList(phys), attrs: traceAttrs(attrs),
    });
    ctx.debug.debugDmaMapSg(debugDevice(dev), debugSg(sgt), sgt.nents, ents, dir, attrs);
    for (const s of out) {
      ctx.mappings.add({ device: dev.name, dma: s.dmaAddress, size: s.dmaLength, phys: s.phys, dir, bounce: null, kind: 'sg', line: ctx.trace.line });
    }
    for (const s of sgt.entries) {
      ctx.ownership.add({ key: `sg:${dev.name}:${sgt.line}:${hex(s.phys)}`, device: dev.name, phys: s.phys, size: s.length, dir, owner: 'device', line: ctx.trace.line });
    }
    return ents;
  });
}

/** dma_unmap_sg_attrs(); `nents` is what the driver passes (it must be the count given to dma_map_sg). */
export function dmaUnmapSg(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number, nents = sgt.nents): void {
  ctx.trace.call('dma_unmap_sg', { device: dev.busId, nents, dir: TRACE_DIR[dir] }, () => {
    const mapped = sgt.mappedNents > 0;
    ctx.debug.debugDmaUnmapSg(debugDevice(dev), debugSg(sgt), nents, dir);
    if (mapped) dev.dmaOps.unmapSg(ctx, dev, sgt, dir, attrs);
    ctx.trace.emit('dma:dma_unmap_sg', { device: dev.busId, dir: TRACE_DIR[dir], phys_addrs: hexList(sgt.entries.map((s) => s.phys)), attrs: traceAttrs(attrs) });
    for (const s of sgt.entries.slice(0, sgt.mappedNents)) ctx.mappings.end(dev.name, s.dmaAddress, ctx.trace.line);
    for (const s of sgt.entries) ctx.ownership.remove(`sg:${dev.name}:${sgt.line}:${hex(s.phys)}`);
    sgt.mappedNents = 0;
  });
}

/** dma_sync_sg_for_cpu/device(); `nents` (nelems) is what the driver passes, the count given to dma_map_sg. */
export function dmaSyncSg(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, forCpu: boolean, nents = sgt.nents): void {
  const name = forCpu ? 'dma_sync_sg_for_cpu' : 'dma_sync_sg_for_device';
  ctx.trace.call(name, { device: dev.busId, nents, dir: TRACE_DIR[dir] }, () => {
    if (forCpu) dev.dmaOps.syncSgForCpu(ctx, dev, sgt, dir);
    else dev.dmaOps.syncSgForDevice(ctx, dev, sgt, dir);
    for (const s of sgt.entries) ctx.ownership.setOwner(`sg:${dev.name}:${sgt.line}:${hex(s.phys)}`, forCpu ? 'cpu' : 'device');
    const out = sgt.entries.slice(0, sgt.mappedNents);
    ctx.trace.emit(`dma:${name}`, { device: dev.busId, dir: TRACE_DIR[dir], dma_addrs: hexList(out.map((s) => s.dmaAddress)), sizes: hexList(out.map((s) => s.dmaLength)) });
    if (forCpu) ctx.debug.debugDmaSyncSgForCpu(debugDevice(dev), debugSg(sgt), nents, dir);
    else ctx.debug.debugDmaSyncSgForDevice(debugDevice(dev), debugSg(sgt), nents, dir);
  });
}

export interface CoherentAlloc {
  /** The CPU side (physical address of the pages). */
  cpu: bigint;
  dma: bigint;
  size: bigint;
  line: number;
}

/** dma_alloc_coherent. */
export function dmaAllocCoherent(ctx: EngineCtx, dev: Device, size: bigint): CoherentAlloc | null {
  return ctx.trace.call('dma_alloc_coherent', { device: dev.busId, size: Number(size) }, () => {
    const r = dev.dmaOps.alloc(ctx, dev, size);
    if (r === 'no-pages') {
      ctx.trace.emit('dma:dma_alloc', { device: dev.busId, dir: 'BIDIRECTIONAL', dma_addr: DMA_MAPPING_ERROR, size: Number(size), flags: 'GFP_KERNEL', attrs: '' });
      return null;
    }
    if (r === 'not-mapped') return null; // the IOMMU could not map the pages: alloc gave them back
    const phys = r.cpu;
    const dma = r.dma;
    const bytes = coherentBytes(ctx, size);
    if (!dev.coherent) ctx.cache.uncached.push({ start: phys, end: phys + bytes });
    ctx.buffers.add('coherent', phys, size, bytes, ctx.trace.line, `coherent ${dev.name}`);
    ctx.trace.emit('dma:dma_alloc', { device: dev.busId, dir: 'BIDIRECTIONAL', dma_addr: dma, size: Number(size), flags: 'GFP_KERNEL', attrs: '' });
    ctx.debug.debugDmaAllocCoherent(debugDevice(dev), size, dma, phys);
    ctx.mappings.add({ device: dev.name, dma, size, phys, dir: DMA_BIDIRECTIONAL, bounce: null, kind: 'coherent', line: ctx.trace.line });
    return { cpu: phys, dma, size, line: ctx.trace.line };
  });
}

export function dmaFreeCoherent(ctx: EngineCtx, dev: Device, size: bigint, coh: CoherentAlloc): void {
  ctx.trace.call('dma_free_coherent', { device: dev.busId, size: Number(size), dma_addr: coh.dma }, () => {
    ctx.debug.debugDmaFreeCoherent(debugDevice(dev), size, coh.cpu, coh.dma);
    const rec = ctx.mappings.end(dev.name, coh.dma, ctx.trace.line);
    if (rec) {
      dev.dmaOps.free(ctx, dev, size, coh.cpu, coh.dma);
      ctx.buffers.remove(coh.cpu);
      const i = ctx.cache.uncached.findIndex((r) => r.start === coh.cpu);
      if (i >= 0) ctx.cache.uncached.splice(i, 1);
    }
    ctx.trace.emit('dma:dma_free', { device: dev.busId, dir: 'BIDIRECTIONAL', dma_addr: coh.dma, size: Number(size), attrs: '' });
  });
}
