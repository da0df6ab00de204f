// The core builtins a scenario calls (memory, streaming DMA API, IOMMU API,
// device access), bound to the engine. Each takes the kernel
// function's arguments in kernel order and returns what the kernel returns
// (a negative errno, or DMA_MAPPING_ERROR, where the kernel does).

import { devRead, devWrite, probeDma } from '../../engine/device-access';
import { DMA_MAPPING_ERROR } from '../../engine/u64';
import {
  debugDevice, dmaAllocCoherent, dmaFreeCoherent, dmaMapPhys, dmaMappingError, dmaMapSg, dmaSyncSg, dmaSyncSingleForCpu, dmaSyncSingleForDevice, dmaUnmapPhys, dmaUnmapSg,
} from '../../engine/dma-mapping/dma-mapping';
import { SgTable } from '../../engine/dma-mapping/scatterlist';
import { iommuAttachDevice, iommuDetachDevice, iommuFlushIotlbAll, iommuIovaToPhys, iommuMap, iommuPagingDomainAlloc, iommuUnmap } from '../../engine/iommu/iommu-core';
import type { BuiltinBinding } from './builtin-types';
import { address, buffer, bytes, device, direction, domain, int, length, optional, sgTable, smallInt } from './coerce';
import { RuntimeError } from './runtime-error';
import { BufferValue, CoherentValue, RecordValue, TranslateValue, truthy, type Value } from './values';

/** Largest single mapping the emulator accepts (keeps page-table work bounded). */
const MAX_MAP_BYTES = 1n << 36n;

function mapSize(v: Value, what: string): bigint {
  const n = int(v, what);
  if (n <= 0n || n > MAX_MAP_BYTES) throw new RuntimeError(`${what} = ${n} is out of range (1..${MAX_MAP_BYTES})`);
  return n;
}

function attrsArg(args: Value[], i: number): number {
  return args.length > i ? smallInt(args[i], 'attrs', 0xffff_ffff) : 0;
}

/** The `nents = N` a driver passes to dma_unmap_sg / dma_sync_sg_*, or the table's own count. */
function nentsArg(named: ReadonlyMap<string, Value>, sgt: SgTable): number {
  const v = named.get('nents');
  return v === undefined ? sgt.nents : smallInt(v, 'nents', 1 << 20);
}

function pasidArg(named: ReadonlyMap<string, Value>): number | null {
  const p = named.get('pasid');
  return p === undefined ? null : smallInt(p, 'pasid', (1 << 20) - 1);
}

function sgSegments(args: Value[]): { phys: bigint; length: bigint }[] {
  return args.map((a, i) => {
    if (a instanceof RecordValue) {
      const addr = a.fields.get('addr');
      const len = a.fields.get('length');
      if (addr === undefined || len === undefined) throw new RuntimeError(`sg_table entry ${i} needs addr : length`);
      return { phys: address(addr, `entry ${i} address`), length: mapSize(len, `entry ${i} length`) };
    }
    if (a instanceof BufferValue) return { phys: a.buf.phys, length: a.buf.size };
    throw new RuntimeError(`sg_table entry ${i} must be \`addr : length\` or a buffer`);
  });
}

export const CORE_BUILTINS: Readonly<Record<string, BuiltinBinding>> = {
  alloc_pages: {
    min: 1, max: 1,
    impl: (c, [order]) => {
      const b = c.m.allocPages(smallInt(order, 'order', 10), c.target ?? 'alloc_pages');
      if (!b) throw new RuntimeError('alloc_pages: out of memory');
      return new BufferValue(b);
    },
  },
  kmalloc: {
    min: 1, max: 1,
    impl: (c, [size]) => {
      const n = smallInt(size, 'size', 4 << 20);
      if (n === 0) throw new RuntimeError('kmalloc(0) returns ZERO_SIZE_PTR, which cannot be mapped');
      const b = c.m.kmalloc(n, c.target ?? 'kmalloc');
      if (!b) throw new RuntimeError('kmalloc: out of memory');
      return new BufferValue(b);
    },
  },
  phys_buffer: {
    min: 2, max: 2,
    impl: (c, [addr, size]) => new BufferValue(c.m.physBuffer(address(addr, 'phys'), mapSize(size, 'size'), c.target ?? 'phys_buffer')),
  },
  cpu_write: {
    min: 3, max: 3,
    impl: (c, [buf, offset, data]) => {
      c.m.cpuWrite(address(buf, 'buffer') + int(offset, 'offset'), bytes(data, 'data'), buf instanceof BufferValue ? buf.buf : undefined);
      return null;
    },
  },
  cpu_fill: {
    min: 2, max: 4,
    impl: (c, args) => {
      const b = buffer(args[0]);
      const value = smallInt(args[1], 'value', 255);
      const off = args.length > 2 ? int(args[2], 'offset') : 0n;
      const len = args.length > 3 ? length(args[3], 'len') : Number(b.buf.size - off);
      if (len > 64 << 20) throw new RuntimeError('cpu_fill of more than 64 MiB');
      c.m.cpuWrite(b.buf.phys + off, new Uint8Array(len).fill(value), b.buf, 'cpu_fill');
      return null;
    },
  },
  cpu_read: {
    min: 3, max: 3,
    impl: (c, [buf, offset, len]) => c.m.cpuRead(address(buf, 'buffer') + int(offset, 'offset'), length(len, 'len'), buf instanceof BufferValue ? buf.buf : undefined),
  },
  dma_map_page: {
    min: 5, max: 6,
    impl: (c, args) => {
      const dev = device(args[0]);
      const phys = address(args[1], 'page') + int(args[2], 'offset');
      return dmaMapPhys(c.m, dev, phys, mapSize(args[3], 'size'), direction(args[4]), attrsArg(args, 5));
    },
  },
  dma_map_single: {
    min: 4, max: 5,
    impl: (c, args) => dmaMapPhys(c.m, device(args[0]), address(args[1], 'addr'), mapSize(args[2], 'size'), direction(args[3]), attrsArg(args, 4)),
  },
  dma_unmap_page: {
    min: 4, max: 5,
    impl: (c, args) => {
      dmaUnmapPhys(c.m, device(args[0]), address(args[1], 'addr'), mapSize(args[2], 'size'), direction(args[3]), attrsArg(args, 4));
      return null;
    },
  },
  dma_unmap_single: {
    min: 4, max: 5,
    impl: (c, args) => {
      dmaUnmapPhys(c.m, device(args[0]), address(args[1], 'addr'), mapSize(args[2], 'size'), direction(args[3]), attrsArg(args, 4));
      return null;
    },
  },
  dma_mapping_error: {
    min: 2, max: 2,
    impl: (c, [dev, addr]) => BigInt(dmaMappingError(c.m, device(dev), int(addr, 'addr') < 0n ? DMA_MAPPING_ERROR : int(addr, 'addr'))),
  },
  dma_sync_single_for_cpu: {
    min: 4, max: 4,
    impl: (c, [dev, addr, size, dir]) => {
      dmaSyncSingleForCpu(c.m, device(dev), address(addr, 'addr'), mapSize(size, 'size'), direction(dir));
      return null;
    },
  },
  dma_sync_single_for_device: {
    min: 4, max: 4,
    impl: (c, [dev, addr, size, dir]) => {
      dmaSyncSingleForDevice(c.m, device(dev), address(addr, 'addr'), mapSize(size, 'size'), direction(dir));
      return null;
    },
  },
  sg_table: {
    min: 1, max: 1024,
    impl: (c, args) => new SgTable(sgSegments(args), c.m.trace.line),
  },
  dma_map_sg: {
    min: 3, max: 4,
    impl: (c, args) => BigInt(dmaMapSg(c.m, device(args[0]), sgTable(args[1]), direction(args[2]), attrsArg(args, 3))),
  },
  dma_unmap_sg: {
    min: 3, max: 4, named: ['nents'],
    impl: (c, args, named) => {
      dmaUnmapSg(c.m, device(args[0]), sgTable(args[1]), direction(args[2]), attrsArg(args, 3), nentsArg(named, sgTable(args[1])));
      return null;
    },
  },
  dma_sync_sg_for_cpu: {
    min: 3, max: 3, named: ['nents'],
    impl: (c, [dev, sgl, dir], named) => {
      dmaSyncSg(c.m, device(dev), sgTable(sgl), direction(dir), true, nentsArg(named, sgTable(sgl)));
      return null;
    },
  },
  dma_sync_sg_for_device: {
    min: 3, max: 3, named: ['nents'],
    impl: (c, [dev, sgl, dir], named) => {
      dmaSyncSg(c.m, device(dev), sgTable(sgl), direction(dir), false, nentsArg(named, sgTable(sgl)));
      return null;
    },
  },
  dma_alloc_coherent: {
    min: 2, max: 2,
    impl: (c, [dev, size]) => {
      const d = device(dev);
      const r = dmaAllocCoherent(c.m, d, mapSize(size, 'size'));
      return r ? new CoherentValue(r, d.name) : 0n;
    },
  },
  dma_free_coherent: {
    min: 3, max: 3,
    impl: (c, [dev, size, coh]) => {
      if (!(coh instanceof CoherentValue)) throw new RuntimeError('dma_free_coherent takes the value dma_alloc_coherent returned');
      dmaFreeCoherent(c.m, device(dev), mapSize(size, 'size'), coh.coh);
      return null;
    },
  },
  iommu_paging_domain_alloc: {
    min: 1, max: 2, named: ['nest_parent'],
    impl: (c, args, named) => {
      const dev = args[0];
      const nestV = optional(args, 1, named, 'nest_parent');
      const nest = nestV !== undefined ? truthy(nestV) : false;
      const d = iommuPagingDomainAlloc(c.m, device(dev), c.target ?? 'domain', nest);
      if (typeof d === 'number') return BigInt(d);
      c.m.domains.push(d);
      return d;
    },
  },
  iommu_attach_device: {
    min: 2, max: 2,
    impl: (c, [d, dev]) => BigInt(iommuAttachDevice(c.m, domain(d), device(dev))),
  },
  iommu_detach_device: {
    min: 2, max: 2,
    impl: (c, [d, dev]) => BigInt(iommuDetachDevice(c.m, domain(d), device(dev))),
  },
  iommu_map: {
    min: 5, max: 5,
    impl: (c, [d, iova, paddr, size, prot]) => BigInt(iommuMap(c.m, domain(d), address(iova, 'iova'), address(paddr, 'paddr'), mapSize(size, 'size'), smallInt(prot, 'prot', 0xff))),
  },
  iommu_unmap: {
    min: 3, max: 3,
    impl: (c, [d, iova, size]) => iommuUnmap(c.m, domain(d), address(iova, 'iova'), mapSize(size, 'size')),
  },
  iommu_iova_to_phys: {
    min: 2, max: 2,
    impl: (_c, [d, iova]) => iommuIovaToPhys(domain(d), address(iova, 'iova')),
  },
  iommu_flush_iotlb_all: {
    min: 1, max: 1,
    impl: (c, [d]) => {
      iommuFlushIotlbAll(c.m, domain(d));
      return null;
    },
  },
  dev_read: {
    min: 3, max: 3, named: ['pasid'],
    impl: (c, [dev, addr, len], named) => devRead(c.m, device(dev), address(addr, 'addr'), length(len, 'len'), pasidArg(named)).bytes,
  },
  dev_write: {
    min: 3, max: 3, named: ['pasid'],
    impl: (c, [dev, addr, data], named) => {
      const payload = typeof data === 'bigint' ? new Uint8Array(length(data, 'len')) : bytes(data, 'data');
      devWrite(c.m, device(dev), address(addr, 'addr'), payload, pasidArg(named));
      return null;
    },
  },
  translate: {
    min: 2, max: 2, named: ['pasid'],
    impl: (c, [dev, addr], named) => new TranslateValue(probeDma(c.m, device(dev), address(addr, 'addr'), pasidArg(named))),
  },
  bounce_addr: {
    min: 2, max: 2,
    impl: (c, [dev, addr]) => {
      const d = device(dev);
      const a = address(addr, 'dma_addr');
      const rec = c.m.mappings.liveOf(d.name, a);
      return rec?.bounce != null ? rec.bounce + (a - rec.dma) : 0n;
    },
  },
  events: {
    min: 1, max: 1,
    impl: (c, [name]) => {
      if (typeof name !== 'string') throw new RuntimeError('events() takes an event name string such as "swiotlb:swiotlb_bounced"');
      return BigInt(c.m.trace.count(name));
    },
  },
  driver_unbind: {
    min: 1, max: 1,
    impl: (c, [dev]) => {
      const d = device(dev);
      c.m.trace.enter('device_release_driver', { device: d.busId });
      // dma_debug_device_change(BUS_NOTIFY_UNBOUND_DRIVER): the leak report; the entries stay, as in the kernel.
      c.m.debug.reportLeaks(debugDevice(d));
      d.driverBound = false;
      c.m.trace.leave();
      return null;
    },
  },
  msleep: {
    min: 1, max: 1,
    impl: (c, [ms]) => {
      c.m.trace.emit('engine:msleep', { ms: smallInt(ms, 'ms', 3_600_000) });
      c.m.advanceTime(smallInt(ms, 'ms', 3_600_000));
      return null;
    },
  },
};

