// What the Variables view shows of the machine and the scenario's values,
// built on the engine's views (src/engine/inspect): a domain's mapped ranges
// and IOVA allocations name the devices attached to the domain and carry the
// memory reference of what those devices read there (through the IOMMU); a
// device lists the domains it is attached to; a CPU buffer shows its first
// bytes (editable: Set Value writes them as the CPU would) and carries the
// CPU view's memory reference.

import { readCpuBytes } from '../engine/inspect';
import type { Machine } from '../engine/machine';
import type { DomainView, MachineView } from '../engine/inspect/types';
import { MEMORY_KEY, type Shown } from './variables';

/** Bytes a buffer shows in Variables (its `bytes` entry). */
export const BYTES_SHOWN = 16;
/** Bytes one Set Value on `bytes` writes at most. */
export const BYTES_SET_MAX = 4096;

/** Bytes as Variables shows them: hex pairs, e.g. `70 69 6e 67 00`. */
export function bytesText(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * A value typed into Set Value on a buffer's `bytes`: a quoted string
 * (`"pong"`, escapes \n \t \0 \\ \" \xNN) or hex bytes (`70 6f 6e 67`,
 * `0x70,0x6f`). The bytes, or why the text is neither.
 */
export function parseBytesValue(text: string): Uint8Array | string {
  const t = text.trim();
  const quoted = /^"((?:[^"\\]|\\.)*)"$/s.exec(t);
  if (quoted) {
    const out: number[] = [];
    const body = quoted[1];
    for (let i = 0; i < body.length; i++) {
      const c = body[i];
      if (c !== '\\') {
        const code = c.codePointAt(0) ?? 0;
        if (code > 0x7f) return `"${c}" is not ASCII: give its bytes in hex`;
        out.push(code);
        continue;
      }
      const n = body[++i];
      const simple: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92, '"': 34 };
      if (n in simple) out.push(simple[n]);
      else if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
        out.push(parseInt(body.slice(i + 1, i + 3), 16));
        i += 2;
      } else return `unknown escape \\${n ?? ''}`;
    }
    if (out.length === 0) return 'give at least one byte';
    if (out.length > BYTES_SET_MAX) return `at most ${BYTES_SET_MAX} bytes at once`;
    return Uint8Array.from(out);
  }
  const parts = t.split(/[\s,]+/).filter((p) => p !== '');
  if (parts.length === 0 || !parts.every((p) => /^(0x)?[0-9a-fA-F]{1,2}$/.test(p))) return 'give a quoted string ("pong") or hex bytes (70 6f 6e 67)';
  if (parts.length > BYTES_SET_MAX) return `at most ${BYTES_SET_MAX} bytes at once`;
  return Uint8Array.from(parts.map((p) => parseInt(p.replace(/^0x/, ''), 16)));
}

const HEX = /^0x[0-9a-f]+$/;

/** A CPU buffer's first bytes as the CPU sees them, added to a value that has a phys and a size. */
function withBytes(v: Shown, m: Machine | null): Shown {
  if (!m || v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  if (typeof v.phys !== 'string' || typeof v.size !== 'string' || !HEX.test(v.phys) || !HEX.test(v.size)) return v;
  const size = BigInt(v.size);
  const bytes = size > 0n ? readCpuBytes(m, BigInt(v.phys), Number(size < BigInt(BYTES_SHOWN) ? size : BigInt(BYTES_SHOWN))) : undefined;
  return bytes ? { ...v, bytes: bytesText(bytes) } : v;
}

/** The scenario's variables: buffers get their first bytes. */
export function scenarioVariables(values: Record<string, Shown>, m: Machine | null): Record<string, Shown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, withBytes(v, m)]));
}

/** The devices attached to a domain, as memory references read them: `eth0`, or `eth0@1` for PASID 1. */
function attached(d: DomainView): { name: string; ref: string }[] {
  return d.users.map((u) => {
    const p = /^(\S+) pasid (\d+)$/.exec(u);
    return p ? { name: u, ref: `${p[1]}@${p[2]}` } : { name: u, ref: u };
  });
}

/** An IOVA range of a domain: the attached devices named, and what the first of them reads there. */
function iovaRange(range: Record<string, Shown>, start: string, size: bigint, devices: { name: string; ref: string }[], iommu: string): Shown {
  if (devices.length === 0) return { ...range, devices: [] };
  return {
    ...range,
    devices: devices.map((d) => d.name),
    bytesSeenBy: `${devices[0].name} through ${iommu} (View Binary Data)`,
    [MEMORY_KEY]: `dev:${devices[0].ref}:${start}:0x${size.toString(16)}`,
  };
}

/** The Machine scope: the engine's machine view with devices and domains naming each other and memory references on ranges and buffers. */
export function machineVariables(view: MachineView, m: Machine): Shown {
  const domains = view.domains.map((d) => {
    const devs = attached(d);
    return {
      ...d,
      mappings: d.mappings.map((r) => iovaRange({ ...r }, r.iova, BigInt(r.size), devs, d.iommu)),
      iova: d.iova
        ? { ...d.iova, allocations: d.iova.allocations.map((a) => iovaRange({ ...a }, a.start, BigInt(a.last) - BigInt(a.start) + 1n, devs, d.iommu)) }
        : null,
    };
  });
  const devices = view.devices.map((dev) => ({
    ...dev,
    domains: [...new Set(view.domains.filter((d) => d.users.some((u) => u === dev.name || u.startsWith(`${dev.name} pasid `))).map((d) => d.label))],
  }));
  const buffers = view.buffers.map((b) => withBytes({ ...b } as unknown as Shown, m));
  return { ...view, devices, domains, buffers } as unknown as Shown;
}
