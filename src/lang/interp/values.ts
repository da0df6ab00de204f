// Runtime values of the scenario language. Integers are exact bigints
// (negative only for the -errno a failed call returns); engine objects are
// wrapped so members read like the kernel structs they stand for.

import type { CoherentAlloc } from '../../engine/dma-mapping/dma-mapping';
import type { SgTable } from '../../engine/dma-mapping/scatterlist';
import { DmaIovaState, dmaIovaSize } from '../../engine/dma-mapping/dma-iova';
import type { Device } from '../../engine/device';
import type { IommuDomain } from '../../engine/iommu/iommu-domain';
import type { Iommu } from '../../engine/iommu/iommu-instance';
import type { PasidAttachment } from '../../engine/iommu/iommu-group';
import { iommuSvaGetPasid, type IommuSva, type MmStruct } from '../../engine/iommu/iommu-sva';
import type { DmaBuffer } from '../../engine/memory/buffers';
import type { Translation } from '../../engine/device-access';
import { hex, U64_MASK } from '../../engine/u64';
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

/** A declared process address space (SVA), as the scenario wrote it and as the engine's mm_struct. */
export class MmValue {
  constructor(readonly name: string, readonly maps: { addr: bigint; phys: bigint; size: bigint; read: boolean; write: boolean }[], readonly mm: MmStruct) {}
}

/** struct iommu_sva from iommu_sva_bind_device(): `.pasid` (iommu_sva_get_pasid), `.domain`. */
export class SvaHandleValue {
  static readonly kindName = 'sva_handle';
  constructor(readonly sva: IommuSva) {}

  member(name: string): Value | undefined {
    if (name === 'pasid') return BigInt(iommuSvaGetPasid(this.sva));
    if (name === 'domain') return this.sva.domain;
    if (name === 'users') return BigInt(this.sva.users);
    return undefined;
  }
}

/** The attach handle iommu_attach_handle_get() found: `.domain`, `.pasid`, `.type`. */
export class AttachHandleValue {
  static readonly kindName = 'attach_handle';
  constructor(readonly att: PasidAttachment, readonly pasid: number) {}

  member(name: string): Value | undefined {
    if (name === 'domain') return this.att.domain;
    if (name === 'pasid') return BigInt(this.pasid);
    if (name === 'type') return this.att.domain.type;
    return undefined;
  }
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
  | SvaHandleValue
  | AttachHandleValue
  | HandleValue
  /** struct dma_iova_state from dma_iova_try_alloc (st.addr, st.size). */
  | DmaIovaState
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
  // -EINVAL written in a scenario wraps to u64; a failed call returns it signed: compare as u64.
  if (typeof a === 'bigint' && typeof b === 'bigint') return (a & U64_MASK) === (b & U64_MASK);
  if (typeof a === 'boolean' || typeof b === 'boolean') return truthy(a) === truthy(b);
  const ba = asBytes(a);
  const bb = asBytes(b);
  if (ba && bb && (a instanceof Uint8Array || b instanceof Uint8Array)) return bytesEqual(ba, bb);
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  if (a instanceof SvaHandleValue && b instanceof SvaHandleValue) return a.sva === b.sva; // a second bind returns the same bond
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
  if (v instanceof MmValue) return `mm ${v.name}${v.mm.pasid ? ` (PASID ${v.mm.pasid})` : ''}`;
  if (v instanceof SvaHandleValue) return `iommu_sva ${v.sva.dev.busId} <-> ${v.sva.domain.mm.name}, PASID ${iommuSvaGetPasid(v.sva)}${v.sva.users > 0 ? '' : ' (unbound)'}`;
  if (v instanceof AttachHandleValue) return `attach handle PASID ${v.pasid}: ${v.att.domain.label} (${v.att.domain.type})`;
  if (v instanceof DmaIovaState) return v.__size === 0n ? 'dma_iova_state (not allocated)' : `dma_iova_state addr ${hex(v.addr)} size ${hex(dmaIovaSize(v))}${v.ended ? ' (released)' : ''}`;
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
  if (v instanceof MmValue) return { mm: v.name, pasid: v.mm.pasid };
  if (v instanceof SvaHandleValue) return { device: v.sva.dev.busId, mm: v.sva.domain.mm.name, pasid: iommuSvaGetPasid(v.sva), users: v.sva.users };
  if (v instanceof AttachHandleValue) return { pasid: v.pasid, domain: v.att.domain.label, type: v.att.domain.type };
  if (v instanceof DmaIovaState) return { addr: hex(v.addr), size: hex(dmaIovaSize(v)), use_swiotlb: v.__size !== dmaIovaSize(v) };
  return renderValue(v);
}
