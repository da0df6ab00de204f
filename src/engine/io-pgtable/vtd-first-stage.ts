// Intel VT-d first-stage page tables, the scalable-mode default: the x86-64
// paging format, 4 levels (aw 48) or 5 (aw 57), 4K pages with 2M/1G
// superpages. Mapping, unmapping and lookups are the shared dma_pte code of
// intel/iommu.c (DmarPgtable); only the bits differ:
//
//   leaf:  P | US | A, plus R/W and D when writable, PS for a superpage
//          (__domain_mapping presets A and D so the IOMMU never writes them)
//   table: P | R/W | US | A                              (pfn_to_dma_pte)
//
// DMA_PTE_READ is bit 0, so the present bit doubles as "readable": x86 paging
// cannot express write-only, and a write-only map reads too. The domain's
// aperture stops below 2^(aw-1) to stay canonical (bits 63:aw-1 equal);
// IOVAs at or above it fault with 'address-size' in the walk.

import { EINVAL, KernelError } from '../errno';
import { RadixPteDecode } from './generic-pt';
import { PgtableHooks } from './types';
import { DMA_PTE_LARGE_PAGE, DMA_PTE_READ, DMA_PTE_WRITE, DmarPgtable, VtdPgtableConfig } from './vtd-second-stage';

export const DMA_FL_PTE_PRESENT = 1n << 0n;
export const DMA_FL_PTE_RW = 1n << 1n;
export const DMA_FL_PTE_US = 1n << 2n;
export const DMA_FL_PTE_ACCESS = 1n << 5n;
export const DMA_FL_PTE_DIRTY = 1n << 6n;
export const DMA_FL_PTE_PS = DMA_PTE_LARGE_PAGE;

export class VtdFirstStageIoPgtable extends DmarPgtable {
  readonly name = 'vtd-first-stage';

  constructor(config: VtdPgtableConfig, hooks: PgtableHooks) {
    if (config.aw < 32 || config.aw > 57) throw new KernelError(EINVAL, `intel-iommu: first-stage address width ${config.aw} unsupported`);
    // First-stage paging is 4-level, or 5-level when the width needs it (PASID_FLAG_FL5LP).
    super(config, config.aw > 48 ? 5 : 4, hooks);
  }

  protected leafAttr(dmaProt: bigint): bigint {
    let attr = (dmaProt & (DMA_PTE_READ | DMA_PTE_WRITE)) | DMA_FL_PTE_PRESENT | DMA_FL_PTE_US | DMA_FL_PTE_ACCESS;
    if (dmaProt & DMA_PTE_WRITE) attr |= DMA_FL_PTE_DIRTY;
    return attr;
  }

  protected tableAttr(): bigint {
    return DMA_PTE_READ | DMA_PTE_WRITE | DMA_FL_PTE_US | DMA_FL_PTE_ACCESS;
  }

  /** __DOMAIN_MAX_ADDR(gaw - 1) + 1. */
  apertureEnd(): bigint {
    return 1n << BigInt(this.gaw - 1);
  }

  /** Requests without PASID are user-mode requests, so every level needs U/S; writes also need R/W. */
  protected decodePte(desc: bigint, level: number): RadixPteDecode {
    if (!(desc & DMA_FL_PTE_PRESENT)) return { kind: 'invalid' };
    const user = (desc & DMA_FL_PTE_US) !== 0n;
    return this.leafOrTable(desc, level, user, user && (desc & DMA_FL_PTE_RW) !== 0n);
  }
}
