// Number and value formatting shared by hovers, inlay hints and lenses.

import { errnoName } from '../../engine/errno';

const U64 = (1n << 64n) - 1n;

export function hex(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/** Parses a RunResult number: a "0x..." string, a decimal string or a number. Undefined when it is none. */
export function toBigInt(v: unknown): bigint | undefined {
  try {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : undefined;
    if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|-?[0-9]+)$/.test(v)) return BigInt(v);
  } catch {
    return undefined;
  }
  return undefined;
}

/** `16 KiB`, `1.5 MiB`, `12 bytes`: a byte count for people. */
export function humanSize(v: bigint): string {
  if (v < 0n) return `${v} bytes`;
  const units: [string, bigint][] = [['EiB', 1n << 60n], ['PiB', 1n << 50n], ['TiB', 1n << 40n], ['GiB', 1n << 30n], ['MiB', 1n << 20n], ['KiB', 1n << 10n]];
  for (const [name, unit] of units) {
    if (v >= unit) {
      if (v % unit === 0n) return `${v / unit} ${name}`;
      const tenths = (v * 10n) / unit;
      return `≈ ${tenths / 10n}.${tenths % 10n} ${name}`;
    }
  }
  return v === 1n ? '1 byte' : `${v} bytes`;
}

/** `0x4000 = 16384 = 16 KiB` (the size only when it says something: 1 KiB and up). */
export function describeNumber(v: bigint): string {
  const base = `${hex(v)} = ${v}`;
  if (v < 1024n || v > U64) return base;
  const size = humanSize(v);
  return size.startsWith('≈') ? `${base} ${size}` : `${base} = ${size}`;
}

/** Low set bit (alignment) of a value, as a size: `4 KiB aligned`. */
export function alignmentOf(v: bigint): bigint {
  if (v === 0n) return 0n;
  return v & -v;
}

/** "-5" -> "-EIO", "0xffffffffffffffff" -> "DMA_MAPPING_ERROR"; other renderings unchanged. */
export function friendlyValue(rendered: string): string {
  if (/^-[0-9]+$/.test(rendered)) {
    const n = Number(rendered.slice(1));
    if (n > 0 && n <= 4095) {
      const name = errnoName(n);
      return name.startsWith('errno') ? rendered : `-${name}`;
    }
  }
  if (rendered === '0xffffffffffffffff') return 'DMA_MAPPING_ERROR';
  return rendered;
}

/** Shortens a text to `max` characters with an ellipsis. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/** Escapes text for Markdown (hover bodies). */
export function mdEscape(s: string): string {
  return s.replace(/([\\`*_{}[\]()#+!|<>])/g, '\\$1');
}
