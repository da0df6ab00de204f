// Small value parsers shared by the readers: hex addresses, decimal sizes,
// PCI and platform device names as the kernel's dev_name() spells them.

// Patterns of the functions below, made once (a regex literal in a function is a new RegExp object at each call).
const UPPER_HEX = /[A-F]/;
const HEX_PREFIX = /^0[xX]/;
const DECIMAL_INT = /^-?\d{1,15}$/;
const DECIMAL_DIGITS = /^\d{1,16}$/;
const SHORT_BDF = /^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/;
const REDACTED_BDF = /^x+:x+\.x$/i;

const HEX_DIGITS = /^[0-9a-fA-F]+$/;

/**
 * A hex number as printed (`0x0000fe98`, `FE980000`, `%llx` without 0x) to
 * the canonical `0x` form, lowercase without leading zeros. Undefined when
 * it is not hex or has more than 16 digits after its leading zeros (u64).
 */
export function canonHex(text: string): string | undefined {
  let s = text;
  if (s.length > 1 && s.charCodeAt(0) === 48 && (s.charCodeAt(1) === 120 || s.charCodeAt(1) === 88)) s = s.slice(2);
  if (s.length === 0 || !HEX_DIGITS.test(s)) return undefined;
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 48) i++;
  s = s.slice(i);
  if (s.length > 16) return undefined;
  // Concatenation gives a fresh string: a slice would keep the whole source line alive.
  return '0x' + s.toLowerCase();
}

/** canonHex for digits a format's regex already checked: strips 0x and leading zeros, lowercases. */
export function canonHexDigits(text: string): string | undefined {
  let i = text.length > 1 && text.charCodeAt(1) === 120 && text.charCodeAt(0) === 48 ? 2 : 0;
  while (i < text.length - 1 && text.charCodeAt(i) === 48) i++;
  if (text.length - i > 16) return undefined;
  const digits = i === 0 ? text : text.slice(i);
  return '0x' + (UPPER_HEX.test(digits) ? digits.toLowerCase() : digits);
}

/** A canonical hex string to a BigInt (for replay arithmetic). */
export function hexValue(canon: string): bigint {
  return BigInt(canon);
}

/** A bigint as canonical hex. */
export function toHex(v: bigint): string {
  return '0x' + v.toString(16);
}

/** A decimal size (`%zu`, `%llu`) to a number; undefined if not a safe integer. */
export function decimalSize(text: string): number | undefined {
  if (!DECIMAL_DIGITS.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A hex size (`size 0x1000`, `sizes={0x3000}`) to a number; undefined past 2^53. */
export function hexSize(text: string): number | undefined {
  const canon = canonHex(text);
  if (canon === undefined) return undefined;
  const n = Number(canon);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses an integer written as C prints it: `0x` hex, or decimal. */
export function cInt(text: string): number | undefined {
  if (HEX_PREFIX.test(text)) return hexSize(text);
  if (DECIMAL_INT.test(text)) return Number(text);
  return undefined;
}

const BDF = /^(?:([0-9a-fA-F]{4,8}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/;

/**
 * A PCI bus/device/function as the kernel names the device: `05:00.0` and
 * `0000:05:00.0` both give `0000:05:00.0` (the log leaves out the domain
 * where the driver prints only bus:dev.fn). Undefined when not a BDF.
 */
export function pciDevName(text: string, domain = '0000'): string | undefined {
  const m = BDF.exec(text);
  if (!m) return undefined;
  const d = m[1] ?? domain;
  const dom = d === '0000' ? d : d.toLowerCase().padStart(4, '0');
  return `${dom}:${m[2].toLowerCase()}:${m[3].toLowerCase()}.${m[4]}`;
}

const DEV_NAME = /^[A-Za-z0-9_.:+@-]{1,64}$/;

/**
 * A device as the capture names it, to dev_name: a PCI address gets its
 * domain; any other name (`38200000.dwc3`, `arm-smmu-v3.2.auto`) is kept.
 * Undefined for something that cannot be a device name (a redaction such
 * as `xx:xx.x`, spaces).
 */
export function devName(text: string): string | undefined {
  const pci = pciDevName(text);
  if (pci !== undefined) return pci;
  if (SHORT_BDF.test(text)) return undefined;
  if (!DEV_NAME.test(text) || REDACTED_BDF.test(text)) return undefined;
  return text;
}

/**
 * A copy of `s` in one piece of its own: it keeps neither the line it was
 * cut from alive (V8 slices point into their parent string; a finding kept
 * to the end of a million-line import must not hold its whole line) nor the
 * pieces it was joined from (a message built by concatenation is a tree of
 * them). V8 makes neither slices nor joins below 13 characters.
 */
export function ownString(s: string): string {
  if (s.length < 13) return s;
  // Slicing a join flattens it first: the characters are copied into one new string (every code unit
  // kept), the slice points into that copy alone. Plain JS, three times cheaper than a round trip
  // through a Buffer, for 32 bytes of slice header beside the copy.
  return (' ' + s).slice(1);
}

/** Longest string SharedStrings keeps one copy of (a splat's WARNING line fits). */
const SHARED_MAX_CHARS = 160;

/**
 * One copy of each string findings repeat (device names, reasons, fault
 * types and statuses, addresses, a splat's header and call trace lines):
 * the 100,000 findings of a million-line capture share them instead of
 * each keeping copies of its own to the end of the import. Holds at most
 * `limit` strings; later ones are copied as ownString does.
 */
export class SharedStrings {
  private readonly map = new Map<string, string>();

  constructor(private readonly limit = 65_536) {}

  /** `s` in one piece of its own, the same copy for the same text. */
  get(s: string): string {
    if (s.length > SHARED_MAX_CHARS) return ownString(s);
    const have = this.map.get(s);
    if (have !== undefined) return have;
    const own = ownString(s);
    // Keyed by the copy: a key cut from a line would keep the line alive.
    if (this.map.size < this.limit) this.map.set(own, own);
    return own;
  }
}

/**
 * Replaces every string of a finding (and of its arrays) by its own copy;
 * with a pool, every string but the message (which names the finding's
 * own address or sizes) is a shared copy.
 */
export function detachStrings(rec: Record<string, unknown>, shared?: SharedStrings): void {
  // for-in walks the object's own keys without making an array of them (findings are plain objects).
  for (const key in rec) {
    const v = rec[key];
    if (typeof v === 'string') rec[key] = shared === undefined || key === 'message' || key === 'text' ? ownString(v) : shared.get(v);
    else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (typeof x === 'string') v[i] = shared === undefined ? ownString(x) : shared.get(x);
        else if (typeof x === 'object' && x !== null) detachStrings(x as Record<string, unknown>, shared);
      }
    }
  }
}

/** Interned strings: many events name the same few devices; one copy each. */
export class Interner {
  private readonly map = new Map<string, string>();
  /** Device names as printed -> dev_name (or null: not a device name). */
  private readonly devices = new Map<string, string | null>();

  /** devName(text), interned, remembered per spelling. */
  device(text: string): string | undefined {
    const known = this.devices.get(text);
    if (known !== undefined) return known ?? undefined;
    const d = devName(text);
    if (this.devices.size < 100_000) this.devices.set(ownString(text), d === undefined ? null : this.get(d));
    return d === undefined ? undefined : this.get(d);
  }

  get(s: string): string {
    const known = this.map.get(s);
    if (known !== undefined) return known;
    // A copy of its own, so the stored string does not hold on to the line it was cut from.
    const copy = ownString(s);
    this.map.set(copy, copy);
    return copy;
  }
}
