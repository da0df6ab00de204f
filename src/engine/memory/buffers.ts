// Buffers the scenario allocated or named: what a physical address belongs
// to, for hovers, for "bytes exposed beyond the buffer" and for leak reports.

export type BufferKind = 'alloc_pages' | 'kmalloc' | 'phys_buffer' | 'coherent' | 'pgtable' | 'swiotlb' | 'bounce';

export interface DmaBuffer {
  id: number;
  kind: BufferKind;
  phys: bigint;
  size: bigint;
  /** kmalloc: the size class the object really occupies. */
  allocSize: bigint;
  line: number;
  label: string;
}

export class BufferRegistry {
  readonly buffers: DmaBuffer[] = [];

  add(kind: BufferKind, phys: bigint, size: bigint, allocSize: bigint, line: number, label: string): DmaBuffer {
    const b: DmaBuffer = { id: this.buffers.length + 1, kind, phys, size, allocSize, line, label };
    this.buffers.push(b);
    return b;
  }

  /** The scenario-visible buffer containing addr (kernel-internal ones like page tables excluded). */
  find(addr: bigint): DmaBuffer | undefined {
    for (let i = this.buffers.length - 1; i >= 0; i--) {
      const b = this.buffers[i];
      if (addr >= b.phys && addr < b.phys + b.size) return b;
    }
    return undefined;
  }

  remove(phys: bigint): void {
    const i = this.buffers.findIndex((b) => b.phys === phys);
    if (i >= 0) this.buffers.splice(i, 1);
  }
}
