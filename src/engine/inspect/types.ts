// The shapes of the read-only views (inspect/): plain, JSON-serialisable
// objects with addresses as "0x..." hex strings, so the debugger's Variables,
// the panels' view models and the webview protocol can pass them on as they are.

export type Hex = string;

export interface MappedRangeView {
  iova: Hex;
  phys: Hex;
  size: Hex;
  /** "r", "w", "rw" plus flags (",cache", ",noexec", ",mmio", ",priv"). */
  prot: string;
  line: number;
}

export interface IovaAllocationView {
  /** First and last byte of the allocation (pfn_lo << shift .. ((pfn_hi + 1) << shift) - 1). */
  start: Hex;
  last: Hex;
  pages: number;
  /** The range sits in an rcache magazine: allocated in the rbtree, free for the next alloc_iova_fast of its size. */
  cached: boolean;
}

export interface FlushQueueEntryView {
  cpu: number;
  iova: Hex;
  pages: number;
  /** The flush counter value this entry waits for (fq_flush_finish_cnt must pass it). */
  counter: number;
}

export interface DomainView {
  id: number;
  label: string;
  type: string;
  iommu: string;
  format: string | null;
  granule: Hex;
  pgsizeBitmap: Hex;
  aperture: [Hex, Hex] | null;
  nestParent: boolean;
  parent: string | null;
  users: string[];
  line: number;
  mappings: MappedRangeView[];
  /** dma-iommu's iova_domain: null for domains without a DMA cookie. */
  iova: {
    granule: Hex;
    startPfn: number;
    dma32bitPfn: number;
    allocations: IovaAllocationView[];
    rcache: { order: number; granules: number; cachedRanges: number; depotMagazines: number; cpus: { loaded: number; prev: number }[] }[];
  } | null;
  flushQueue: { size: number; timeoutMs: number; pending: number; timerDeadline: number | null; entries: FlushQueueEntryView[] } | null;
}

export interface IotlbEntryView {
  iommu: string;
  domainId: number;
  domain: string | null;
  pasid: number;
  iova: Hex;
  phys: Hex;
  read: boolean;
  write: boolean;
}

export interface DeviceView {
  name: string;
  busId: string;
  bus: string;
  coherent: boolean;
  untrusted: boolean;
  dmaMaskBits: number;
  pasidBits: number;
  /** dma-iommu, dma-direct or vduse: which dma_map_ops the device gets. */
  dmaOps: string;
  line: number;
  path: { iommu: string; group: number; domain: string | null; defaultDomain: string | null; pasids: { pasid: number; domain: string; handle: string | null }[] }[];
}

export interface IommuView {
  name: string;
  kind: string;
  granule: Hex;
  ias: number;
  oas: number;
  deferredFlush: boolean;
  iotlb: { capacity: number; used: number; hits: number; misses: number; invalidations: number };
  line: number;
}

export interface BufferView {
  id: number;
  label: string;
  kind: string;
  phys: Hex;
  size: Hex;
  line: number;
  /** Who may touch it now: "cpu", or "device" while a mapping or sync gave it to a device. */
  owner: 'cpu' | 'device';
  /** The mappings that hand it to a device now (device@dma). */
  ownedBy: string[];
  /** CPU cache lines over the buffer: cached, dirty (CPU wrote, not cleaned), stale (device wrote behind them). */
  cache: { lines: number; dirty: number; stale: number };
}

export interface StreamingMappingView {
  device: string;
  dma: Hex;
  size: Hex;
  phys: Hex;
  dir: string;
  bounce: Hex | null;
  kind: string;
  line: number;
}

export interface SwiotlbSlotRunView {
  index: number;
  count: number;
  free: boolean;
  addr: Hex;
  origAddr: Hex | null;
  allocSize: number;
  padSlots: number;
  area: number;
  /** Mapped runs: the mapping's direction and whether the bounce slot and the original hold the same bytes. */
  dir: string | null;
  inSync: boolean | null;
}

export interface SwiotlbPoolViewJson {
  start: Hex;
  end: Hex;
  nslabs: number;
  nareas: number;
  transient: boolean;
  owner: string;
  areas: { index: number; used: number }[];
  runs: SwiotlbSlotRunView[];
}

export interface SwiotlbStateView {
  nslabs: number;
  used: number;
  hiwater: number;
  transientNslabs: number;
  forceBounce: boolean;
  pools: SwiotlbPoolViewJson[];
}

export interface VduseView {
  iommu: string;
  name: string;
  bounceSize: Hex;
  iovaLimit: Hex;
  bounceMaps: { index: number; iova: Hex; bouncePage: Hex | null; origPhys: Hex | null }[];
  ranges: { start: Hex; last: Hex; addr: Hex; perm: number }[];
}

export interface MachineView {
  iommus: IommuView[];
  devices: DeviceView[];
  domains: DomainView[];
  iotlb: IotlbEntryView[];
  mappings: StreamingMappingView[];
  buffers: BufferView[];
  swiotlb: SwiotlbStateView | null;
  vduse: VduseView[];
}
