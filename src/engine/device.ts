// A device as the DMA API sees it: bus, coherency, masks, segment limits
// and the IOMMU path it sits behind (one group and domain per IOMMU of a chain).

import type { IommuGroup } from './iommu/iommu-group';
import type { Iommu } from './iommu/iommu-instance';
import type { DomainPolicy } from './iommu/iommu-domain';
import type { DmaDebugDevice } from './dma-debug/dma-debug';
import { DMA_DIRECT_OPS } from './dma-mapping/dma-direct-ops';
import type { DmaMapOps } from './dma-mapping/dma-map-ops';

export type Bus = 'pci' | 'platform' | 'virtio';

export interface DeviceConfig {
  name: string;
  bus: Bus;
  /** dev_name(): the BDF for PCI, the DT name for platform devices. */
  busId: string;
  /** IOMMUs from the device side outwards; empty = dma-direct. */
  iommus: string[];
  coherent?: boolean;
  untrusted?: boolean;
  dmaMask?: number;
  maxSegmentSize?: bigint;
  segmentBoundary?: bigint;
  pasidBits?: number;
  ats?: boolean;
  pri?: boolean;
  minAlignMask?: bigint;
  defaultDomain?: DomainPolicy[];
  group?: string;
}

export class Device {
  readonly name: string;
  readonly bus: Bus;
  readonly busId: string;
  readonly coherent: boolean;
  readonly untrusted: boolean;
  readonly dmaMask: bigint;
  readonly dmaMaskBits: number;
  readonly maxSegmentSize: bigint;
  readonly segmentBoundary: bigint;
  readonly pasidBits: number;
  readonly ats: boolean;
  readonly pri: boolean;
  readonly minAlignMask: bigint;
  /** The IOMMU path, device side first, with the group on each. */
  readonly path: { iommu: Iommu; group: IommuGroup }[] = [];
  /** dev->iommu->pci_32bit_workaround: PCI devices try a 32-bit IOVA first until one fails. */
  pci32bitWorkaround: boolean;
  /** A driver is bound (the scenario's driver); driver_unbind() releases it, and the end of the run then has nothing more to release. */
  driverBound = true;
  /** dev->dma_iommu: set at probe when the default domain is a DMA API domain. */
  dmaIommu = false;
  /** The DMA ops table the DMA API calls (dma-map-ops.ts), set at probe and when a domain changes (dma-ops-setup.ts); dma-direct until then. */
  dmaOps: DmaMapOps = DMA_DIRECT_OPS;
  /** Line of the declaration, for related diagnostics. */
  readonly line: number;
  /** What dma-debug reads of the device (all of it fixed at declaration): one object, not one per DMA API call. */
  readonly dmaDebug: DmaDebugDevice;

  constructor(cfg: DeviceConfig, line: number) {
    this.name = cfg.name;
    this.bus = cfg.bus;
    this.busId = cfg.busId;
    // PCI and virtio devices snoop on the platforms these scenarios model; DT platform devices need dma-coherent.
    this.coherent = cfg.coherent ?? cfg.bus !== 'platform';
    this.untrusted = cfg.untrusted ?? false;
    this.dmaMaskBits = cfg.dmaMask ?? 32;
    this.dmaMask = this.dmaMaskBits >= 64 ? (1n << 64n) - 1n : (1n << BigInt(this.dmaMaskBits)) - 1n;
    this.maxSegmentSize = cfg.maxSegmentSize ?? 0x10000n;
    this.segmentBoundary = cfg.segmentBoundary ?? 0xffff_ffffn;
    this.pasidBits = cfg.pasidBits ?? 0;
    this.ats = cfg.ats ?? false;
    this.pri = cfg.pri ?? false;
    this.minAlignMask = cfg.minAlignMask ?? 0n;
    this.pci32bitWorkaround = cfg.bus === 'pci';
    this.line = line;
    this.dmaDebug = { name: this.busId, driver: this.driver, maxSegmentSize: Number(this.maxSegmentSize), segmentBoundaryMask: this.segmentBoundary };
  }

  /** Driver name for kernel-style messages: the declared name stands for the bound driver. */
  get driver(): string {
    return this.name;
  }

  get maxPasids(): number {
    return this.pasidBits > 0 ? 1 << this.pasidBits : 0;
  }

}
