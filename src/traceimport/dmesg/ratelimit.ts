// Ratelimit summaries: "%s: %d callbacks suppressed" (lib/ratelimit.c, the
// function whose messages were dropped), "printk: %d messages suppressed"
// and journald's "Suppressed %d messages from kernel". The count goes into
// the result so suppressed faults are not silently lost.

import { type LineCtx, type OpenRecord, SingleLineRecord, base } from './record';

const CALLBACKS = /^(\S+): (\d+) callbacks suppressed\s*$/;
const PRINTK = /^(?:printk: )?(\d+) (?:messages|output lines) suppressed(?: due to ratelimiting)?\.?\s*$/;

/** The finding kind whose messages each printing function ratelimits. */
const SUPPRESSED_KIND: Record<string, string> = {
  amd_iommu_report_page_fault: 'io_page_fault',
  iommu_print_event: 'iommu_event',
  arm_smmu_context_fault: 'io_page_fault',
  qcom_smmu_context_fault: 'io_page_fault',
  arm_smmu_evtq_thread: 'io_page_fault',
  arm_smmu_handle_evt: 'io_page_fault',
  dmar_fault: 'io_page_fault',
  dmar_fault_do_one: 'io_page_fault',
  swiotlb_tbl_map_single: 'swiotlb_full',
  swiotlb_find_slots: 'swiotlb_full',
};

export function startRatelimit(ctx: LineCtx): OpenRecord | undefined {
  const m = CALLBACKS.exec(ctx.body);
  const f = base(ctx, 'callbacks_suppressed');
  if (m) {
    f.function = m[1];
    f.count = Number(m[2]);
    const k = SUPPRESSED_KIND[m[1]];
    if (k !== undefined) f.suppressed_kind = k;
  } else {
    const p = PRINTK.exec(ctx.body) ?? /^Suppressed (\d+) messages from kernel\s*$/.exec(ctx.body);
    if (!p) return undefined;
    f.function = 'printk';
    f.count = Number(p[1]);
  }
  f.message = ctx.body.trimEnd();
  return new SingleLineRecord(ctx, f);
}
