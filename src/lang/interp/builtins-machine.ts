// Builtins for the machine a scenario runs on rather than a kernel API:
// the CPU the following calls run on, and the debugfs files of dma-debug and
// swiotlb (engine/debugfs.ts), read with `cat` and written with `echo`.

import { debugfsRead, debugfsWrite } from '../../engine/debugfs';
import { EINVAL } from '../../engine/errno';
import type { BuiltinBinding } from './builtin-types';
import { smallInt } from './coerce';
import { RuntimeError } from './runtime-error';
import type { Value } from './values';

function path(v: Value): string {
  if (typeof v !== 'string') throw new RuntimeError('a debugfs path such as "dma-api/error_count" or "swiotlb/io_tlb_used"');
  return v;
}

function guarded<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) throw new RuntimeError(e.message);
    throw e;
  }
}

export const MACHINE_BUILTINS: Readonly<Record<string, BuiltinBinding>> = {
  set_cpu: {
    min: 1, max: 1,
    impl: (c, [cpu]) => {
      const n = smallInt(cpu, 'cpu', 1 << 20);
      if (n >= c.m.platform.cpus) throw new RuntimeError(`cpu ${n} does not exist: the platform has ${c.m.platform.cpus} CPUs (0..${c.m.platform.cpus - 1})`);
      c.m.cpu = n;
      c.m.trace.emit('engine:set_cpu', { cpu: n });
      return null;
    },
  },
  debugfs_read: {
    min: 1, max: 1,
    impl: (c, [p]) => guarded(() => debugfsRead(c.m, path(p))),
  },
  debugfs_write: {
    min: 2, max: 2,
    impl: (c, [p, v]) => {
      if (typeof v !== 'bigint' && typeof v !== 'string') throw new RuntimeError('debugfs_write writes a number or a string');
      const name = path(p);
      const refused = guarded(() => debugfsWrite(c.m, name, v));
      c.m.trace.emit('engine:debugfs_write', { path: name, value: v, ...(refused ? { refused } : {}) });
      return refused ? BigInt(-EINVAL) : 0n;
    },
  },
};
