// The dma-iommu flush queue of a DMA_FQ domain: unmapped IOVAs wait here,
// still reachable through stale IOTLB entries, until an IOTLB flush that
// began after they were queued has finished (flush_start_cnt/finish_cnt).

export interface FqEntry {
  pfn: number;
  pages: number;
  /** flush_start_cnt when queued. */
  counter: number;
}

/** Per-CPU queue size and timeout (IOVA_DEFAULT_FQ_SIZE, IOVA_DEFAULT_FQ_TIMEOUT). */
export const IOVA_DEFAULT_FQ_SIZE = 256;
export const IOVA_DEFAULT_FQ_TIMEOUT_MS = 10;
/** Single-queue mode (dev->iommu->shadow_on_flush). */
export const IOVA_SINGLE_FQ_SIZE = 32768;
export const IOVA_SINGLE_FQ_TIMEOUT_MS = 1000;

export class FlushQueue {
  readonly rings: FqEntry[][];
  flushStartCnt = 0;
  flushFinishCnt = 0;
  /** Emulated time (ms) at which the armed timer fires, or null. */
  timerDeadline: number | null = null;

  constructor(ncpus: number, readonly size: number = IOVA_DEFAULT_FQ_SIZE, readonly timeoutMs: number = IOVA_DEFAULT_FQ_TIMEOUT_MS) {
    this.rings = Array.from({ length: ncpus }, () => []);
  }

  /** fq_ring_free: entries whose flush has finished, removed from the ring. */
  takeFreeable(cpu: number): FqEntry[] {
    const ring = this.rings[cpu];
    let n = 0;
    while (n < ring.length && ring[n].counter < this.flushFinishCnt) n++;
    return ring.splice(0, n);
  }

  isFull(cpu: number): boolean {
    return this.rings[cpu].length >= this.size;
  }

  push(cpu: number, pfn: number, pages: number): void {
    this.rings[cpu].push({ pfn, pages, counter: this.flushStartCnt });
  }

  pending(): number {
    return this.rings.reduce((n, r) => n + r.length, 0);
  }
}
