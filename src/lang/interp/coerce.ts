// Argument coercion for builtins: each turns a runtime value into what the
// engine takes, or throws a RuntimeError that names the argument.

import type { Device } from '../../engine/device';
import { Device as DeviceClass } from '../../engine/device';
import { validDmaDirection, type DmaDirection } from '../../engine/dma-mapping/dma-direction';
import { SgTable } from '../../engine/dma-mapping/scatterlist';
import { IommuDomain } from '../../engine/iommu/iommu-domain';
import { Iommu } from '../../engine/iommu/iommu-instance';
import { RuntimeError } from './runtime-error';
import { asBytes, BufferValue, CoherentValue, typeName, type Value } from './values';

/** Largest byte count one CPU or device access may move (keeps a typo from eating memory). */
export const MAX_ACCESS_BYTES = 64 << 20;

export function int(v: Value, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (v instanceof BufferValue) return v.buf.phys;
  throw new RuntimeError(`${what} must be an integer, got ${typeName(v)}`);
}

export function smallInt(v: Value, what: string, max: number): number {
  const n = int(v, what);
  if (n < 0n || n > BigInt(max)) throw new RuntimeError(`${what} = ${n} is out of range (0..${max})`);
  return Number(n);
}

/** A physical or DMA address: an integer, or a buffer (its phys), or a coherent allocation (its dma). */
export function address(v: Value, what: string): bigint {
  if (v instanceof CoherentValue) return v.coh.dma;
  const n = int(v, what);
  if (n < 0n) throw new RuntimeError(`${what} is negative (${n}): a failed call's errno, not an address`);
  return n;
}

export function device(v: Value, what = 'device'): Device {
  if (v instanceof DeviceClass) return v;
  throw new RuntimeError(`${what} must be a declared device, got ${typeName(v)}`);
}

export function domain(v: Value, what = 'domain'): IommuDomain {
  if (v instanceof IommuDomain) return v;
  if (typeof v === 'bigint' && v < 0n) throw new RuntimeError(`${what} is ${v}: the call that should have made the domain failed`);
  throw new RuntimeError(`${what} must be an IOMMU domain, got ${typeName(v)}`);
}

export function iommu(v: Value, what = 'iommu'): Iommu {
  if (v instanceof Iommu) return v;
  throw new RuntimeError(`${what} must be a declared iommu, got ${typeName(v)}`);
}

export function buffer(v: Value, what = 'buffer'): BufferValue {
  if (v instanceof BufferValue) return v;
  throw new RuntimeError(`${what} must be a buffer (alloc_pages, kmalloc, phys_buffer), got ${typeName(v)}`);
}

export function direction(v: Value): DmaDirection {
  // DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE and DMA_NONE (3, refused by the API later) are 0..3.
  if (typeof v === 'bigint' && v >= 0n && v <= 3n) return Number(v) as DmaDirection;
  const n = int(v, 'dir');
  if (!validDmaDirection(Number(n)) && n !== 3n) throw new RuntimeError(`dir must be DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL or DMA_NONE, got ${n}`);
  return Number(n) as DmaDirection;
}

export function bytes(v: Value, what: string): Uint8Array {
  const b = asBytes(v);
  if (!b) throw new RuntimeError(`${what} must be a string or bytes, got ${typeName(v)}`);
  if (b.length > MAX_ACCESS_BYTES) throw new RuntimeError(`${what} is larger than ${MAX_ACCESS_BYTES} bytes`);
  return b;
}

export function length(v: Value, what: string): number {
  const n = int(v, what);
  if (n < 0n || n > BigInt(MAX_ACCESS_BYTES)) throw new RuntimeError(`${what} = ${n} is out of range (0..${MAX_ACCESS_BYTES})`);
  return Number(n);
}

export function sgTable(v: Value, what = 'sgl'): SgTable {
  if (v instanceof SgTable) return v;
  throw new RuntimeError(`${what} must be an sg_table, got ${typeName(v)}`);
}

/** An optional argument given by position (at `i`) or by name, as the signature table allows both. */
export function optional(args: Value[], i: number, named: ReadonlyMap<string, Value>, name: string): Value | undefined {
  const byName = named.get(name);
  if (byName !== undefined && args.length > i) throw new RuntimeError(`${name} is given both by position and by name`);
  return byName ?? args[i];
}
