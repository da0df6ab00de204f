// struct iommu_domain: its type, page table, aperture and, for DMA API
// domains, the IOVA cookie (iova_domain) and flush queue.

import type { IoPgtableOps } from '../io-pgtable/types';
import type { IovaDomain } from '../iova/iova';
import type { DomainIovaLinks } from '../dma-mapping/dma-iova';
import { DomainMappedRanges } from './domain-mapped-ranges';
import type { FlushQueue } from './flush-queue';
import type { Iommu } from './iommu-instance';
import type { PgtableFormat } from './iommu-kinds';
import { fls } from '../u64';

/** What a device's default_domain key asks for. */
export type DomainPolicy = 'dma' | 'dma-fq' | 'identity';

/** IOMMU_DOMAIN_*: blocked, identity, unmanaged (iommu_paging_domain_alloc), dma, dma-fq, sva, nested. */
export type DomainType = 'blocked' | 'identity' | 'unmanaged' | 'dma' | 'dma-fq' | 'sva' | 'nested';

export class IommuDomain {
  ops: IoPgtableOps | null = null;
  fmt: PgtableFormat | null = null;
  private pgsizes = 0n;
  /** Lowest set bit of pgsizes, kept with it (the map/unmap path asks for it several times a call). */
  private minPgsize = 0n;
  private minPgsizeShift = BigInt(fls(0n));
  private minPgsizeMask = -1n;
  /** minPagesz as a number (a power of two: exact). */
  private minPgsizeN = 0;
  apertureStart = 0n;
  apertureEnd = 0n;
  /** The dma-iommu cookie's iova_domain. */
  iovad: IovaDomain | null = null;
  fq: FlushQueue | null = null;
  /** Allocated with IOMMU_HWPT_ALLOC_NEST_PARENT. */
  nestParent = false;
  /** The stage-2 parent of a nested domain. */
  parent: IommuDomain | null = null;
  /** What the scenario calls it (variable name, or "default domain of X"). */
  label: string;
  /** DMAR units besides `iommu` the domain is attached through (VT-d domain_attach_iommu): their IOTLBs cache it and get its invalidations. */
  readonly units = new Set<Iommu>();
  /** Devices attached (RID or PASID). */
  readonly users = new Set<string>();
  /** Two-step IOVA API state kept with the cookie (dma-iova.ts): live dma_iova states, ranges linked but not yet synced. */
  iovaLinks: DomainIovaLinks | null = null;
  /** What iommu_map mapped and iommu_unmap has not taken back, for the views (inspect/). */
  readonly mapped = new DomainMappedRanges();

  constructor(readonly id: number, public type: DomainType, readonly iommu: Iommu, label: string, readonly line: number) {
    this.label = label;
  }

  isDmaApi(): boolean {
    return this.type === 'dma' || this.type === 'dma-fq';
  }

  isPaging(): boolean {
    return this.ops !== null;
  }

  /** Every IOMMU instance whose IOTLB may cache this domain's translations. */
  iommus(): Iommu[] {
    return this.units.size === 0 ? [this.iommu] : [this.iommu, ...this.units];
  }

  get pgsizeBitmap(): bigint {
    return this.pgsizes;
  }

  set pgsizeBitmap(bitmap: bigint) {
    this.pgsizes = bitmap;
    this.minPgsize = bitmap & -bitmap;
    this.minPgsizeShift = BigInt(fls(this.minPgsize));
    this.minPgsizeMask = this.minPgsize - 1n;
    this.minPgsizeN = Number(this.minPgsize);
  }

  /** minPagesz - 1: the offset bits within the granule. */
  get minPageMask(): bigint {
    return this.minPgsizeMask;
  }

  /** log2 of minPagesz: the IOVA cookie's shift (iova_shift). */
  get minPageShift(): bigint {
    return this.minPgsizeShift;
  }

  /** minPagesz as a number (exact: a power of two). */
  get minPageszN(): number {
    return this.minPgsizeN;
  }

  /** Smallest page size: the granule iommu_map checks alignment against. */
  get minPagesz(): bigint {
    return this.minPgsize;
  }
}
