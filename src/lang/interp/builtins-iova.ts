// Builtins for the two-step IOVA API (dma_iova_*), in kernel argument order.
// dma_iova_try_alloc returns the struct dma_iova_state itself (st.addr,
// st.size); it is zeroed, and dma_use_iova(st) false, when the kernel's
// dma_iova_try_alloc would return false.

import {
  DmaIovaState, dmaIovaDestroy, dmaIovaFree, dmaIovaLink, dmaIovaSync, dmaIovaTryAlloc, dmaIovaUnlink, dmaUseIova,
} from '../../engine/dma-mapping/dma-iova';
import { U64_MASK } from '../../engine/u64';
import type { BuiltinBinding } from './builtin-types';
import { address, device, direction, int, smallInt } from './coerce';
import { RuntimeError } from './runtime-error';
import { typeName, type Value } from './values';

/** Largest link, unlink or sync the emulator accepts (keeps page-table work bounded), as for dma_map_*. */
const MAX_LINK_BYTES = 1n << 36n;

function state(v: Value): DmaIovaState {
  if (v instanceof DmaIovaState) return v;
  throw new RuntimeError(`state must be the value dma_iova_try_alloc returned, got ${typeName(v)}`);
}

/** A size_t or u64 argument: any unsigned 64-bit value. */
function u64Arg(v: Value, what: string): bigint {
  const n = int(v, what);
  if (n < 0n || n > U64_MASK) throw new RuntimeError(`${what} = ${n} is out of range (0..${U64_MASK})`);
  return n;
}

/** A byte count the IOMMU will map or unmap: 0 is allowed (the kernel accepts it), huge ones are not. */
function linkSize(v: Value, what: string): bigint {
  const n = int(v, what);
  if (n < 0n || n > MAX_LINK_BYTES) throw new RuntimeError(`${what} = ${n} is out of range (0..${MAX_LINK_BYTES})`);
  return n;
}

function attrsArg(args: Value[], i: number): number {
  return args.length > i ? smallInt(args[i], 'attrs', 0xffff_ffff) : 0;
}

export const IOVA_BUILTINS: Readonly<Record<string, BuiltinBinding>> = {
  dma_iova_try_alloc: {
    min: 3, max: 3,
    impl: (c, [dev, phys, size]) => dmaIovaTryAlloc(c.m, device(dev), address(phys, 'phys'), u64Arg(size, 'size')),
  },
  dma_use_iova: {
    min: 1, max: 1,
    impl: (_c, [st]) => dmaUseIova(state(st)),
  },
  dma_iova_link: {
    min: 6, max: 7,
    impl: (c, args) =>
      BigInt(dmaIovaLink(c.m, device(args[0]), state(args[1]), address(args[2], 'phys'), u64Arg(args[3], 'offset'), linkSize(args[4], 'size'), direction(args[5]), attrsArg(args, 6))),
  },
  dma_iova_sync: {
    min: 4, max: 4,
    impl: (c, [dev, st, offset, size]) => BigInt(dmaIovaSync(c.m, device(dev), state(st), u64Arg(offset, 'offset'), linkSize(size, 'size'))),
  },
  dma_iova_unlink: {
    min: 5, max: 6,
    impl: (c, args) => {
      dmaIovaUnlink(c.m, device(args[0]), state(args[1]), u64Arg(args[2], 'offset'), linkSize(args[3], 'size'), direction(args[4]), attrsArg(args, 5));
      return null;
    },
  },
  dma_iova_destroy: {
    min: 4, max: 5,
    impl: (c, args) => {
      dmaIovaDestroy(c.m, device(args[0]), state(args[1]), linkSize(args[2], 'mapped_len'), direction(args[3]), attrsArg(args, 4));
      return null;
    },
  },
  dma_iova_free: {
    min: 2, max: 2,
    impl: (c, [dev, st]) => {
      dmaIovaFree(c.m, device(dev), state(st));
      return null;
    },
  },
};
