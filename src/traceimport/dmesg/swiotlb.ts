// swiotlb and dma-direct messages (kernel/dma/swiotlb.c, lib/swiotlb.c before
// 4.20, kernel/dma/direct.h):
//   "<drv> <dev>: swiotlb buffer is full (sz: %zd bytes)"                      (to ~4.x)
//   "<drv> <dev>: swiotlb buffer is full (sz: %zd bytes), total %lu (slots), used %lu (slots)"
//   "DMA: Out of SW-IOMMU space for %zu bytes at device %s"   (swiotlb_full(), to ~5.0; "PCI-DMA:" earlier)
//   "<drv> <dev>: DMA addr %pad+%zu overflow (mask %llx, bus limit %llx)."    (report_addr)
//   "<drv> <dev>: swiotlb addr %pad+%zu overflow (mask %llx, bus limit %llx)."
//   "<drv> <dev>: Can not allocate SWIOTLB buffer earlier and can't now provide you with the DMA bounce buffer"

import { canonHex, decimalSize, devName } from '../values';
import { type LineCtx, type OpenRecord, type Partial, SingleLineRecord, base, devPrefix } from './record';
import type { Finding } from '../types';

const FULL = /^swiotlb buffer is full \(sz: (\d+) bytes\)(?:, total (\d+) \(slots\), used (\d+) \(slots\))?\s*$/;
const OUT_OF_SPACE = /^(?:PCI-)?DMA: Out of SW-IOMMU space for (\d+) bytes at device (\S*)\s*$/;
const OVERFLOW = /^(DMA|swiotlb) addr (?:0x)?([0-9a-fA-F]+)\+(\d+) overflow \(mask ([0-9a-fA-F]+), bus limit ([0-9a-fA-F]+)\)\.?\s*$/;
const NO_POOL = /^Can not allocate SWIOTLB buffer earlier and can't now provide you with the DMA bounce buffer\s*$/;

/** 2 KiB: IO_TLB_SHIFT 11, the swiotlb slot size. */
const IO_TLB_SIZE = 2048;

function withDevice(f: Finding, text: string | undefined): void {
  if (text === undefined) return;
  const d = devName(text);
  if (d !== undefined) f.device = d;
}

export function startSwiotlb(ctx: LineCtx): OpenRecord | Partial | undefined {
  const body = ctx.body;
  const p = devPrefix(body);
  const rest = p?.rest ?? body;
  let m = FULL.exec(rest);
  if (m) {
    const f = base(ctx, 'swiotlb_full');
    withDevice(f, p?.device);
    const size = decimalSize(m[1]);
    if (size !== undefined) f.size = size;
    if (m[2] !== undefined) {
      const total = Number(m[2]);
      const used = Number(m[3]);
      f.total_slots = total;
      f.used_slots = used;
      f.total_bytes = total * IO_TLB_SIZE;
      f.used_bytes = used * IO_TLB_SIZE;
    }
    f.reason = 'swiotlb buffer is full';
    f.message = rest.trimEnd();
    return new SingleLineRecord(ctx, f);
  }
  m = OUT_OF_SPACE.exec(body);
  if (m) {
    const f = base(ctx, 'swiotlb_full');
    withDevice(f, m[2]);
    const size = decimalSize(m[1]);
    if (size !== undefined) f.size = size;
    f.reason = 'Out of SW-IOMMU space';
    f.message = body.trimEnd();
    return new SingleLineRecord(ctx, f);
  }
  m = OVERFLOW.exec(rest);
  if (m) {
    const f = base(ctx, 'dma_overflow');
    withDevice(f, p?.device);
    f.addr = canonHex(m[2]);
    const size = decimalSize(m[3]);
    if (size !== undefined) f.size = size;
    f.dma_mask = canonHex(m[4]);
    f.bus_limit = canonHex(m[5]);
    f.reason = m[1] === 'DMA' ? 'DMA address beyond the device mask' : 'swiotlb buffer beyond the device mask';
    f.message = rest.trimEnd();
    return new SingleLineRecord(ctx, f);
  }
  if (NO_POOL.test(rest)) {
    const f = base(ctx, 'swiotlb_full');
    withDevice(f, p?.device);
    f.reason = 'no swiotlb pool';
    f.message = rest.trimEnd();
    return new SingleLineRecord(ctx, f);
  }
  if (/^swiotlb buffer is full \(sz/.test(rest) || /Out of SW-IOMMU space for/.test(body)) {
    return { partial: true, reason: 'swiotlb message does not match any known format (cut short?)' };
  }
  return undefined;
}

export function looksLikeSwiotlb(body: string): boolean {
  return body.includes('swiotlb') || body.includes('SW-IOMMU') || body.includes('SWIOTLB') || body.includes(' overflow (mask');
}
