// Short docs of the words a scenario uses in declarations: IOMMU kinds,
// buses and default-domain types (hovers and completion).

export const WORD_DOCS: Readonly<Record<string, string>> = {
  'arm-smmu-v3': 'Arm SMMUv3: LPAE page tables (stage 1, or stage 2 for nest parents), 4K/16K/64K granules; stage-1 input size `ias` = min(48, VA_BITS).',
  'intel-vtd': 'Intel VT-d: first-stage (scalable mode, default) or second-stage tables, 4K pages; `aw` = 39/48/57 selects 3/4/5 levels. Default policy dma-fq.',
  'amd-vi': 'AMD-Vi: AMD v1 page tables, 4K pages. Default policy dma-fq.',
  'apple-dart': 'Apple DART: 16K granule by default, 32-bit IOVA; needs iotlb_sync_map for new mappings.',
  generic: 'A generic IOMMU: choose `granule`, `levels` and `ias`.',
  vduse: 'VDUSE: a userspace device; bounce pages (`bounce_size`) and IOTLB ranges instead of page tables.',
  'virtio-iommu': 'virtio-iommu: the host learns of new mappings only at iotlb_sync_map.',
  pci: 'PCI device, named by its BDF; PCI devices try a 32-bit IOVA first (pci_32bit_workaround).',
  platform: 'Platform (DT) device; not DMA-coherent unless `coherent = true`.',
  virtio: 'virtio device.',
  dma: 'IOMMU_DOMAIN_DMA: strict invalidation at every unmap.',
  'dma-fq': 'IOMMU_DOMAIN_DMA_FQ: unmaps queue their IOTLB invalidation in a flush queue (deferred, batched).',
  identity: 'IOMMU_DOMAIN_IDENTITY: passthrough, DMA addresses are physical addresses.',
  first: 'VT-d first-stage translation (scalable mode): canonical aperture 2^(aw-1).',
  second: 'VT-d second-stage translation: aperture 2^aw.',
};
