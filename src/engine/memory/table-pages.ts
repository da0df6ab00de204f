// Page-table pages for io-pgtable formats, from the machine's page allocator
// and zeroed in emulated memory (iommu_alloc_pages_node_sz / iommu_free_pages).

import type { TableAllocator } from '../io-pgtable/types';
import type { PageAllocator } from './page-alloc';
import type { PhysicalMemory } from './physmem';

export class TablePages implements TableAllocator {
  allocated = 0;

  constructor(private readonly pages: PageAllocator, private readonly mem: PhysicalMemory) {}

  allocTable(bytes: number): bigint {
    // The kernel allocates whole pages: the smallest power of two >= max(bytes, PAGE_SIZE).
    let size = this.pages.pageSize;
    while (size < BigInt(bytes)) size *= 2n;
    const pa = this.pages.alloc(size, size, 'io-pgtable');
    if (pa === null) throw new Error('out of memory for page tables');
    this.mem.fill(pa, Number(size), 0);
    this.allocated++;
    return pa;
  }

  freeTable(addr: bigint): void {
    if (this.pages.free(addr)) this.allocated--;
  }
}
