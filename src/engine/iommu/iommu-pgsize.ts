// The iommu core's page-size splitting (drivers/iommu/iommu.c, v6.18):
// iommu_pgsize(), the iommu_map_nosync() loop with its unroll on failure, and
// __iommu_unmap(). Each call of the format's map_pages/unmap_pages is
// reported as a chunk, so a run shows exactly how a request was split.

import { EINVAL, ENODEV, KernelBug } from '../errno';
import { IoPgtableOps, type NumberIoPgtableOps } from '../io-pgtable/types';
import { fmtPa, ffs, fls, hex, u64, U64_MASK } from '../u64';

/** One call of the domain's map_pages or unmap_pages. */
export interface IommuChunk {
  fn: 'map_pages' | 'unmap_pages';
  iova: bigint;
  /** map_pages only. */
  paddr?: bigint;
  pgsize: bigint;
  count: number;
  /** Bytes mapped or unmapped by this call. */
  result: bigint;
  /** map_pages only: its 0 / -errno. */
  ret?: number;
}

export interface IommuMapResult {
  /** 0 or -errno, as iommu_map() returns it. */
  ret: number;
  /** Bytes the loop mapped; on failure these were unmapped again by the unroll. */
  mapped: bigint;
  /** map_pages calls, then (on failure) the unroll's unmap_pages calls. */
  chunks: IommuChunk[];
  /** pr_err() text (without the "iommu: " prefix) when the request was rejected. */
  message?: string;
}

export interface IommuUnmapResult {
  /** size_t returned by iommu_unmap(): a prefix of the request. */
  unmapped: bigint;
  chunks: IommuChunk[];
  message?: string;
}

/** GENMASK(h, 0) on unsigned long. */
function genmask(h: number): bigint {
  return (1n << BigInt(h + 1)) - 1n;
}

/**
 * iommu_pgsize(): the largest supported page size that the alignment of
 * iova|paddr and the remaining size allow, and how many of them to map
 * before a larger page size becomes usable.
 */
export function iommuPgsize(pgsizeBitmap: bigint, iova: bigint, paddr: bigint, size: bigint): { pgsize: bigint; count: number } {
  const addrMerge = paddr | iova;
  // The common call, one page of the smallest size at aligned addresses, comes out as that page once
  // (a bigger size's offset_end always exceeds it): skip the mask arithmetic.
  if (size === (pgsizeBitmap & -pgsizeBitmap) && size !== 0n && (addrMerge & (size - 1n)) === 0n) return { pgsize: size, count: 1 };
  let pgsizes = pgsizeBitmap & genmask(fls(size));
  if (addrMerge) pgsizes &= genmask(ffs(addrMerge));
  if (!pgsizes) throw new KernelBug('kernel BUG at drivers/iommu/iommu.c: iommu_pgsize: BUG_ON(!pgsizes)');

  const pgsizeIdx = fls(pgsizes);
  const pgsize = 1n << BigInt(pgsizeIdx);
  let count = size;

  const bigger = pgsizeBitmap & ~genmask(pgsizeIdx);
  if (bigger) {
    const pgsizeNext = 1n << BigInt(ffs(bigger));
    // A bigger page only helps if iova and paddr are equally offset within it.
    if (!((iova ^ paddr) & (pgsizeNext - 1n))) {
      const offset = pgsizeNext - (addrMerge & (pgsizeNext - 1n));
      const offsetEnd = offset + pgsizeNext;
      if (offsetEnd <= U64_MASK && offsetEnd <= size) count = offset;
    }
  }
  return { pgsize, count: Number(count >> BigInt(pgsizeIdx)) };
}

/** 1 << __ffs(pgsize_bitmap), an unsigned int in the kernel. */
function minPagesz(pgsizeBitmap: bigint): bigint {
  if (pgsizeBitmap !== lastBitmap) {
    lastBitmap = pgsizeBitmap;
    lastMinPagesz = (1n << BigInt(ffs(pgsizeBitmap))) & 0xffffffffn;
    lastMinMask = lastMinPagesz - 1n;
    lastSmallest = pgsizeBitmap & -pgsizeBitmap;
    lastSmallestMask = lastSmallest - 1n;
    lastSmallestIsMin = lastSmallest === lastMinPagesz;
  }
  return lastMinPagesz;
}

/** minPagesz's last answer, its mask and the bitmap's lowest bit: every map and unmap of a domain asks for the same bitmap. */
let lastBitmap = 0n;
let lastMinPagesz = 0n;
let lastMinMask = -1n;
let lastSmallest = 0n;
let lastSmallestMask = -1n;
/** The smallest page is min_pagesz (below 2^32): one such page at an aligned address passes the alignment check. */
let lastSmallestIsMin = false;

/**
 * iommu_map() on an unmanaged paging domain whose map_pages/unmap_pages go
 * straight to the io-pgtable (as arm-smmu does); iotlb_sync_map is absent.
 * `pgsizeBitmap` is domain->pgsize_bitmap, the format's by default.
 */
export function iommuMapPages(ops: IoPgtableOps, iova: bigint, paddr: bigint, size: bigint, prot: number, pgsizeBitmap: bigint = ops.cfg.pgsizeBitmap): IommuMapResult {
  return mapPagesChunked(ops, iova, paddr, size, prot, pgsizeBitmap, []);
}

/** iommuMapPages for the iommu core, which reads no chunks: none are recorded, and the result object is reused (read it before the next call). */
export function iommuMapPagesQuiet(ops: IoPgtableOps, iova: bigint, paddr: bigint, size: bigint, prot: number): IommuMapResult {
  return mapPagesChunked(ops, iova, paddr, size, prot, ops.cfg.pgsizeBitmap, null);
}

/**
 * iommuMapPagesQuiet with the addresses also as numbers (integers below
 * 2^53), for a format that takes them: one page of the smallest size at
 * addresses aligned to it goes to its number map_pages; anything else, and
 * anything short of a whole success, continues exactly as the bigint call.
 */
export function iommuMapPagesQuietN(ops: NumberIoPgtableOps, iova: bigint, iovaN: number, paddr: bigint, paddrN: number, size: bigint, sizeN: number, prot: number): IommuMapResult {
  // Both below 2^53: | and & take their low 32 bits exactly, and the mask is below 2^30.
  if (sizeN !== ops.minPageN || ((iovaN | paddrN) & (sizeN - 1)) !== 0) return mapPagesChunked(ops, iova, paddr, size, prot, ops.cfg.pgsizeBitmap, null);
  const ret = ops.mapPagesN(iovaN, paddrN, sizeN, 1, prot);
  const mapped = ops.mappedN;
  if (ret === 0 && mapped === sizeN) return mapResult(0, size, null);
  const bitmap = ops.cfg.pgsizeBitmap;
  minPagesz(bitmap); // the loop's page sizes
  return mapPagesFrom(ops, iova, paddr, size, prot, bitmap, null, { mapped: BigInt(mapped), ret });
}

/** iommuUnmapPagesQuiet with the address also as a number, as iommuMapPagesQuietN. */
export function iommuUnmapPagesQuietN(ops: NumberIoPgtableOps, iova: bigint, iovaN: number, size: bigint, sizeN: number): IommuUnmapResult {
  if (sizeN !== ops.minPageN || (iovaN & (sizeN - 1)) !== 0) return unmapPagesChunked(ops, iova, size, ops.cfg.pgsizeBitmap, null);
  const n = ops.unmapPagesN(iovaN, sizeN, 1);
  if (n === sizeN) return unmapResult(size, null);
  const bitmap = ops.cfg.pgsizeBitmap;
  minPagesz(bitmap); // the loop's page sizes
  return unmapPagesFrom(ops, iova, size, bitmap, null, n < 0 ? ops.unmappedBig : BigInt(n));
}

/** The chunks of a quiet call: none (shared, never pushed to). */
const NO_CHUNKS: IommuChunk[] = [];

/** The results of quiet calls, reused: the iommu core reads them at once, and a map/unmap pair then makes no result object. */
const QUIET_MAP: IommuMapResult = { ret: 0, mapped: 0n, chunks: NO_CHUNKS, message: undefined };
const QUIET_UNMAP: IommuUnmapResult = { unmapped: 0n, chunks: NO_CHUNKS, message: undefined };

function mapResult(ret: number, mapped: bigint, chunks: IommuChunk[] | null, message?: string): IommuMapResult {
  if (chunks !== null) return message === undefined ? { ret, mapped, chunks } : { ret, mapped, chunks, message };
  QUIET_MAP.ret = ret;
  QUIET_MAP.mapped = mapped;
  QUIET_MAP.message = message;
  return QUIET_MAP;
}

function unmapResult(unmapped: bigint, chunks: IommuChunk[] | null, message?: string): IommuUnmapResult {
  if (chunks !== null) return message === undefined ? { unmapped, chunks } : { unmapped, chunks, message };
  QUIET_UNMAP.unmapped = unmapped;
  QUIET_UNMAP.message = message;
  return QUIET_UNMAP;
}

/** iommu_pgsize()'s answer for one page of the smallest size; pgsize is the caller's size. */
const ONE_PAGE = { pgsize: 0n, count: 1 };

function mapPagesChunked(ops: IoPgtableOps, iova: bigint, paddr: bigint, size: bigint, prot: number, pgsizeBitmap: bigint, chunks: IommuChunk[] | null): IommuMapResult {
  if (pgsizeBitmap === 0n) return mapResult(-ENODEV, 0n, chunks);
  const minPg = minPagesz(pgsizeBitmap);
  if (size === lastSmallest && lastSmallestIsMin && ((iova | paddr) & lastSmallestMask) === 0n) {
    // One page of the smallest size at aligned addresses (a 4 KiB dma_map_page): aligned to min_pagesz, and
    // iommu_pgsize() gives that page once; a whole success needs none of the loop's arithmetic.
    const r = ops.mapPages(iova, paddr, size, 1, prot);
    chunks?.push({ fn: 'map_pages', iova, paddr, pgsize: size, count: 1, result: r.mapped, ret: r.ret });
    if (r.ret === 0 && r.mapped === size) return mapResult(0, size, chunks);
    return mapPagesFrom(ops, iova, paddr, size, prot, pgsizeBitmap, chunks, r);
  }
  if ((iova | paddr | size) & lastMinMask) {
    const message = `unaligned: iova ${hex(iova)} pa ${fmtPa(paddr)} size ${hex(size)} min_pagesz ${hex(minPg)}`;
    return mapResult(-EINVAL, 0n, chunks, message);
  }
  return mapPagesFrom(ops, iova, paddr, size, prot, pgsizeBitmap, chunks, null);
}

/** The iommu_map_nosync() loop and its unroll; `first` is the result of a first map_pages call already made (at iova). */
function mapPagesFrom(ops: IoPgtableOps, iova: bigint, paddr: bigint, size: bigint, prot: number, pgsizeBitmap: bigint, chunks: IommuChunk[] | null, first: { mapped: bigint; ret: number } | null): IommuMapResult {
  const smallest = lastSmallest;
  const origIova = iova;
  const origSize = size;
  let ret = 0;
  let r = first;
  while (size) {
    if (r === null) {
      // iommu_pgsize() of one smallest page at aligned addresses is that page once (its own first test), without the object.
      const one = size === smallest && ((iova | paddr) & lastSmallestMask) === 0n;
      const { pgsize, count } = one ? ONE_PAGE : iommuPgsize(pgsizeBitmap, iova, paddr, size);
      r = ops.mapPages(iova, paddr, one ? size : pgsize, count, prot);
      chunks?.push({ fn: 'map_pages', iova, paddr, pgsize: one ? size : pgsize, count, result: r.mapped, ret: r.ret });
    }
    // Some pages may be mapped even on error; they are unrolled below.
    size = r.mapped === size ? 0n : u64(size - r.mapped);
    ret = r.ret;
    if (ret || size === 0n) break; // done: the addresses need no advancing
    iova = u64(iova + r.mapped);
    paddr = u64(paddr + r.mapped);
    r = null;
  }
  const mapped = size === 0n && origSize >= 0n && origSize <= U64_MASK ? origSize : u64(origSize - size);
  if (ret) {
    const unrolled = unmapPagesChunked(ops, origIova, mapped, pgsizeBitmap, chunks === null ? null : []);
    chunks?.push(...unrolled.chunks);
  }
  return mapResult(ret, mapped, chunks);
}

/**
 * __iommu_unmap() (iommu_unmap()): splits like the map side with iova as
 * paddr, and stops at the first unmap_pages call that returns 0, so what was
 * unmapped is always a prefix of the request.
 */
export function iommuUnmapPages(ops: IoPgtableOps, iova: bigint, size: bigint, pgsizeBitmap: bigint = ops.cfg.pgsizeBitmap): IommuUnmapResult {
  return unmapPagesChunked(ops, iova, size, pgsizeBitmap, []);
}

/** iommuUnmapPages for the iommu core, which reads no chunks: none are recorded, and the result object is reused (read it before the next call). */
export function iommuUnmapPagesQuiet(ops: IoPgtableOps, iova: bigint, size: bigint): IommuUnmapResult {
  return unmapPagesChunked(ops, iova, size, ops.cfg.pgsizeBitmap, null);
}

function unmapPagesChunked(ops: IoPgtableOps, iova: bigint, size: bigint, pgsizeBitmap: bigint, chunks: IommuChunk[] | null): IommuUnmapResult {
  if (pgsizeBitmap === 0n) return unmapResult(0n, chunks);
  const minPg = minPagesz(pgsizeBitmap);
  if (size === lastSmallest && lastSmallestIsMin && (iova & lastSmallestMask) === 0n) {
    // One page of the smallest size at an aligned address: as on the map side.
    const page = ops.unmapPages(iova, size, 1);
    chunks?.push({ fn: 'unmap_pages', iova, pgsize: size, count: 1, result: page });
    if (page === size) return unmapResult(size, chunks);
    return unmapPagesFrom(ops, iova, size, pgsizeBitmap, chunks, page);
  }
  if ((iova | size) & lastMinMask) {
    return unmapResult(0n, chunks, `unaligned: iova ${hex(iova)} size ${hex(size)} min_pagesz ${hex(minPg)}`);
  }
  return unmapPagesFrom(ops, iova, size, pgsizeBitmap, chunks, -1n);
}

/** The __iommu_unmap() loop; `first` is what a first unmap_pages call already made at iova returned, -1n if none was made. */
function unmapPagesFrom(ops: IoPgtableOps, iova: bigint, size: bigint, pgsizeBitmap: bigint, chunks: IommuChunk[] | null, first: bigint): IommuUnmapResult {
  const smallest = lastSmallest;
  let unmapped = 0n;
  let page = first;
  while (unmapped < size) {
    if (page < 0n) {
      const left = unmapped === 0n ? size : size - unmapped;
      const one = left === smallest && (iova & lastSmallestMask) === 0n;
      const { pgsize, count } = one ? ONE_PAGE : iommuPgsize(pgsizeBitmap, iova, iova, left);
      page = ops.unmapPages(iova, one ? left : pgsize, count);
      chunks?.push({ fn: 'unmap_pages', iova, pgsize: one ? left : pgsize, count, result: page });
    }
    if (!page) break;
    unmapped = unmapped === 0n && page >= 0n && page <= U64_MASK ? page : u64(unmapped + page);
    if (unmapped >= size) break; // done: the address needs no advancing
    iova = u64(iova + page);
    page = -1n;
  }
  return unmapResult(unmapped, chunks);
}
