// The print formats of the dma:*, iommu:*, swiotlb:* and intel_iommu:*
// tracepoints across kernel eras: ONE table, written the way the kernel
// writes them (the TP_printk format string and the names of its arguments,
// from include/trace/events/{dma,iommu,swiotlb,intel_iommu}.h). The ftrace
// reader parses each event payload field by field with the formats listed
// for its name, newest first; the first that matches names the era.
//
// "~" before a version marks one inferred from the patch date rather than
// checked against a tag.

export interface EventFormat {
  system: string;
  event: string;
  /** First kernel release printing this format. */
  since: string;
  /** First release that no longer prints it (absent: still printed). */
  until?: string;
  /** TP_printk's format string. */
  format: string;
  /** The field each conversion fills, in order (space separated). */
  args: string;
  /** Values a symbolic field may take in this era, where they differ from SYMBOLS. */
  symbols?: Readonly<Record<string, readonly string[]>>;
  note?: string;
}

const DMA_MAP_6_12 = '%s dir=%s dma_addr=%llx size=%zu phys_addr=%llx attrs=%s';
const DMA_UNMAP_6_12 = '%s dir=%s dma_addr=%llx size=%zu attrs=%s';
const DMA_MAP_ARGS = 'device dir dma_addr size phys_addr attrs';
const DMA_UNMAP_ARGS = 'device dir dma_addr size attrs';
const SYNC_SINGLE = '%s dir=%s dma_addr=%llx size=%zu';
const SYNC_SG = '%s dir=%s dma_addrs=%s sizes=%s';

/** Every known format. Order within one event: newest first. */
export const EVENT_FORMATS: readonly EventFormat[] = [
  // ---- dma: (include/trace/events/dma.h, new in v6.12) ----
  { system: 'dma', event: 'dma_map_phys', since: '6.18', format: DMA_MAP_6_12, args: DMA_MAP_ARGS, note: 'dma_map_page/dma_map_resource renamed; MMIO mappings carry attrs=MMIO' },
  { system: 'dma', event: 'dma_unmap_phys', since: '6.18', format: DMA_UNMAP_6_12, args: DMA_UNMAP_ARGS },
  { system: 'dma', event: 'dma_map_page', since: '6.12', until: '6.18', format: DMA_MAP_6_12, args: DMA_MAP_ARGS },
  { system: 'dma', event: 'dma_map_resource', since: '6.12', until: '6.18', format: DMA_MAP_6_12, args: DMA_MAP_ARGS },
  { system: 'dma', event: 'dma_unmap_page', since: '6.12', until: '6.18', format: DMA_UNMAP_6_12, args: DMA_UNMAP_ARGS },
  { system: 'dma', event: 'dma_unmap_resource', since: '6.12', until: '6.18', format: DMA_UNMAP_6_12, args: DMA_UNMAP_ARGS },
  { system: 'dma', event: 'dma_alloc', since: '~6.13', format: '%s dir=%s dma_addr=%llx size=%zu virt_addr=%p flags=%s attrs=%s', args: 'device dir dma_addr size virt_addr flags attrs', note: '"trace dma_alloc/free direction" (3afff779a725), also in 6.12.y' },
  { system: 'dma', event: 'dma_alloc', since: '6.12', until: '~6.13', format: '%s dma_addr=%llx size=%zu virt_addr=%p flags=%s attrs=%s', args: 'device dma_addr size virt_addr flags attrs' },
  { system: 'dma', event: 'dma_alloc_pages', since: '~6.13', format: '%s dir=%s dma_addr=%llx size=%zu virt_addr=%p flags=%s attrs=%s', args: 'device dir dma_addr size virt_addr flags attrs' },
  { system: 'dma', event: 'dma_alloc_sgt_err', since: '~6.13', format: '%s dir=%s dma_addr=%llx size=%zu virt_addr=%p flags=%s attrs=%s', args: 'device dir dma_addr size virt_addr flags attrs' },
  { system: 'dma', event: 'dma_alloc_sgt', since: '~6.13', format: '%s dir=%s dma_addr=%llx size=%zu phys_addrs=%s flags=%s attrs=%s', args: 'device dir dma_addr size phys_addrs flags attrs' },
  { system: 'dma', event: 'dma_free', since: '~6.13', format: '%s dir=%s dma_addr=%llx size=%zu virt_addr=%p attrs=%s', args: 'device dir dma_addr size virt_addr attrs' },
  { system: 'dma', event: 'dma_free', since: '6.12', until: '~6.13', format: '%s dma_addr=%llx size=%zu virt_addr=%p attrs=%s', args: 'device dma_addr size virt_addr attrs' },
  { system: 'dma', event: 'dma_free_pages', since: '~6.13', format: '%s dir=%s dma_addr=%llx size=%zu virt_addr=%p attrs=%s', args: 'device dir dma_addr size virt_addr attrs' },
  { system: 'dma', event: 'dma_free_sgt', since: '~6.13', format: '%s dir=%s dma_addr=%llx size=%zu phys_addrs=%s', args: 'device dir dma_addr size phys_addrs' },
  { system: 'dma', event: 'dma_map_sg', since: '~6.19', format: '%s dir=%s nents=%d/%d ents=%d/%d%s dma_addrs=%s sizes=%s phys_addrs=%s attrs=%s', args: 'device dir traced_nents nents traced_ents ents truncated dma_addrs sizes phys_addrs attrs', note: 'arrays capped at 128 entries, " [TRUNCATED]" past that' },
  { system: 'dma', event: 'dma_map_sg', since: '6.12', format: '%s dir=%s dma_addrs=%s sizes=%s phys_addrs=%s attrs=%s', args: 'device dir dma_addrs sizes phys_addrs attrs' },
  { system: 'dma', event: 'dma_map_sg_err', since: '~6.13', format: '%s dir=%s dma_addrs=%s err=%d attrs=%s', args: 'device dir phys_addrs err attrs', note: 'the field printed as dma_addrs holds the phys addresses' },
  { system: 'dma', event: 'dma_unmap_sg', since: '6.12', format: '%s dir=%s phys_addrs=%s attrs=%s', args: 'device dir phys_addrs attrs' },
  { system: 'dma', event: 'dma_sync_single_for_cpu', since: '6.12', format: SYNC_SINGLE, args: 'device dir dma_addr size' },
  { system: 'dma', event: 'dma_sync_single_for_device', since: '6.12', format: SYNC_SINGLE, args: 'device dir dma_addr size' },
  { system: 'dma', event: 'dma_sync_sg_for_cpu', since: '6.12', format: SYNC_SG, args: 'device dir dma_addrs sizes' },
  { system: 'dma', event: 'dma_sync_sg_for_device', since: '6.12', format: SYNC_SG, args: 'device dir dma_addrs sizes' },

  // ---- iommu: (include/trace/events/iommu.h, new in v3.13) ----
  { system: 'iommu', event: 'map', since: '~5.17', format: 'IOMMU: iova=0x%016llx - 0x%016llx paddr=0x%016llx size=%zu', args: 'iova iova_end paddr size', note: '"iommu: log iova range in map/unmap trace events"' },
  { system: 'iommu', event: 'map', since: '3.13', until: '~5.17', format: 'IOMMU: iova=0x%016llx paddr=0x%016llx size=%zu', args: 'iova paddr size' },
  { system: 'iommu', event: 'map', since: 'patch', format: 'IOMMU: dev=%s iova=0x%016llx paddr=0x%016llx size=%zu', args: 'device iova paddr size', note: 'proposed "Add device name to iommu map/unmap trace events" (2021), seen in the wild' },
  { system: 'iommu', event: 'unmap', since: '~5.17', format: 'IOMMU: iova=0x%016llx - 0x%016llx size=%zu unmapped_size=%zu', args: 'iova iova_end size unmapped_size' },
  { system: 'iommu', event: 'unmap', since: '3.13', until: '~5.17', format: 'IOMMU: iova=0x%016llx size=%zu unmapped_size=%zu', args: 'iova size unmapped_size' },
  { system: 'iommu', event: 'unmap', since: 'patch', format: 'IOMMU: dev=%s iova=0x%016llx size=%zu unmapped_size=%zu', args: 'device iova size unmapped_size' },
  { system: 'iommu', event: 'io_page_fault', since: '3.13', format: 'IOMMU:%s %s iova=0x%016llx flags=0x%04x', args: 'driver device iova flags' },
  { system: 'iommu', event: 'add_device_to_group', since: '3.13', format: 'IOMMU: groupID=%d device=%s', args: 'group device' },
  { system: 'iommu', event: 'remove_device_from_group', since: '3.13', format: 'IOMMU: groupID=%d device=%s', args: 'group device' },
  { system: 'iommu', event: 'attach_device_to_domain', since: '3.13', format: 'IOMMU: device=%s', args: 'device' },
  { system: 'iommu', event: 'detach_device_from_domain', since: '3.13', until: '~6.3', format: 'IOMMU: device=%s', args: 'device' },

  // ---- swiotlb: (include/trace/events/swiotlb.h, new in v4.3) ----
  { system: 'swiotlb', event: 'swiotlb_bounced', since: '~5.19', format: 'dev_name: %s dma_mask=%llx dev_addr=%llx size=%zu %s', args: 'device dma_mask dev_addr size force', symbols: { force: ['NORMAL', 'FORCE'] }, note: 'force is a bool: FORCE or NORMAL' },
  { system: 'swiotlb', event: 'swiotlb_bounced', since: '4.10', until: '~5.19', format: 'dev_name: %s dma_mask=%llx dev_addr=%llx size=%zu %s', args: 'device dma_mask dev_addr size force', note: 'enum swiotlb_force: NORMAL, FORCE or NO_FORCE' },

  // ---- intel_iommu: (include/trace/events/intel_iommu.h, v5.3 to ~v5.8, then removed) ----
  { system: 'intel_iommu', event: 'map_single', since: '5.3', until: '~5.8', format: 'dev=%s dev_addr=0x%llx phys_addr=0x%llx size=%zu', args: 'device dev_addr phys_addr size' },
  { system: 'intel_iommu', event: 'bounce_map_single', since: '5.3', until: '~5.8', format: 'dev=%s dev_addr=0x%llx phys_addr=0x%llx size=%zu', args: 'device dev_addr phys_addr size' },
  { system: 'intel_iommu', event: 'unmap_single', since: '5.3', until: '~5.8', format: 'dev=%s dev_addr=0x%llx size=%zu', args: 'device dev_addr size' },
  { system: 'intel_iommu', event: 'unmap_sg', since: '5.3', until: '~5.8', format: 'dev=%s dev_addr=0x%llx size=%zu', args: 'device dev_addr size' },
  { system: 'intel_iommu', event: 'bounce_unmap_single', since: '5.3', until: '~5.8', format: 'dev=%s dev_addr=0x%llx size=%zu', args: 'device dev_addr size' },
  { system: 'intel_iommu', event: 'map_sg', since: '5.3', until: '~5.8', format: 'dev=%s [%d/%d] dev_addr=0x%llx phys_addr=0x%llx size=%zu', args: 'device index total dev_addr phys_addr size' },
  { system: 'intel_iommu', event: 'bounce_map_sg', since: '5.3', until: '~5.8', format: 'dev=%s [%d/%d] dev_addr=0x%llx phys_addr=0x%llx size=%zu', args: 'device index total dev_addr phys_addr size' },
];

/** Symbolic values of the enum/bool fields, for validation. */
export const SYMBOLS: Readonly<Record<string, readonly string[]>> = {
  dir: ['BIDIRECTIONAL', 'TO_DEVICE', 'FROM_DEVICE', 'NONE'],
  force: ['NORMAL', 'FORCE', 'NO_FORCE'],
};
