// The debugfs files a kernel developer reads while reproducing a DMA problem:
// kernel/dma/debug.c's dma-api/ directory and kernel/dma/swiotlb.c's swiotlb/
// one (CONFIG_DEBUG_FS), read and written as `cat` and `echo` would.

import type { EngineCtx } from './context';

export type DebugfsValue = bigint | string;

interface DebugfsFile {
  doc: string;
  read(ctx: EngineCtx): DebugfsValue;
  /** Absent: the file is read-only (0444). Returns an error text for a refused write (-EINVAL). */
  write?(ctx: EngineCtx, v: DebugfsValue): string | null;
}

function asInt(v: DebugfsValue): bigint | null {
  return typeof v === 'bigint' ? v : /^\s*\d+\s*$/.test(v) ? BigInt(v.trim()) : null;
}

const FILES: Readonly<Record<string, DebugfsFile>> = {
  'dma-api/error_count': { doc: 'errors dma-debug found, printed or not (read-only)', read: (c) => BigInt(c.debug.errorCount) },
  'dma-api/num_errors': {
    doc: 'errors still to be printed (u32, default 1); write a number to print more',
    read: (c) => BigInt(c.debug.showNumErrors),
    write: (c, v) => {
      const n = asInt(v);
      if (n === null || n > 0xffff_ffffn) return 'num_errors takes a number 0..4294967295';
      c.debug.showNumErrors = Number(n);
      return null;
    },
  },
  'dma-api/all_errors': {
    doc: 'print every error (bool); write 1 or 0',
    read: (c) => (c.debug.showAllErrors ? 1n : 0n),
    write: (c, v) => {
      const n = asInt(v);
      if (n === null || n > 1n) return 'all_errors takes 0 or 1';
      c.debug.showAllErrors = n === 1n;
      return null;
    },
  },
  'dma-api/driver_filter': {
    doc: 'print only the errors of devices bound to this driver; an empty string turns the filter off',
    read: (c) => c.debug.driverFilter,
    write: (c, v) => {
      if (typeof v !== 'string') return 'driver_filter takes a driver name string';
      // filter_write(): the first word, at most NAME_MAX_LEN - 1 characters.
      c.debug.driverFilter = (v.trim().split(/\s+/)[0] ?? '').slice(0, 63);
      return null;
    },
  },
  'dma-api/disabled': { doc: '1 when dma-debug is off (read-only)', read: (c) => (c.debug.disabled ? 1n : 0n) },
  'swiotlb/io_tlb_nslabs': { doc: 'slots in the default pool and the pools it grew (read-only)', read: (c) => BigInt(c.swiotlb?.totalSlots ?? 0) },
  'swiotlb/io_tlb_used': { doc: 'slots in use, transient pools included (read-only)', read: (c) => BigInt(c.swiotlb?.totalUsed ?? 0) },
  'swiotlb/io_tlb_used_hiwater': {
    doc: 'the most slots ever in use; write 0 to reset it',
    read: (c) => BigInt(c.swiotlb?.hiwater ?? 0),
    write: (c, v) => {
      // io_tlb_hiwater_set(): only 0 is accepted.
      if (asInt(v) !== 0n) return 'io_tlb_used_hiwater can only be reset to 0';
      c.swiotlb?.resetHiwater();
      return null;
    },
  },
  'swiotlb/io_tlb_transient_nslabs': { doc: 'slots in transient pools (CONFIG_SWIOTLB_DYNAMIC, read-only)', read: (c) => BigInt(c.swiotlb?.transientNslabs ?? 0) },
};

export const DEBUGFS_PATHS: readonly string[] = Object.keys(FILES);
export const DEBUGFS_WRITABLE: readonly string[] = DEBUGFS_PATHS.filter((p) => FILES[p]?.write !== undefined);

function file(path: string): DebugfsFile {
  const f = FILES[path.replace(/^\/?(sys\/kernel\/debug\/)?/, '')];
  if (!f) throw new RangeError(`no debugfs file ${path}; there are ${DEBUGFS_PATHS.join(', ')}`);
  return f;
}

export function debugfsRead(ctx: EngineCtx, path: string): DebugfsValue {
  return file(path).read(ctx);
}

/** Writes a debugfs file; an error text when the kernel would refuse it (-EINVAL, or -EACCES for a read-only file). */
export function debugfsWrite(ctx: EngineCtx, path: string, v: DebugfsValue): string | null {
  const f = file(path);
  if (!f.write) return `${path} is read-only`;
  return f.write(ctx, v);
}
