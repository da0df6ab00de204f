// Where io-pgtable WARN()s go: the kernel log and the trace.

import type { TraceRecorder } from '../trace/recorder';

export class PgtableWarnSink {
  constructor(private readonly trace: TraceRecorder) {}

  warn(func: string, what: string): void {
    this.trace.printk(`WARNING: ${func}: ${what}`);
  }
}
