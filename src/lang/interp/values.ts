// Runtime values of the scenario language. Integers are exact bigints
// (negative only for the -errno a failed call returns); engine objects are
// wrapped so members read like the kernel structs they stand for.

import type { CoherentAlloc } from '../../engine/dma-mapping/dma-mapping';
import type { SgTable } from '../../engine/dma-mapping/scatterlist';
import type { Device } from '../../engine/device';
import type { IommuDomain } from '../../engine/iommu/iommu-domain';
import type { Iommu } from '../../engine/iommu/iommu-instance';
import type { DmaBuffer } from '../../engine/memory/buffers';
import type { Translation } from '../../engine/device-access';
import { hex } from '../../engine/u64';
import type { JsonValue } from '../run-result';

export class BufferValue {
  constructor(readonly buf: DmaBuffer) {}
}

export class CoherentValue {
  constructor(readonly coh: CoherentAlloc, readonly device: string) {}
}

export class SgEntryValue {
  constructor(readonly table: SgTable, readonly index: number) {}
}

export class TranslateValue {
  constructor(readonly t: Translation) {}
}

export class RecordValue {
  constructor(readonly fields: Map<string, Value>) {}
}

/** A declared process address space (SVA), kept as the scenario wrote it. */
export class MmValue {
  constructor(readonly name: string, readonly maps: { addr: bigint; phys: bigint; size: bigint; read: boolean; write: boolean }[]) {}
}

/** Any engine object handed to the scenario without members of its own. */
export type HandleValue = Device | Iommu | IommuDomain | SgTable;

export type Value =
  | bigint
  | boolean
  | string
  | Uint8Array
  | Value[]
  | BufferValue
  | CoherentValue
  | SgEntryValue
  | TranslateValue
  | RecordValue
  | MmValue
  | HandleValue
  | null;

export function typeName(v: Value): string {
  if (v === null) return 'nothing';
  if (typeof v === 'bigint') return 'integer';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  return (v.constructor as { kindName?: string }).kindName ?? v.constructor.name.replace(/Value$/, '').toLowerCase();
}

export function truthy(v: Value): boolean {
  if (v === null) return false;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > 0;
  if (v instanceof Uint8Array) return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

/** The bytes a value stands for in a comparison or a write: strings as UTF-8. */
export function asBytes(v: Value): Uint8Array | null {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return new TextEncoder().encode(v);
  return null;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function valuesEqual(a: Value, b: Value): boolean {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
  if (typeof a === 'boolean' || typeof b === 'boolean') return truthy(a) === truthy(b);
  const ba = asBytes(a);
  const bb = asBytes(b);
  if (ba && bb && (a instanceof Uint8Array || b instanceof Uint8Array)) return bytesEqual(ba, bb);
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  return a === b;
}

function printableBytes(b: Uint8Array): string {
  const printable = b.every((c) => c >= 0x20 && c < 0x7f);
  if (printable) return JSON.stringify(new TextDecoder().decode(b));
  return `hex"${[...b.slice(0, 64)].map((c) => c.toString(16).padStart(2, '0')).join(' ')}${b.length > 64 ? ' ...' : ''}"`;
}

/** Short human rendering (reports, inlay hints, hovers). */
export function renderValue(v: Value): string {
  if (v === null) return 'nothing';
  if (typeof v === 'bigint') return v < 0n ? `${v}` : hex(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return printableBytes(v);
  if (Array.isArray(v)) return `[${v.slice(0, 8).map(renderValue).join(', ')}${v.length > 8 ? ', ...' : ''}]`;
  if (v instanceof BufferValue) return `${v.buf.kind} ${hex(v.buf.phys)}+${hex(v.buf.size)}`;
  if (v instanceof CoherentValue) return `coherent cpu ${hex(v.coh.cpu)} dma ${hex(v.coh.dma)}`;
  if (v instanceof SgEntryValue) {
    const e = v.table.entries[v.index];
    return `sg[${v.index}] dma ${hex(e.dmaAddress)} len ${hex(e.dmaLength)}`;
  }
  if (v instanceof TranslateValue) {
    const t = v.t;
    return t.phys !== undefined ? `phys ${hex(t.phys)}, ${t.accesses} accesses${t.iotlbHit ? ', IOTLB hit' : ''}` : `fault: ${t.fault ?? ''}`;
  }
  if (v instanceof RecordValue) return `{${[...v.fields].map(([k, x]) => `${k} = ${renderValue(x)}`).join(', ')}}`;
  if (v instanceof MmValue) return `mm ${v.name}`;
  if ('label' in v && typeof v.label === 'string') return v.label;
  if ('name' in v && typeof v.name === 'string') return v.name;
  return typeName(v);
}

/** The run output's JSON form: addresses as "0x..." strings, negative errnos as numbers. */
export function toJson(v: Value): JsonValue {
  if (v === null) return null;
  if (typeof v === 'bigint') return v < 0n ? Number(v) : hex(v);
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof Uint8Array) return printableBytes(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (v instanceof BufferValue) return { kind: v.buf.kind, phys: hex(v.buf.phys), size: hex(v.buf.size) };
  if (v instanceof CoherentValue) return { cpu: hex(v.coh.cpu), dma: hex(v.coh.dma), size: hex(v.coh.size) };
  if (v instanceof SgEntryValue) {
    const e = v.table.entries[v.index];
    return { phys: hex(e.phys), length: hex(e.length), dma_address: hex(e.dmaAddress), dma_length: hex(e.dmaLength) };
  }
  if (v instanceof TranslateValue) {
    const t = v.t;
    return {
      phys: t.phys !== undefined ? hex(t.phys) : null,
      fault: t.fault ?? null,
      iotlb_hit: t.iotlbHit,
      accesses: t.accesses,
      steps: t.steps.map((s) => ({ stage: s.stage, level: s.level, table: hex(s.table), index: s.index, desc: hex(s.desc) })),
    };
  }
  if (v instanceof RecordValue) {
    const o: Record<string, JsonValue> = {};
    for (const [k, x] of v.fields) o[k] = toJson(x);
    return o;
  }
  if (v instanceof MmValue) return { mm: v.name };
  return renderValue(v);
}
