// Which kernel source file each emulated function stands for, so a stack
// frame in the debugger reads like a kernel backtrace.

const BY_PREFIX: [RegExp, string][] = [
  [/^(dma_map|dma_unmap|dma_sync|dma_alloc|dma_free|dma_mapping_error)/, 'kernel/dma/mapping.c'],
  [/^dma_iova_/, 'drivers/iommu/dma-iommu.c'],
  [/^(iommu_dma_|__iommu_dma)/, 'drivers/iommu/dma-iommu.c'],
  [/^(alloc_iova|free_iova|queue_iova|fq_|reserve_iova)/, 'drivers/iommu/iova.c'],
  [/^(iommu_map|iommu_unmap|__iommu_map|__iommu_unmap|iommu_attach|iommu_detach|iommu_paging_domain_alloc|iommu_iotlb|iommu_flush|device_probe)/, 'drivers/iommu/iommu.c'],
  [/^iommu_(sva|attach_device_pasid|detach_device_pasid|replace_device_pasid)/, 'drivers/iommu/iommu-sva.c'],
  [/^iommu_nested/, 'drivers/iommu/iommufd/hw_pagetable.c'],
  [/^(__arm_lpae|arm_lpae)/, 'drivers/iommu/io-pgtable-arm.c'],
  [/^(swiotlb_|dma_direct)/, 'kernel/dma/swiotlb.c'],
  [/^vduse_/, 'drivers/vdpa/vdpa_user/iova_domain.c'],
  [/^(intel_|domain_)/, 'drivers/iommu/intel/iommu.c'],
  [/^arm_smmu_/, 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c'],
  [/^(device_read|device_write)/, 'the device (emulated bus master)'],
  [/^device_release_driver/, 'drivers/base/dd.c'],
];

/** The kernel file a function or tracepoint belongs to, or undefined when it is the emulator's own. */
export function kernelSourceOf(name: string): string | undefined {
  if (name.startsWith('engine:')) return undefined;
  const tracepoint = /^(dma|iommu|swiotlb):/.exec(name);
  if (tracepoint) return `include/trace/events/${tracepoint[1]}.h`;
  return BY_PREFIX.find(([re]) => re.test(name))?.[1];
}
