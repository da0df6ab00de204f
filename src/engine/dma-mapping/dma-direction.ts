// enum dma_data_direction (include/linux/dma-direction.h) and the DMA_ATTR_*
// bits of include/linux/dma-mapping.h at v6.18. Kept numeric so values pass
// through the engine, traces and snapshots exactly as the kernel holds them.

export const DMA_BIDIRECTIONAL = 0;
export const DMA_TO_DEVICE = 1;
export const DMA_FROM_DEVICE = 2;
export const DMA_NONE = 3;

export type DmaDirection =
  | typeof DMA_BIDIRECTIONAL
  | typeof DMA_TO_DEVICE
  | typeof DMA_FROM_DEVICE
  | typeof DMA_NONE;

export type DmaDirectionName = 'DMA_BIDIRECTIONAL' | 'DMA_TO_DEVICE' | 'DMA_FROM_DEVICE' | 'DMA_NONE';

// Indexed by the enum value, like dir2name[] in kernel/dma/debug.c.
const DIR_NAMES: readonly DmaDirectionName[] = ['DMA_BIDIRECTIONAL', 'DMA_TO_DEVICE', 'DMA_FROM_DEVICE', 'DMA_NONE'];

/** dir2name[dir]: the name dma-debug prints. */
export function dirName(dir: DmaDirection): DmaDirectionName {
  return DIR_NAMES[dir] ?? 'DMA_NONE';
}

/** Inverse of dirName, for parsers; undefined for anything that is not an enum name. */
export function dirFromName(name: string): DmaDirection | undefined {
  const i = DIR_NAMES.indexOf(name as DmaDirectionName);
  return i < 0 ? undefined : (i as DmaDirection);
}

/** valid_dma_direction(): DMA_NONE is not a direction a mapping may use. */
export function validDmaDirection(dir: number): dir is DmaDirection {
  return dir === DMA_BIDIRECTIONAL || dir === DMA_TO_DEVICE || dir === DMA_FROM_DEVICE;
}

// unsigned long attrs bits; bits 0 and 3 are unused since their attributes were removed.
export const DMA_ATTR_WEAK_ORDERING = 1 << 1;
export const DMA_ATTR_WRITE_COMBINE = 1 << 2;
export const DMA_ATTR_NO_KERNEL_MAPPING = 1 << 4;
export const DMA_ATTR_SKIP_CPU_SYNC = 1 << 5;
export const DMA_ATTR_FORCE_CONTIGUOUS = 1 << 6;
export const DMA_ATTR_ALLOC_SINGLE_PAGES = 1 << 7;
export const DMA_ATTR_NO_WARN = 1 << 8;
export const DMA_ATTR_PRIVILEGED = 1 << 9;
/** New in v6.18 with dma_map_phys(): the address is MMIO, never cached or bounced. */
export const DMA_ATTR_MMIO = 1 << 10;
