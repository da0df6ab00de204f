// struct scatterlist / sg_table and the two map_sg implementations:
// dma-iommu's single-IOVA layout with __finalise_sg merging, and dma-direct's
// one mapping per segment.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { iommuMapNosync, iommuSyncMap } from '../iommu/iommu-core';
import { DMA_MAPPING_ERROR, hex } from '../u64';
import { archSyncDmaForDevice } from './arch-sync';
import { dmaDirectMapPhys, dmaDirectUnmapPhys } from './dma-direct';
import { DMA_ATTR_SKIP_CPU_SYNC, type DmaDirection } from './dma-direction';
import { devUseSwiotlb, dmaDomain, dmaInfoToProt, iommuDmaAllocIova, iommuDmaFreeIova, iommuDmaMapPhys, iommuDmaUnmapPhys, iommuDmaUnmapRaw } from './dma-iommu';
import { EINVAL, ENOMEM } from '../errno';

export interface SgEntry {
  /** sg_phys(s). */
  phys: bigint;
  /** s->length. */
  length: bigint;
  /** sg_dma_address / sg_dma_len of the output segment at this index (DMA_MAPPING_ERROR / 0 when unused). */
  dmaAddress: bigint;
  dmaLength: bigint;
}

export class SgTable {
  readonly entries: SgEntry[];
  /** Output segments of the last successful dma_map_sg (0 = not mapped). */
  mappedNents = 0;
  /** Mapped one segment at a time through swiotlb (sg_dma_mark_swiotlb). */
  bouncedEach = false;
  line: number;

  constructor(segments: { phys: bigint; length: bigint }[], line: number) {
    this.entries = segments.map((s) => ({ phys: s.phys, length: s.length, dmaAddress: DMA_MAPPING_ERROR, dmaLength: 0n }));
    this.line = line;
  }

  get nents(): number {
    return this.entries.length;
  }
}

/** iommu_dma_map_sg: returns the number of output segments or a negative errno. */
export function iommuDmaMapSg(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number): number {
  const domain = dmaDomain(dev);
  if (!domain || !domain.iovad) return -EINVAL;
  const anyNeedsBounce = sgt.entries.some((s) => devUseSwiotlb(ctx, dev, s.length, dir));
  if (anyNeedsBounce) {
    // iommu_dma_map_sg_swiotlb: every segment on its own.
    sgt.bouncedEach = true;
    for (let i = 0; i < sgt.entries.length; i++) {
      const s = sgt.entries[i];
      const r = iommuDmaMapPhys(ctx, dev, s.phys, s.length, dir, attrs);
      if (r.dma === DMA_MAPPING_ERROR) {
        for (let j = 0; j < i; j++) iommuDmaUnmapPhys(ctx, dev, sgt.entries[j].dmaAddress, sgt.entries[j].dmaLength, dir, attrs | DMA_ATTR_SKIP_CPU_SYNC);
        return -EINVAL;
      }
      s.dmaAddress = r.dma;
      s.dmaLength = s.length;
    }
    return sgt.entries.length;
  }
  sgt.bouncedEach = false;
  if ((attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0 && !dev.coherent) for (const s of sgt.entries) archSyncDmaForDevice(ctx, s.phys, s.length, dir);
  const granule = domain.minPagesz;
  const pageMask = ctx.platform.pageSize - 1n;
  const mask = dev.segmentBoundary;
  // Work on the kernel's in-place view: page-relative offset shifted down to the granule, length rounded up.
  const work = sgt.entries.map((s) => {
    const offset = s.phys & pageMask;
    const iovaOff = offset & (granule - 1n);
    const len = (s.length + iovaOff + granule - 1n) & ~(granule - 1n);
    return { mapPhys: s.phys - iovaOff, iovaOff, origLen: s.length, iovaLen: len };
  });
  let iovaLen = 0n;
  for (let i = 0; i < work.length; i++) {
    const padLen = (mask - iovaLen + 1n) & mask;
    if (padLen !== 0n && padLen < work[i].iovaLen - 1n && i > 0) {
      work[i - 1].iovaLen += padLen;
      iovaLen += padLen;
    }
    iovaLen += work[i].iovaLen;
  }
  if (iovaLen === 0n) return 0;
  const iova = iommuDmaAllocIova(ctx, domain, iovaLen, dev.dmaMask, dev);
  if (iova === 0n) return -ENOMEM;
  // iommu_map_sg: physically contiguous runs are mapped with one call.
  const prot = dmaInfoToProt(dir, dev.coherent, attrs);
  let mapped = 0n;
  let runStart = 0n;
  let runLen = 0n;
  let ok = true;
  const flush = (): void => {
    if (runLen === 0n || !ok) return;
    if (iommuMapNosync(ctx, domain, iova + mapped, runStart, runLen, prot) !== 0) ok = false;
    mapped += runLen;
    runLen = 0n;
  };
  for (const w of work) {
    if (runLen !== 0n && w.mapPhys !== runStart + runLen) flush();
    if (runLen !== 0n) runLen += w.iovaLen;
    else {
      runStart = w.mapPhys;
      runLen = w.iovaLen;
    }
  }
  flush();
  if (!ok) {
    iommuDmaUnmapRaw(ctx, domain, iova, mapped);
    iommuDmaFreeIova(ctx, domain, iova, iovaLen, false);
    return -ENOMEM;
  }
  iommuSyncMap(ctx, domain, iova, iovaLen);
  ctx.trace.emit('engine:iommu_map_sg', { iova: hex(iova), size: Number(iovaLen) });
  return finaliseSg(dev, sgt, work, iova);
}

/** __finalise_sg: lay the segments out over the IOVA and merge where the device allows. */
function finaliseSg(dev: Device, sgt: SgTable, work: { iovaOff: bigint; origLen: bigint; iovaLen: bigint }[], iova: bigint): number {
  const segMask = dev.segmentBoundary;
  const maxLen = dev.maxSegmentSize;
  let dmaAddr = iova;
  let cur = -1;
  let curLen = 0n;
  let count = 0;
  for (const s of sgt.entries) {
    s.dmaAddress = DMA_MAPPING_ERROR;
    s.dmaLength = 0n;
  }
  work.forEach((w, i) => {
    if (curLen !== 0n && w.iovaOff === 0n && (dmaAddr & segMask) !== 0n && maxLen - curLen >= w.origLen) {
      curLen += w.origLen;
    } else {
      cur = i === 0 ? 0 : cur + 1;
      curLen = w.origLen;
      count++;
      sgt.entries[cur].dmaAddress = dmaAddr + w.iovaOff;
    }
    sgt.entries[cur].dmaLength = curLen;
    dmaAddr += w.iovaLen;
    if (w.origLen + w.iovaOff < w.iovaLen) curLen = 0n;
  });
  return count;
}

/** iommu_dma_unmap_sg: one range from the first segment's address to the end of the last. */
export function iommuDmaUnmapSg(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number): void {
  const domain = dmaDomain(dev);
  if (!domain) return;
  if (sgt.bouncedEach) {
    for (const s of sgt.entries) if (s.dmaLength !== 0n) iommuDmaUnmapPhys(ctx, dev, s.dmaAddress, s.dmaLength, dir, attrs);
    return;
  }
  const first = sgt.entries[0];
  if (!first || first.dmaLength === 0n) return;
  let end = first.dmaAddress + first.dmaLength;
  for (const s of sgt.entries) {
    if (s.dmaLength === 0n) break;
    end = s.dmaAddress + s.dmaLength;
  }
  iommuDmaUnmapRaw(ctx, domain, first.dmaAddress, end - first.dmaAddress);
}

/** dma_direct_map_sg: each segment mapped on its own. */
export function dmaDirectMapSg(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number): number {
  for (let i = 0; i < sgt.entries.length; i++) {
    const s = sgt.entries[i];
    const dma = dmaDirectMapPhys(ctx, dev, s.phys, s.length, dir, attrs);
    if (dma === DMA_MAPPING_ERROR) {
      for (let j = 0; j < i; j++) dmaDirectUnmapPhys(ctx, dev, sgt.entries[j].dmaAddress, sgt.entries[j].dmaLength, dir, attrs | DMA_ATTR_SKIP_CPU_SYNC);
      return -EINVAL;
    }
    s.dmaAddress = dma;
    s.dmaLength = s.length;
  }
  return sgt.entries.length;
}

export function dmaDirectUnmapSg(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number): void {
  for (const s of sgt.entries) if (s.dmaLength !== 0n) dmaDirectUnmapPhys(ctx, dev, s.dmaAddress, s.dmaLength, dir, attrs);
}
