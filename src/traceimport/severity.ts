// How serious each finding kind is, in one place: the CLI summary, the exit
// code and the Problems view all read it.

export type Severity = 'error' | 'warning' | 'info';

const SEVERITY: Record<string, Severity> = {
  io_page_fault: 'error',
  intr_remap_fault: 'error',
  iommu_event: 'warning',
  iommu_unaligned: 'error',
  swiotlb_full: 'warning',
  dma_overflow: 'error',
  dma_debug: 'error',
  dma_map_error: 'error',
  kernel_splat: 'warning',
  callbacks_suppressed: 'info',
  lost_events: 'warning',
  unmap_unknown: 'error',
  unmap_size_mismatch: 'error',
  unmap_dir_mismatch: 'error',
  unmap_wrong_function: 'error',
  iommu_unmap_short: 'error',
  sync_unknown: 'error',
  fault_after_unmap: 'error',
  fault_in_live_mapping: 'error',
  swiotlb_pressure: 'warning',
  leak: 'warning',
};

export function severityOf(kind: string): Severity {
  return SEVERITY[kind] ?? 'warning';
}
