// IOMMUs in series (`iommu = [near, far]`): a device-side MMU, such as an
// imaging unit's, sitting behind the platform IOMMU (VT-d). Two things follow
// from the topology:
//
// - Stacked DMA ops (their table is iommu-chain-dma-ops.ts; the walks through
//   the chain are here). The device's driver maps a buffer at the far IOMMU first
//   (the PCI device's own DMA API gives a far IOVA for the physical address),
//   then at each nearer MMU (an IOVA of that MMU for the far IOVA), and hands
//   the device the nearest IOVA; unmapping goes the other way. A passthrough
//   (identity) domain on the way adds nothing. This is what ipu6-dma.c does
//   over dma_map_sg() of its PCI device.
// - The near MMU's page tables live in the far IOMMU's address space: the MMU
//   driver DMA-maps each table page through the IOMMUs after it and writes the
//   DMA address into descriptors and its root pointer (ipu6-mmu.c map_single()),
//   so every table read of the near MMU is itself translated by the far one.
//   With passthrough upstream, DMA address == phys and nothing is remapped.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { DMA_BIDIRECTIONAL } from '../dma-mapping/dma-direction';
import { dmaInfoToProt, iommuDmaMapRaw, iommuDmaUnmapRaw } from '../dma-mapping/dma-iommu';
import { ENOMEM, KernelError } from '../errno';
import { allocIoPgtableOps } from '../io-pgtable/formats';
import type { TableAllocator, TableMemory } from '../io-pgtable/types';
import { DMA_MAPPING_ERROR, hex } from '../u64';
import { iommuIovaToPhys } from './iommu-core';
import { DomainPgtableHooks } from './pgtable-warn';

/** The device's DMA API goes through stacked ops: a chain with at least one DMA API domain on it. */
export function iommuChainStacked(dev: Device): boolean {
  return dev.path.length > 1 && dev.path.some((p) => p.group.domain?.isDmaApi() === true);
}

function bitsMask(bits: number): bigint {
  return bits >= 64 ? (1n << 64n) - 1n : (1n << BigInt(bits)) - 1n;
}

/**
 * Map [phys, phys+size) through path[from..] far end first; returns the
 * address as seen at path[from]'s input, or DMA_MAPPING_ERROR (undone).
 * Each level's IOVA must fit what the MMU before it can emit (its oas), and
 * the nearest one the device's DMA mask.
 */
export function iommuChainMap(ctx: EngineCtx, dev: Device, from: number, phys: bigint, size: bigint, prot: number): bigint {
  let addr = phys;
  const done: { index: number; addr: bigint }[] = [];
  for (let i = dev.path.length - 1; i >= from; i--) {
    const { iommu, group } = dev.path[i];
    const d = group.domain;
    if (d?.type === 'identity') continue;
    const limit = i === 0 ? dev.dmaMask : bitsMask(dev.path[i - 1].iommu.oas);
    const input = addr;
    let iova = DMA_MAPPING_ERROR;
    // Only a DMA API domain has an IOVA allocator to map with; anything else (unmanaged, blocked, none) cannot be mapped into.
    if (d && d.isDmaApi()) {
      iova = ctx.trace.call('iommu_dma_map_phys', { device: dev.busId, iommu: iommu.name, phys: hex(input), size: Number(size) }, () => iommuDmaMapRaw(ctx, dev, d, input, size, prot, limit));
    } else {
      ctx.trace.printk(`${dev.busId}: cannot map through ${iommu.name}: ${d ? `${d.label} is not a DMA API domain` : 'no domain'}`);
    }
    if (iova === DMA_MAPPING_ERROR) {
      for (const m of done.reverse()) {
        const dm = dev.path[m.index].group.domain;
        if (dm) iommuDmaUnmapRaw(ctx, dm, m.addr, size);
      }
      return DMA_MAPPING_ERROR;
    }
    done.push({ index: i, addr: iova });
    addr = iova;
  }
  return addr;
}

/** Resolve an address seen at path[from] down to the physical address; 0 when some level does not map it. */
export function iommuChainIovaToPhys(dev: Device, from: number, addr: bigint): bigint {
  let cur = addr;
  for (let i = from; i < dev.path.length; i++) {
    const d = dev.path[i].group.domain;
    if (!d) return 0n;
    cur = iommuIovaToPhys(d, cur);
    if (cur === 0n) return 0n;
  }
  return cur;
}

/** Unmap near end first (the reverse of iommuChainMap); returns the physical address it resolved to, 0 if none. */
export function iommuChainUnmap(ctx: EngineCtx, dev: Device, from: number, addr: bigint, size: bigint): bigint {
  let cur = addr;
  for (let i = from; i < dev.path.length; i++) {
    const { iommu, group } = dev.path[i];
    const d = group.domain;
    if (d?.type === 'identity') continue;
    if (!d || !d.isDmaApi()) return 0n;
    const next = iommuIovaToPhys(d, cur);
    if (next === 0n) {
      ctx.trace.printk(`WARNING: ${dev.busId}: no mapping of ${hex(cur)} in ${iommu.name} to unmap`);
      return 0n;
    }
    const at = cur;
    ctx.trace.call('iommu_dma_unmap_phys', { device: dev.busId, iommu: iommu.name, dma_addr: hex(at), size: Number(size) }, () => iommuDmaUnmapRaw(ctx, d, at, size));
    cur = next;
  }
  return cur;
}

/**
 * Table memory of a near MMU: pages the driver allocates and DMA-maps through
 * the IOMMUs after it. The format sees DMA addresses; the CPU writes the
 * descriptors through the host pages behind them.
 */
export class ChainTableMemory implements TableMemory, TableAllocator {
  /** DMA page (as the near MMU addresses it) -> host page, PAGE_SIZE granularity. */
  readonly backing = new Map<bigint, bigint>();
  readonly tables = new Map<bigint, { host: bigint; size: bigint }>();

  constructor(private readonly ctx: EngineCtx, private readonly dev: Device, private readonly from: number) {}

  private get pageSize(): bigint {
    return this.ctx.platform.pageSize;
  }

  private hostOf(addr: bigint): bigint | undefined {
    const page = this.backing.get(addr & ~(this.pageSize - 1n));
    return page === undefined ? undefined : page + (addr & (this.pageSize - 1n));
  }

  readU64(addr: bigint): bigint {
    const pa = this.hostOf(addr);
    return pa === undefined ? 0n : this.ctx.mem.readU64(pa);
  }

  writeU64(addr: bigint, value: bigint): void {
    const pa = this.hostOf(addr);
    if (pa !== undefined) this.ctx.mem.writeU64(pa, value);
  }

  allocTable(bytes: number): bigint {
    let size = this.pageSize;
    while (size < BigInt(bytes)) size *= 2n;
    const host = this.ctx.tables.allocTable(Number(size));
    // map_single(): dma_map_single(DMA_BIDIRECTIONAL) on the device upstream of the MMU.
    const prot = dmaInfoToProt(DMA_BIDIRECTIONAL, this.dev.coherent, 0);
    const dma = iommuChainMap(this.ctx, this.dev, this.from, host, size, prot);
    if (dma === DMA_MAPPING_ERROR) {
      this.ctx.tables.freeTable(host, Number(size));
      throw new KernelError(ENOMEM, `cannot DMA-map a page table of ${this.dev.path[this.from - 1]?.iommu.name ?? 'the MMU'}`);
    }
    for (let off = 0n; off < size; off += this.pageSize) this.backing.set(dma + off, host + off);
    this.tables.set(dma, { host, size });
    return dma;
  }

  freeTable(addr: bigint): void {
    const t = this.tables.get(addr);
    if (!t) return;
    this.tables.delete(addr);
    iommuChainUnmap(this.ctx, this.dev, this.from, addr, t.size);
    for (let off = 0n; off < t.size; off += this.pageSize) this.backing.delete(addr + off);
    this.ctx.tables.freeTable(t.host, Number(t.size));
  }
}

/** Move path[i]'s freshly probed domain's page table into the address space of the IOMMUs after it. */
function rehomeTables(ctx: EngineCtx, dev: Device, i: number): void {
  const { iommu, group } = dev.path[i];
  const d = group.domain;
  // A group shared with an earlier device was rehomed by that device's probe.
  if (!d || !d.ops || !d.fmt || group.devices.length !== 1) return;
  const upstream = dev.path.slice(i + 1);
  if (upstream.every((p) => p.group.domain?.type === 'identity')) return; // DMA address == phys: tables stay put
  const mem = new ChainTableMemory(ctx, dev, i + 1);
  let ops;
  try {
    ops = allocIoPgtableOps(
      d.fmt,
      { granule: iommu.granule, ias: iommu.ias, oas: iommu.oas, levels: iommu.cfg.levels, pgsizeBitmap: d.pgsizeBitmap, pageSize: ctx.platform.pageSize },
      new DomainPgtableHooks(mem, mem, ctx.trace),
    );
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    ctx.trace.printk(`${dev.busId}: ${iommu.name} page tables stay at physical addresses: ${e.message}`);
    return;
  }
  d.ops.free();
  d.ops = ops;
  ctx.trace.emit('engine:chain_pgtable', { iommu: iommu.name, domain: d.label, root: hex(ops.root), behind: upstream.map((p) => p.iommu.name).join(',') });
}

/** After probe: nearer MMUs' tables go behind the farther IOMMUs (farthest first); dev->dma_iommu when the stacked ops apply (iommu-chain-dma-ops.ts). */
export function iommuChainProbe(ctx: EngineCtx, dev: Device): void {
  if (dev.path.length < 2) return;
  for (let i = dev.path.length - 2; i >= 0; i--) rehomeTables(ctx, dev, i);
  dev.dmaIommu = iommuChainStacked(dev);
}
