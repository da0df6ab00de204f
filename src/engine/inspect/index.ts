// Read-only views of the engine state, the way the kernel's debugfs files
// read the real structures: the debugger and the panels read state only
// through these, never from the log text. Nothing here changes the machine
// (no IOTLB fill, no cache line allocated, no trace event).

import type { Device } from '../device';
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from '../dma-mapping/dma-direction';
import { probeDma, type Translation } from '../device-access';
import type { IommuDomain } from '../iommu/iommu-domain';
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE } from '../io-pgtable/types';
import type { Machine } from '../machine';
import { IO_TLB_SIZE } from '../swiotlb/swiotlb-pool';
import { hex } from '../u64';
import { vduseDomainView } from '../vduse/vduse-iova-domain';
import type {
  BufferView, DeviceView, DomainView, IommuView, IotlbEntryView, MachineView, MappedRangeView, StreamingMappingView, SwiotlbStateView, VduseView,
} from './types';

export type * from './types';
export * from './walk';
export * from './descriptor-bits';
export * from './bounce';

const DIR_NAMES: Record<number, string> = { [DMA_BIDIRECTIONAL]: 'DMA_BIDIRECTIONAL', [DMA_TO_DEVICE]: 'DMA_TO_DEVICE', [DMA_FROM_DEVICE]: 'DMA_FROM_DEVICE' };

function dirName(dir: number): string {
  return DIR_NAMES[dir] ?? 'DMA_NONE';
}

/** IOMMU_* prot bits as "rw,cache". */
export function protString(prot: number): string {
  const rw = `${prot & IOMMU_READ ? 'r' : ''}${prot & IOMMU_WRITE ? 'w' : ''}` || '-';
  const flags: [number, string][] = [[IOMMU_CACHE, 'cache'], [IOMMU_NOEXEC, 'noexec'], [IOMMU_MMIO, 'mmio'], [IOMMU_PRIV, 'priv']];
  return [rw, ...flags.filter(([bit]) => prot & bit).map(([, n]) => n)].join(',');
}

/** Every domain the machine holds (Machine.allDomains) and their nest parents, each once, by id. */
export function allDomains(m: Machine): IommuDomain[] {
  const byId = new Map<number, IommuDomain>();
  const add = (d: IommuDomain | null): void => {
    if (!d || byId.has(d.id)) return;
    byId.set(d.id, d);
    add(d.parent);
  };
  for (const d of m.allDomains()) add(d);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

export function findDomain(m: Machine, label: string): IommuDomain | undefined {
  return allDomains(m).find((d) => d.label === label);
}

function mappedRanges(d: IommuDomain): MappedRangeView[] {
  return d.mapped.list().map((r) => ({ iova: hex(r.iova), phys: hex(r.phys), size: hex(r.size), prot: protString(r.prot), line: r.line }));
}

export function inspectDomain(d: IommuDomain): DomainView {
  const iovad = d.iovad;
  const shift = iovad ? BigInt(iovad.shift) : 0n;
  const fq = d.fq;
  return {
    id: d.id,
    label: d.label,
    type: d.type,
    iommu: d.iommu.name,
    format: d.fmt,
    granule: hex(d.minPagesz),
    pgsizeBitmap: hex(d.pgsizeBitmap),
    aperture: d.isPaging() ? [hex(d.apertureStart), hex(d.apertureEnd)] : null,
    nestParent: d.nestParent,
    parent: d.parent?.label ?? null,
    users: [...d.users],
    line: d.line,
    mappings: mappedRanges(d),
    iova: iovad
      ? {
          granule: hex(iovad.granule),
          startPfn: iovad.startPfn,
          dma32bitPfn: iovad.dma32bitPfn,
          // The rbtree's anchor node (pfn IOVA_ANCHOR) is not an allocation.
          allocations: iovad.ranges().filter((r) => Number.isFinite(r.pfnLo)).map((r) => ({
            start: hex(BigInt(r.pfnLo) << shift),
            last: hex(((BigInt(r.pfnHi) + 1n) << shift) - 1n),
            pages: r.pfnHi - r.pfnLo + 1,
            cached: r.cached,
          })),
          rcache: iovad.rcacheStats().map((s) => ({ order: s.order, granules: s.granules, cachedRanges: s.cachedRanges, depotMagazines: s.depotMagazines, cpus: s.cpus })),
        }
      : null,
    flushQueue: fq
      ? {
          size: fq.size,
          timeoutMs: fq.timeoutMs,
          pending: fq.pending(),
          timerDeadline: fq.timerDeadline,
          entries: fq.rings.flatMap((ring, cpu) => ring.map((e) => ({ cpu, iova: hex(BigInt(e.pfn) << shift), pages: e.pages, counter: e.counter }))),
        }
      : null,
  };
}

export function inspectIotlb(m: Machine): IotlbEntryView[] {
  const labels = new Map(allDomains(m).map((d) => [d.id, d.label]));
  const out: IotlbEntryView[] = [];
  for (const iommu of m.iommus.values()) {
    for (const e of iommu.iotlb.entries.values()) {
      out.push({ iommu: iommu.name, domainId: e.domainId, domain: labels.get(e.domainId) ?? null, pasid: e.pasid, iova: hex(e.iova), phys: hex(e.phys), read: e.read, write: e.write });
    }
  }
  return out;
}

export function inspectDevice(dev: Device): DeviceView {
  return {
    name: dev.name,
    busId: dev.busId,
    bus: dev.bus,
    coherent: dev.coherent,
    untrusted: dev.untrusted,
    dmaMaskBits: dev.dmaMaskBits,
    pasidBits: dev.pasidBits,
    dmaOps: dev.dmaOps.name,
    line: dev.line,
    path: dev.path.map((e) => ({
      iommu: e.iommu.name,
      group: e.group.id,
      domain: e.group.domain?.label ?? null,
      defaultDomain: e.group.defaultDomain?.label ?? null,
      pasids: [...e.group.pasidArray.entries()].sort((a, b) => a[0] - b[0]).map(([pasid, a]) => ({ pasid, domain: a.domain.label, handle: a.handle ? `${a.handle.kind}#${a.handle.id}` : null })),
    })),
  };
}

export function inspectIommus(m: Machine): IommuView[] {
  return [...m.iommus.values()].map((i) => ({
    name: i.name,
    kind: i.cfg.kind,
    granule: hex(i.granule),
    ias: i.ias,
    oas: i.oas,
    deferredFlush: i.deferredFlush,
    iotlb: { capacity: i.iotlb.capacity, used: i.iotlb.entries.size, hits: i.iotlb.hits, misses: i.iotlb.misses, invalidations: i.iotlb.invalidations },
    line: i.line,
  }));
}

/** Cache lines over [phys, phys + size): counted from whichever is smaller, the range or the cached lines. */
function cacheState(m: Machine, phys: bigint, size: bigint): BufferView['cache'] {
  const ls = BigInt(m.cache.lineSize);
  const first = Number(phys / ls);
  const last = Number((phys + (size > 0n ? size : 1n) - 1n) / ls);
  const st = { lines: 0, dirty: 0, stale: 0 };
  const count = (line: { dirty: boolean; stale: boolean }): void => {
    st.lines++;
    if (line.dirty) st.dirty++;
    if (line.stale) st.stale++;
  };
  if (last - first + 1 <= m.cache.lines.size) {
    for (let i = first; i <= last; i++) {
      const line = m.cache.lines.get(i);
      if (line) count(line);
    }
  } else {
    for (const [i, line] of m.cache.lines) if (i >= first && i <= last) count(line);
  }
  return st;
}

export function inspectBuffers(m: Machine): BufferView[] {
  return m.buffers.buffers.map((b) => {
    const end = b.phys + b.size;
    const owned = m.ownership.regions.filter((r) => r.owner === 'device' && r.phys < end && r.phys + r.size > b.phys);
    return {
      id: b.id,
      label: b.label,
      kind: b.kind,
      phys: hex(b.phys),
      size: hex(b.size),
      line: b.line,
      owner: owned.length > 0 ? 'device' : 'cpu',
      ownedBy: owned.map((r) => r.key),
      cache: cacheState(m, b.phys, b.size),
    };
  });
}

export function inspectMappings(m: Machine): StreamingMappingView[] {
  return [...m.mappings.live.values()].map((r) => ({
    device: r.device, dma: hex(r.dma), size: hex(r.size), phys: hex(r.phys), dir: dirName(r.dir), bounce: r.bounce === null ? null : hex(r.bounce), kind: r.kind, line: r.line,
  }));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function inspectSwiotlb(m: Machine): SwiotlbStateView | null {
  const tlb = m.swiotlb;
  if (!tlb) return null;
  const v = tlb.inspect();
  // Live bounced mappings by slot address: their direction, and whether slot and original agree now.
  const bounced = new Map<bigint, { dir: number; orig: bigint; size: bigint }>();
  for (const r of m.mappings.live.values()) if (r.bounce !== null) bounced.set(r.bounce, { dir: r.dir, orig: r.phys, size: r.size });
  return {
    nslabs: v.nslabs,
    used: v.used,
    hiwater: v.hiwater,
    transientNslabs: v.transientNslabs,
    forceBounce: v.forceBounce,
    pools: v.pools.map((p) => ({
      start: hex(p.start),
      end: hex(p.end),
      nslabs: p.nslabs,
      nareas: p.nareas,
      transient: p.transient,
      owner: p.owner,
      areas: p.areas.map((a) => ({ index: a.index, used: a.used })),
      runs: p.runs.map((run) => {
        const runEnd = run.addr + BigInt(run.count * IO_TLB_SIZE);
        const hit = run.free ? undefined : [...bounced.entries()].find(([addr]) => addr >= run.addr && addr < runEnd);
        // Compare at most 1 MiB: enough to tell, cheap enough for a view.
        const len = hit ? Number(hit[1].size < 1n << 20n ? hit[1].size : 1n << 20n) : 0;
        const inSync = hit ? bytesEqual(m.mem.read(hit[0], len), m.cache.cpuReadNoAlloc(hit[1].orig, len)) : null;
        return {
          index: run.index,
          count: run.count,
          free: run.free,
          addr: hex(run.addr),
          origAddr: run.origAddr === null ? null : hex(run.origAddr),
          allocSize: run.allocSize,
          padSlots: run.padSlots,
          area: run.area,
          dir: hit ? dirName(hit[1].dir) : null,
          inSync,
        };
      }),
    })),
  };
}

export function inspectVduse(m: Machine): VduseView[] {
  const out: VduseView[] = [];
  for (const iommu of m.iommus.values()) {
    if (!iommu.vduse) continue;
    const v = vduseDomainView(iommu.vduse);
    out.push({
      iommu: iommu.name,
      name: v.name,
      bounceSize: hex(v.bounceSize),
      iovaLimit: hex(v.iovaLimit),
      bounceMaps: v.bounceMaps.map((b) => ({ index: b.index, iova: hex(b.iova), bouncePage: b.bouncePage === null ? null : hex(b.bouncePage), origPhys: b.origPhys === null ? null : hex(b.origPhys) })),
      ranges: v.ranges.map((r) => ({ start: hex(r.start), last: hex(r.last), addr: hex(r.addr), perm: r.perm })),
    });
  }
  return out;
}

/** The whole machine at this point of the run. */
export function inspectMachine(m: Machine): MachineView {
  return {
    iommus: inspectIommus(m),
    devices: [...m.devices.values()].map(inspectDevice),
    domains: allDomains(m).map(inspectDomain),
    iotlb: inspectIotlb(m),
    mappings: inspectMappings(m),
    buffers: inspectBuffers(m),
    swiotlb: inspectSwiotlb(m),
    vduse: inspectVduse(m),
  };
}

/** What the CPU would read at [phys, phys + len): memory with its cached lines on top (no line allocated). Outside RAM: undefined. */
export function readCpuBytes(m: Machine, phys: bigint, len: number): Uint8Array | undefined {
  if (len <= 0 || !m.mem.isRam(phys, BigInt(len))) return undefined;
  return m.cache.cpuReadNoAlloc(phys, len);
}

/** Write bytes as a CPU store would (the debugger's writeMemory): through the cache, the line dirty. */
export function writeCpuBytes(m: Machine, phys: bigint, bytes: Uint8Array): boolean {
  if (bytes.length === 0 || !m.mem.isRam(phys, BigInt(bytes.length))) return false;
  m.cache.cpuWrite(phys, bytes);
  return true;
}

/** The walk a device access would make now, with no side effect (the IOTLB is peeked, not filled). */
export function probeTranslation(m: Machine, dev: Device, addr: bigint, pasid: number | null): Translation {
  return probeDma(m, dev, addr, pasid);
}

/**
 * What the device would read at [iova, iova + len) through its IOMMU path
 * now, granule by granule, without changing anything: the bytes up to the
 * first fault, and that fault's reason.
 */
export function readDeviceBytes(m: Machine, devName: string, iova: bigint, len: number, pasid: number | null = null): { bytes: Uint8Array; fault?: string; faultAt?: bigint } {
  const dev = [...m.devices.values()].find((d) => d.name === devName || d.busId === devName);
  if (!dev) return { bytes: new Uint8Array(0), fault: `no device ${devName}`, faultAt: iova };
  const out = new Uint8Array(Math.max(0, len));
  const step = 4096n;
  let done = 0;
  while (done < len) {
    const addr = iova + BigInt(done);
    const t = probeTranslation(m, dev, addr, pasid);
    if (t.phys === undefined) return { bytes: out.slice(0, done), fault: t.fault ?? 'translation fault', faultAt: addr };
    const chunk = Math.min(len - done, Number(step - (addr % step)));
    if (!m.mem.isRam(t.phys, BigInt(chunk))) return { bytes: out.slice(0, done), fault: `${hex(t.phys)} is not RAM`, faultAt: addr };
    out.set(m.cache.deviceRead(t.phys, chunk, dev.coherent).bytes, done);
    done += chunk;
  }
  return { bytes: out };
}
