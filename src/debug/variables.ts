// DAP variables from plain values (the engine views of src/engine/inspect and
// the scenario's variables): objects and arrays become expandable entries,
// long arrays are paged, buffers and mappings carry a memory reference for
// "View Binary Data".

import type { DebugProtocol } from '@vscode/debugprotocol';

/** A value shown in Variables: a JSON-like tree. */
export type Shown = string | number | boolean | null | undefined | Shown[] | { [key: string]: Shown };

/** Arrays longer than this are paged (indexedVariables). */
export const PAGE = 100;

/** Key of a value's own memory reference (set where the fields do not say it, e.g. an IOVA range's device view); not shown as a child. */
export const MEMORY_KEY = '$memory';

/** Past this, references start again from 1 (DAP clients keep them as 32-bit integers). */
const LAST_REFERENCE = 0x7fff_0000;

/**
 * The expandable values of one stop. References are never reused across
 * stops: a client may still ask for a child of the previous stop's tree
 * after the next stop (VS Code redraws Variables a moment after a stop), and
 * that must get nothing rather than the children of whatever value the new
 * stop numbered the same.
 */
export class VariableStore {
  private items: { value: Shown; path: string[] }[] = [];
  /** The reference of items[0], minus one. */
  private base = 0;

  clear(): void {
    this.base += this.items.length;
    if (this.base > LAST_REFERENCE) this.base = 0;
    this.items = [];
  }

  /** A reference for an expandable value (0 for a leaf). */
  add(value: Shown, path: string[] = []): number {
    if (value === null || typeof value !== 'object') return 0;
    this.items.push({ value, path });
    return this.base + this.items.length;
  }

  private item(ref: number): { value: Shown; path: string[] } | undefined {
    return Number.isInteger(ref) && ref > this.base ? this.items[ref - this.base - 1] : undefined;
  }

  /** The value behind reference `ref` (the parent of a variable being set). */
  value(ref: number): Shown {
    return this.item(ref)?.value;
  }

  /** The child `name` of reference `ref` (a data breakpoint's target). */
  child(ref: number, name: string): Shown {
    const item = this.item(ref);
    if (!item || item.value === null || typeof item.value !== 'object') return undefined;
    if (Array.isArray(item.value)) return item.value[Number(/^\[(\d+)\]$/.exec(name)?.[1] ?? NaN)];
    return item.value[name];
  }

  /** The children of reference `ref`, a page of them for a long array. */
  children(ref: number, start?: number, count?: number): DebugProtocol.Variable[] {
    const item = this.item(ref);
    if (!item || item.value === null || typeof item.value !== 'object') return [];
    const entries: [string, Shown][] = Array.isArray(item.value)
      ? item.value.map((v, i) => [`[${i}]`, v] as [string, Shown]).slice(start ?? 0, count ? (start ?? 0) + count : undefined)
      : Object.entries(item.value).filter(([k]) => k !== MEMORY_KEY);
    return entries.map(([name, v]) => this.variable(name, v, [...item.path, name]));
  }

  variable(name: string, v: Shown, path: string[] = [name]): DebugProtocol.Variable {
    const ref = this.add(v, path);
    const out: DebugProtocol.Variable = { name, value: summary(v), variablesReference: ref };
    if (Array.isArray(v) && v.length > PAGE) out.indexedVariables = v.length;
    const mem = memoryReferenceOf(v);
    if (mem) out.memoryReference = mem;
    return out;
  }
}

/** One line for a value: leaves as they are, objects by their most telling fields. */
export function summary(v: Shown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `[${v.length}]`;
  const o = v;
  for (const key of ['label', 'name', 'iova', 'dma', 'phys', 'start']) {
    if (typeof o[key] === 'string' || typeof o[key] === 'number') {
      const extra = key === 'iova' && typeof o.phys === 'string' ? ` -> ${o.phys}` : typeof o.size === 'string' ? ` +${o.size}` : '';
      return `${String(o[key])}${extra}`;
    }
  }
  return `{${Object.keys(o).slice(0, 4).join(', ')}${Object.keys(o).length > 4 ? ', ...' : ''}}`;
}

/**
 * Where "View Binary Data" reads a value's bytes: `phys:ADDR:SIZE` for a CPU
 * buffer (the CPU's view, caches included), `dev:DEVICE:IOVA:SIZE` for a
 * mapping (the device's view through its IOMMU; `dev:DEVICE@PASID:...` with
 * a PASID).
 */
export function memoryReferenceOf(v: Shown): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  if (typeof v[MEMORY_KEY] === 'string') return v[MEMORY_KEY];
  const hexish = (x: Shown): x is string => typeof x === 'string' && /^0x[0-9a-f]+$/.test(x);
  if (typeof v.device === 'string' && hexish(v.dma) && hexish(v.size)) return `dev:${v.device}:${v.dma}:${v.size}`;
  if (hexish(v.phys) && hexish(v.size)) return `phys:${v.phys}:${v.size}`;
  return undefined;
}

export interface MemoryRef {
  space: 'phys' | 'dev';
  device?: string;
  /** The PASID a device reads with (`dev:eth0@1:...`), null for none. */
  pasid?: number | null;
  addr: bigint;
  size: bigint;
}

/** Reads a memory reference back; undefined for anything malformed (it may come from a client). */
export function parseMemoryReference(ref: string): MemoryRef | undefined {
  const phys = /^phys:(0x[0-9a-f]+):(0x[0-9a-f]+)$/.exec(ref);
  if (phys) return { space: 'phys', addr: BigInt(phys[1]), size: BigInt(phys[2]) };
  const dev = /^dev:([\w.:-]+?)(?:@(\d{1,7}))?:(0x[0-9a-f]+):(0x[0-9a-f]+)$/.exec(ref);
  if (dev) return { space: 'dev', device: dev[1], pasid: dev[2] !== undefined ? Number(dev[2]) : null, addr: BigInt(dev[3]), size: BigInt(dev[4]) };
  return undefined;
}
