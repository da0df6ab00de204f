// Whose words a finding is: the kernel's own report (a dma-debug err_printk,
// a WARN, a BUG, a printk, KASAN) or dmascope's advice about something the
// kernel lets pass silently (stale data, ownership, the DMA sanitizer, misuse
// the kernel trusts the caller on). `expect violation kernel "..."` and the
// run result's `origin` read it.

export type FindingOrigin = 'kernel' | 'dmascope';

/** Check ids whose text is what the kernel prints (besides the dma-debug-* and swiotlb-* families). */
const KERNEL_IDS: ReadonlySet<string> = new Set([
  'kernel-bug', 'dma-overflow', 'iommu-unaligned', 'iova-try-alloc-warn', 'iova-link-unaligned',
  'vduse-bounce-warn', 'vduse-free-coherent-warn',
]);

export function findingOrigin(id: string, message: string): FindingOrigin {
  if (message.startsWith('dmascope:')) return 'dmascope';
  if (message.startsWith('BUG: KASAN:')) return 'kernel';
  if (id.startsWith('dma-debug-') || id.startsWith('swiotlb-') || KERNEL_IDS.has(id)) return 'kernel';
  return 'dmascope';
}
