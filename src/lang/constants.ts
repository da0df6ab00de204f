// Kernel constants predefined in every scenario, with the kernel's values, so
// a scenario reads like the driver code it models. The family lets the checker
// catch a constant passed where another family belongs (IOMMU_READ as a DMA
// direction type-checks in C too, and is just as wrong).

import { ERRNO_NAMES } from '../engine/errno';
import { IOMMU_READ, IOMMU_WRITE, IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_MMIO, IOMMU_PRIV } from '../engine/io-pgtable/types';

export type ConstantFamily = 'dir' | 'prot' | 'attrs' | 'errno' | 'vhost_perm' | 'pasid' | 'dma_addr';

export interface ConstantInfo {
  name: string;
  value: bigint;
  family: ConstantFamily;
  /** Where the kernel defines it, for hovers. */
  header: string;
  doc: string;
}

const list: ConstantInfo[] = [];

function add(name: string, value: bigint | number, family: ConstantFamily, header: string, doc: string): void {
  list.push({ name, value: BigInt(value), family, header, doc });
}

// enum dma_data_direction (include/linux/dma-direction.h)
const DIR_H = 'include/linux/dma-direction.h';
add('DMA_BIDIRECTIONAL', 0, 'dir', DIR_H, 'Data moves both ways: the mapping is readable and writable by the device; caches are cleaned before and invalidated after.');
add('DMA_TO_DEVICE', 1, 'dir', DIR_H, 'The device only reads the buffer (IOMMU_READ); the CPU cache is written back before the device reads.');
add('DMA_FROM_DEVICE', 2, 'dir', DIR_H, 'The device only writes the buffer (IOMMU_WRITE); the CPU cache is invalidated so the CPU sees what the device wrote.');
add('DMA_NONE', 3, 'dir', DIR_H, 'Not a valid direction for mapping calls: valid_dma_direction() rejects it and the kernel BUG()s.');

// IOMMU_* prot bits (include/linux/iommu.h)
const IOMMU_H = 'include/linux/iommu.h';
add('IOMMU_READ', IOMMU_READ, 'prot', IOMMU_H, 'The device may read through this mapping.');
add('IOMMU_WRITE', IOMMU_WRITE, 'prot', IOMMU_H, 'The device may write through this mapping.');
add('IOMMU_CACHE', IOMMU_CACHE, 'prot', IOMMU_H, 'DMA is cache coherent (the page-table entry gets cacheable, shareable attributes).');
add('IOMMU_NOEXEC', IOMMU_NOEXEC, 'prot', IOMMU_H, 'The device may not execute from this mapping (XN).');
add('IOMMU_MMIO', IOMMU_MMIO, 'prot', IOMMU_H, 'The mapping targets MMIO (e.g. an MSI doorbell): device memory attributes.');
add('IOMMU_PRIV', IOMMU_PRIV, 'prot', IOMMU_H, 'Privileged-only access; set for DMA_ATTR_PRIVILEGED mappings.');
add('IOMMU_NO_PASID', 0, 'pasid', IOMMU_H, 'PASID 0 stands for requests without a PASID (the RID); attaching a domain to it with iommu_attach_device_pasid() fails with -EINVAL.');

// DMA_ATTR_* (include/linux/dma-mapping.h)
const MAP_H = 'include/linux/dma-mapping.h';
add('DMA_ATTR_WEAK_ORDERING', 1n << 1n, 'attrs', MAP_H, 'Reads and writes to the mapping may be weakly ordered.');
add('DMA_ATTR_WRITE_COMBINE', 1n << 2n, 'attrs', MAP_H, 'Writes to the mapping may be buffered to improve performance (coherent allocations).');
add('DMA_ATTR_NO_KERNEL_MAPPING', 1n << 4n, 'attrs', MAP_H, 'dma_alloc_attrs() need not create a kernel virtual mapping for the buffer.');
add('DMA_ATTR_SKIP_CPU_SYNC', 1n << 5n, 'attrs', MAP_H, 'The caller owns cache maintenance: map/unmap skip the CPU cache sync.');
add('DMA_ATTR_FORCE_CONTIGUOUS', 1n << 6n, 'attrs', MAP_H, 'Allocate physically contiguous memory even behind an IOMMU.');
add('DMA_ATTR_ALLOC_SINGLE_PAGES', 1n << 7n, 'attrs', MAP_H, 'Hint that the allocation may be built from single pages.');
add('DMA_ATTR_NO_WARN', 1n << 8n, 'attrs', MAP_H, 'Do not warn on allocation or mapping failure (e.g. "swiotlb buffer is full").');
add('DMA_ATTR_PRIVILEGED', 1n << 9n, 'attrs', MAP_H, 'The mapping is for privileged device accesses only (IOMMU_PRIV).');
add('DMA_ATTR_MMIO', 1n << 10n, 'attrs', MAP_H, 'The physical address is MMIO (peer-to-peer), not RAM: no cache maintenance, no swiotlb (v6.18).');

/** (dma_addr_t)~0, what failing streaming maps return; check with dma_mapping_error(). */
add('DMA_MAPPING_ERROR', (1n << 64n) - 1n, 'dma_addr', MAP_H, 'The value a failed streaming mapping returns, (dma_addr_t)~0. Test with dma_mapping_error().');

// VHOST_MAP_* permissions of vhost_iotlb ranges (include/uapi/linux/vhost_types.h)
const VHOST_H = 'include/uapi/linux/vhost_types.h';
for (const [short, value, doc] of [
  ['RO', 1, 'Read-only range: the device may only read it.'],
  ['WO', 2, 'Write-only range: the device may only write it.'],
  ['RW', 3, 'Read-write range.'],
] as const) {
  add(short, value, 'vhost_perm', VHOST_H, `VHOST_MAP_${short}: ${doc}`);
  add(`VHOST_MAP_${short}`, value, 'vhost_perm', VHOST_H, doc);
}

// errno names (include/uapi/asm-generic/errno-base.h, errno.h); positive as in C, calls return them negated.
for (const [name, value] of Object.entries(ERRNO_NAMES)) {
  add(name, value, 'errno', 'include/uapi/asm-generic/errno-base.h', `errno ${value}. Failing calls return -${name}; test with \`expect error ${name} CALL\` or \`x == -${name}\`.`);
}

export const CONSTANTS: ReadonlyMap<string, ConstantInfo> = new Map(list.map((c) => [c.name, c]));

/** Every DMA_ATTR_* bit the language knows; other bits in an attrs argument are suspect. */
export const KNOWN_ATTR_BITS: bigint = list.filter((c) => c.family === 'attrs').reduce((m, c) => m | c.value, 0n);

/** Every IOMMU_* prot bit. */
export const KNOWN_PROT_BITS: bigint = list.filter((c) => c.family === 'prot').reduce((m, c) => m | c.value, 0n);
