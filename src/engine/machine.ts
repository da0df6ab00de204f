// The emulated machine: platform, memory, caches, IOMMUs, devices and the
// kernel units wired together. Everything a scenario does goes through a
// method here or a unit function taking this machine as its context, and
// every state change is recorded by the trace recorder.

import type { EngineCtx } from './context';
import { Device, type DeviceConfig } from './device';
import { DmaDebug } from './dma-debug/dma-debug';
import { MappingRecords } from './dma-mapping/mapping-records';
import { OwnershipTracker } from './dma-mapping/ownership';
import { DMA_TO_DEVICE, dirName } from './dma-mapping/dma-direction';
import { fqFlush } from './dma-mapping/dma-iommu';
import { setupDmaOps } from './dma-mapping/dma-ops-setup';
import { EINVAL, KernelError } from './errno';
import type { IommuDomain } from './iommu/iommu-domain';
import { iommuProbeDevice } from './iommu/iommu-core';
import { iommuChainProbe } from './iommu/iommu-chain';
import { IommuGroup } from './iommu/iommu-group';
import { Iommu } from './iommu/iommu-instance';
import type { IommuConfig } from './iommu/iommu-kinds';
import { BufferRegistry, type DmaBuffer } from './memory/buffers';
import { CpuCache } from './memory/cpu-cache';
import { ARCH_KMALLOC_MINALIGN, PageAllocator } from './memory/page-alloc';
import { PhysicalMemory } from './memory/physmem';
import { TablePages } from './memory/table-pages';
import type { PlatformConfig } from './platform';
import { cloneState } from './snapshot';
import { IoTlbMem } from './swiotlb/swiotlb';
import { TraceRecorder, type TraceLengths } from './trace/recorder';
import { fmtPa, hex } from './u64';
import { sanitizeCpuAccess } from './sanitizer';

const IO_TLB_SHIFT = 11n;
const FOUR_GIB = 1n << 32n;

export class Machine implements EngineCtx {
  readonly trace: TraceRecorder;
  readonly mem: PhysicalMemory;
  readonly cache: CpuCache;
  readonly pages: PageAllocator;
  readonly buffers = new BufferRegistry();
  readonly ownership = new OwnershipTracker();
  readonly mappings = new MappingRecords();
  readonly debug: DmaDebug;
  readonly tables: TablePages;
  swiotlb: IoTlbMem | null = null;
  cpu = 0;
  timeMs = 0;
  kasanReported = false;
  readonly iommus = new Map<string, Iommu>();
  readonly devices = new Map<string, Device>();
  readonly groups = new Map<string, IommuGroup>();
  /** Domains the scenario allocated (default domains live in their groups). */
  readonly domains: IommuDomain[] = [];
  private idCounter = 0;

  /** `trace`: a recorder set up by the caller (a replay's stop point), or a fresh one. */
  constructor(readonly platform: PlatformConfig, trace?: TraceRecorder) {
    this.trace = trace ?? new TraceRecorder();
    this.mem = new PhysicalMemory(platform.memory);
    this.cache = new CpuCache(this.mem, platform.cacheLine);
    this.pages = new PageAllocator(platform.memory, platform.pageSize);
    this.tables = new TablePages(this.pages, this.mem);
    this.debug = new DmaDebug(this.trace, platform.cacheLine);
    if (platform.swiotlb > 0n) this.initSwiotlb();
    // __kmalloc_minalign: ARCH_KMALLOC_MINALIGN only when a swiotlb pool can bounce unaligned kmalloc buffers.
    this.pages.kmallocMinalign = this.swiotlb ? ARCH_KMALLOC_MINALIGN : Math.max(ARCH_KMALLOC_MINALIGN, platform.cacheLine);
  }

  nextId(): number {
    return ++this.idCounter;
  }

  setupGroupDmaOps(group: IommuGroup): void {
    for (const dev of this.devices.values()) if (dev.path.some((p) => p.group === group)) setupDmaOps(dev);
  }

  /** swiotlb_init: the default pool from low memory (below 4 GiB), top-down like memblock. */
  private initSwiotlb(): void {
    const bytes = this.platform.swiotlb;
    const base = this.pages.allocTopDown(bytes, this.platform.pageSize, FOUR_GIB, 'swiotlb');
    if (base === null) {
      this.trace.printk('software IO TLB: Cannot allocate buffer');
      return;
    }
    this.swiotlb = new IoTlbMem({
      base,
      nslabs: Number(bytes >> IO_TLB_SHIFT),
      possibleCpus: this.platform.cpus,
      pageSize: Number(this.platform.pageSize),
      dynamic: this.platform.swiotlbDynamic,
      force: this.platform.swiotlbForce,
    });
    // swiotlb_print_info(): both ends as %pa (full width), the end exclusive (mem->end).
    this.trace.printk(`software IO TLB: mapped [mem ${fmtPa(base)}-${fmtPa(base + bytes)}] (${bytes >> 20n}MB)`);
  }

  addIommu(cfg: IommuConfig, line: number): Iommu {
    const iommu = new Iommu(cfg, line);
    this.iommus.set(cfg.name, iommu);
    this.trace.emit('engine:iommu_register', { name: cfg.name, kind: cfg.kind, granule: iommu.granule });
    return iommu;
  }

  /** Declare and probe a device: groups and default domains on each IOMMU of its path. */
  addDevice(cfg: DeviceConfig, line: number): Device {
    const dev = new Device(cfg, line);
    const iommus = cfg.iommus.map((n) => {
      const i = this.iommus.get(n);
      if (!i) throw new KernelError(EINVAL, `unknown IOMMU ${n}`);
      return i;
    });
    this.devices.set(cfg.name, dev);
    this.trace.call('device_probe', { device: dev.busId, bus: dev.bus }, () => {
      try {
        iommuProbeDevice(this, dev, iommus, cfg.defaultDomain, this.groups, cfg.group);
        iommuChainProbe(this, dev); // IOMMUs in series: near MMU tables behind the far ones
      } finally {
        // The DMA ops for what the probe set up, also when it failed part way (the device stays declared).
        setupDmaOps(dev);
      }
    });
    return dev;
  }

  // --- CPU-side memory -------------------------------------------------------

  allocPages(order: number, label: string): DmaBuffer | null {
    const phys = this.pages.allocPages(order, label);
    if (phys === null) return null;
    const size = this.platform.pageSize << BigInt(order);
    this.trace.emit('engine:alloc_pages', { order, phys: phys, size: Number(size) });
    return this.buffers.add('alloc_pages', phys, size, size, this.trace.line, label);
  }

  kmalloc(size: number, label: string): DmaBuffer | null {
    const r = this.pages.kmalloc(size, label);
    if (!r) return null;
    this.trace.emit('engine:kmalloc', { size, cache: `kmalloc-${r.objSize}`, phys: r.phys });
    return this.buffers.add('kmalloc', r.phys, BigInt(size), BigInt(r.objSize), this.trace.line, label);
  }

  /** A buffer at a fixed physical address; it must be RAM. */
  physBuffer(phys: bigint, size: bigint, label: string): DmaBuffer {
    if (!this.mem.isRam(phys, size)) throw new KernelError(EINVAL, `phys_buffer ${hex(phys)}+${hex(size)} is not inside RAM`);
    this.pages.reserve(phys, phys + size, label);
    return this.buffers.add('phys_buffer', phys, size, size, this.trace.line, label);
  }

  /** CPU access rules: the device owns what is mapped or synced for it. */
  private checkCpuAccess(what: 'read' | 'write', phys: bigint, len: bigint): void {
    for (const r of this.ownership.deviceOwned(phys, len)) {
      if (what === 'read' && r.dir === DMA_TO_DEVICE) continue; // reading what the device only reads is harmless
      this.trace.check(
        'cpu-access-device-owned',
        'error',
        `CPU ${what} of ${hex(phys)}+${len} while the buffer is owned by the device: ${r.device} has it mapped ${dirName(r.dir)} (line ${r.line}) and it was not synced for the CPU or unmapped`,
        r.line,
      );
    }
  }

  /** A CPU store; `buf` is the buffer the scenario named, for the sanitizer's bounds check, and `fn` the call that stored. */
  cpuWrite(phys: bigint, bytes: Uint8Array, buf?: DmaBuffer, fn = 'cpu_write'): void {
    this.trace.emit('engine:cpu_write', { phys: phys, len: bytes.length });
    if (buf) sanitizeCpuAccess(this, buf, phys, BigInt(bytes.length), 'write', fn);
    this.checkCpuAccess('write', phys, BigInt(bytes.length));
    this.cache.cpuWrite(phys, bytes);
  }

  cpuRead(phys: bigint, len: number, buf?: DmaBuffer): Uint8Array {
    this.trace.emit('engine:cpu_read', { phys: phys, len });
    if (buf) sanitizeCpuAccess(this, buf, phys, BigInt(len), 'read', 'cpu_read');
    this.checkCpuAccess('read', phys, BigInt(len));
    const r = this.cache.cpuRead(phys, len);
    if (r.staleLines.length > 0) {
      this.trace.check(
        'stale-cpu-read',
        'error',
        `CPU read stale data at ${hex(phys)}: the device wrote memory behind cache line ${hex(r.staleLines[0])} after the CPU cached it, and no dma_sync_*_for_cpu or unmap invalidated it`,
      );
    }
    return r.bytes;
  }

  // --- time ------------------------------------------------------------------

  /** Emulated time passes: flush-queue timers fire, IOVA depots are trimmed. */
  advanceTime(ms: number): void {
    const end = this.timeMs + ms;
    this.timeMs = end;
    for (const d of this.allDomains()) {
      if (d.fq && d.fq.timerDeadline !== null && d.fq.timerDeadline <= end) {
        this.trace.call('fq_flush_timeout', { domain: d.label }, () => fqFlush(this, d));
      }
      if (d.iovad && ms >= 100) d.iovad.depotWork(Math.floor(ms / 100));
    }
  }

  allDomains(): IommuDomain[] {
    const seen = new Set<IommuDomain>();
    for (const g of this.groups.values()) {
      if (g.defaultDomain) seen.add(g.defaultDomain);
      if (g.domain) seen.add(g.domain);
      for (const a of g.pasidArray.values()) seen.add(a.domain);
    }
    for (const d of this.domains) seen.add(d);
    return [...seen];
  }

  // --- snapshots ---------------------------------------------------------------

  /** A copy of the whole machine state, except the trace (which only grows: restoring truncates it). */
  snapshot(): MachineSnapshot {
    return { state: this.trace.withLogDetached(() => cloneState(this)), lengths: this.trace.lengths() };
  }

  /** A live machine equal to the one the snapshot was taken of, with the given trace truncated to that point. */
  static restore(snap: MachineSnapshot, trace: TraceRecorder): Machine {
    const m = cloneState(snap.state);
    m.trace.adoptPrefix(trace, snap.lengths);
    return m;
  }
}

export interface MachineSnapshot {
  state: Machine;
  lengths: TraceLengths;
}
