// The hooks a domain's page table runs with: table memory and pages from the
// machine, and io-pgtable WARN()s sent to the kernel log. A class, not a
// literal with closures, so snapshots can clone it.

import type { PgtableHooks, TableAllocator, TableMemory } from '../io-pgtable/types';
import type { TraceRecorder } from '../trace/recorder';

export class DomainPgtableHooks implements PgtableHooks {
  constructor(readonly mem: TableMemory, readonly alloc: TableAllocator, private readonly trace: TraceRecorder) {}

  warn(func: string, what: string): void {
    this.trace.printk(`WARNING: ${func}: ${what}`);
  }
}
