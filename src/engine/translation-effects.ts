// What a DMA translation does to the machine besides answering. A device's
// real access goes through the IOTLB as hardware does (LRU order, hit and
// miss counters, a fill after a walk), is heard by the trace (an IOTLB miss,
// an access to an IOVA not yet synced) and may fault a page in (SVA). A probe
// answers the same question and changes nothing, as the kernel's
// iommu_iova_to_phys() walks without touching the IOTLB: translate(), the
// walk panel, hovers and the call log's walks are probes.

import type { Iotlb, IotlbEntry } from './iommu/iotlb';
import type { TraceRecorder } from './trace/recorder';

export interface TranslationEffects {
  /** The IOTLB's entry for the page, if it holds one. */
  iotlbLookup(iotlb: Iotlb, domainId: number, pasid: number, iova: bigint): IotlbEntry | undefined;
  iotlbHit(iotlb: Iotlb): void;
  iotlbMiss(iotlb: Iotlb): void;
  /** A walk's result cached for the next access. */
  iotlbFill(iotlb: Iotlb, entry: IotlbEntry): void;
  /** The trace that hears about the access (an IOTLB miss, an unsynced IOVA), or none. */
  heardBy(trace: TraceRecorder): TraceRecorder | undefined;
  /** May a miss on an SVA domain become a page request and a retry? */
  readonly faultsIn: boolean;
}

/** A device's real read or write (dev_read, dev_write, a chained MMU's table read for one). */
export const DEVICE_ACCESS: TranslationEffects = {
  iotlbLookup: (iotlb, domainId, pasid, iova) => iotlb.lookup(domainId, pasid, iova),
  iotlbHit: (iotlb) => {
    iotlb.hits++;
  },
  iotlbMiss: (iotlb) => {
    iotlb.misses++;
  },
  iotlbFill: (iotlb, entry) => iotlb.insert(entry),
  heardBy: (trace) => trace,
  faultsIn: true,
};

/** A look at the translation that leaves every state as it was. */
export const PROBE: TranslationEffects = {
  iotlbLookup: (iotlb, domainId, pasid, iova) => iotlb.peek(domainId, pasid, iova),
  iotlbHit: () => {},
  iotlbMiss: () => {},
  iotlbFill: () => {},
  heardBy: () => undefined,
  faultsIn: false,
};
