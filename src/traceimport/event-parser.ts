// Parses one tracepoint payload by its own print format: each format string
// of event-formats.ts becomes a matcher whose conversions (%s, %llx, %zu,
// %p, ...) fill the named fields, which are then typed (hex addresses,
// decimal sizes, symbols, arrays) and mapped to the common keys.

import { EVENT_FORMATS, SYMBOLS, type EventFormat } from './event-formats';
import { traceEventClass, type TraceEventClass } from './trace-event';
import type { CaptureEventStore } from './event-store';
import { canonHex, canonHexDigits, decimalSize, hexSize, type Interner } from './values';

export interface CompiledFormat {
  /** Index in COMPILED_FORMATS: what the event store keeps for an event's format. */
  id: number;
  spec: EventFormat;
  /** Anchored at the payload's start by the sticky flag (set lastIndex), so a payload can be matched inside its line. */
  regex: RegExp;
  fields: string[];
  /** One converter per field. */
  kinds: FieldKind[];
  /** The values a 'sym' field may take (empty for the other kinds). */
  symbols: (readonly string[])[];
  /** Field k's symbols are numbers symbolNumbers[k] + their index in symbols[k], one number per (format, field, symbol) of COMPILED_FORMATS (the event store's cache of their ids). */
  symbolNumbers: number[];
  /** Where each field goes in an event: ROLE_DEVICE, ROLE_SIZE, ROLE_ADDR (the first of dma_addr/iova/dev_addr), else ROLE_OWN (under its name). */
  roles: Uint8Array;
  /**
   * `regex` with a hex field's leading zeros matched outside its group (the
   * same payloads match, the same values read): storePayloadAt's captures
   * of `%016llx` fields are then short flat strings, not slices of the line
   * (V8 slices a capture of 13 characters or more, and reads a slice's
   * characters several times slower).
   */
  storeRegex: RegExp;
  /** kinds as KIND_CODES' numbers, for storePayloadAt's switch. */
  kindCodes: Uint8Array;
  /** The format with its first conversion and what follows dropped: a payload cut by a mail client starts like this. */
  prefix: string;
  /** `prefix` without its trailing spaces. */
  head: string;
  /** The class of this format's events (one shape for all of them). */
  eventClass: TraceEventClass;
  /** The event store's slots: field k's first slot, and how many an event of this format takes. */
  slotOf: Uint8Array;
  slots: number;
  /** The field given as `device`, `addr`, `size` (-1: the format has none). */
  deviceField: number;
  addrField: number;
  sizeField: number;
}

export const ROLE_OWN = 0;
export const ROLE_DEVICE = 1;
export const ROLE_SIZE = 2;
export const ROLE_ADDR = 3;
/** The kernel's names of an event's address, given as `addr` (the first the format has). */
const ADDR_FIELDS = ['dma_addr', 'iova', 'dev_addr'];

export type FieldKind = 'dev' | 'str' | 'sym' | 'flags' | 'array' | 'hex' | 'dec' | 'int' | 'ptr' | 'opt';
/** FieldKinds as small numbers (their index here): storePayloadAt switches on them, a compare each instead of a string's. */
const KIND_CODES: readonly FieldKind[] = ['dev', 'str', 'sym', 'flags', 'array', 'hex', 'dec', 'int', 'ptr', 'opt'];
const KIND_DEV = 0;
const KIND_STR = 1;
const KIND_SYM = 2;
const KIND_FLAGS = 3;
const KIND_ARRAY = 4;
const KIND_HEX = 5;
const KIND_DEC = 6;
const KIND_INT = 7;
const KIND_PTR = 8;
const KIND_OPT = 9;

const ARRAY_FIELDS = new Set(['dma_addrs', 'sizes', 'phys_addrs']);
const FLAG_FIELDS = new Set(['attrs', 'flags']);
const SYM_FIELDS = new Set(['dir', 'force']);

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Turns a TP_printk format into a sticky regex with one group per conversion. */
export function compileFormat(spec: EventFormat, id = -1, firstSymbolNumber = 0): CompiledFormat {
  const fields = spec.args.split(' ');
  const kinds: FieldKind[] = [];
  const conv = /%(#?)(0?\d*)(ll|l|z|h)?([sdupxX])/g;
  let src = '';
  let storeSrc = '';
  let last = 0;
  let i = 0;
  let m: RegExpExecArray | null;
  let prefix: string | undefined;
  while ((m = conv.exec(spec.format)) !== null) {
    const literal = spec.format.slice(last, m.index);
    if (prefix === undefined) prefix = literal;
    const literalSrc = escapeRegex(literal).replace(/ /g, ' +');
    src += literalSrc;
    storeSrc += literalSrc;
    last = conv.lastIndex;
    const name = fields[i++];
    if (name === undefined) throw new Error(`event format ${spec.event}: more conversions than args`);
    const letter = m[4];
    let kind: FieldKind;
    if (letter === 's') {
      if (name === 'truncated') kind = 'opt';
      else if (ARRAY_FIELDS.has(name)) kind = 'array';
      else if (FLAG_FIELDS.has(name)) kind = 'flags';
      else if (SYM_FIELDS.has(name)) kind = 'sym';
      else if (name === 'device') kind = 'dev';
      else kind = 'str';
    } else if (letter === 'p') kind = 'ptr';
    else if (letter === 'x' || letter === 'X') kind = 'hex';
    else kind = name === 'err' || name === 'group' ? 'int' : 'dec';
    kinds.push(kind);
    src += groupFor(kind, m[1] === '#');
    storeSrc += kind === 'hex' && m[1] !== '#' ? '0*' + groupFor(kind, false) : groupFor(kind, m[1] === '#');
  }
  if (i !== fields.length) throw new Error(`event format ${spec.event}: ${fields.length} args for ${i} conversions`);
  const tailSrc = escapeRegex(spec.format.slice(last)).replace(/ /g, ' +') + ' *$';
  src += tailSrc;
  storeSrc += tailSrc;
  const roles = new Uint8Array(fields.length);
  let addr = false;
  fields.forEach((name, k) => {
    if (name === 'device') roles[k] = ROLE_DEVICE;
    else if (name === 'size') roles[k] = ROLE_SIZE;
    else if (ADDR_FIELDS.includes(name) && !addr) {
      roles[k] = ROLE_ADDR;
      addr = true;
    } else roles[k] = ROLE_OWN;
  });
  const slotOf = new Uint8Array(fields.length);
  let slots = 0;
  kinds.forEach((kind, k) => {
    slotOf[k] = slots;
    slots += slotsOfKind(kind);
  });
  const symbols = fields.map((name, k) => (kinds[k] === 'sym' ? (spec.symbols?.[name] ?? SYMBOLS[name] ?? []) : []));
  let symbolNumber = firstSymbolNumber;
  const symbolNumbers = symbols.map((list) => {
    const first = symbolNumber;
    symbolNumber += list.length;
    return first;
  });
  return { id, spec, kindCodes: Uint8Array.from(kinds, (k) => KIND_CODES.indexOf(k)), regex: new RegExp(src, 'y'), storeRegex: new RegExp(storeSrc, 'y'), fields, kinds, symbols, symbolNumbers, roles, prefix: prefix ?? spec.format, head: (prefix ?? spec.format).trimEnd(), eventClass: traceEventClass(), slotOf, slots, deviceField: roles.indexOf(ROLE_DEVICE), addrField: roles.indexOf(ROLE_ADDR), sizeField: roles.indexOf(ROLE_SIZE) };
}

/** 32-bit slots a value takes in the event store: hex numbers two (hi/lo halves), the rest one (a small number itself, another number's index aside, a string's id, a flag, a list's index). */
export function slotsOfKind(kind: FieldKind): number {
  return kind === 'hex' ? 2 : 1;
}

function groupFor(kind: FieldKind, alt: boolean): string {
  switch (kind) {
    case 'opt':
      return '((?: \\[TRUNCATED\\])?)';
    case 'array':
      return '(\\{[0-9a-fA-Fx,]*\\})';
    case 'flags':
      return '(\\S*)';
    case 'sym':
      return '([A-Z_]+)';
    case 'dev':
      return '(\\S+)';
    case 'str':
      return '(\\S*)';
    case 'ptr':
      return '(\\S+)';
    case 'hex':
      return alt ? '(0x[0-9a-fA-F]+|0)' : '([0-9a-fA-F]+)';
    case 'int':
      return '(-?\\d+)';
    case 'dec':
      return '(\\d+)';
  }
}

/** Every format compiled, in the table's order; an event store names an event's format by its index here. */
let symbolNumber = 0;
export const COMPILED_FORMATS: readonly CompiledFormat[] = EVENT_FORMATS.map((spec, id) => {
  const f = compileFormat(spec, id, symbolNumber);
  for (const list of f.symbols) symbolNumber += list.length;
  return f;
});

/** Symbol numbers COMPILED_FORMATS use (see CompiledFormat.symbolNumbers). */
export const SYMBOL_COUNT = symbolNumber;

/** Compiled formats by event name (newest first, as in the table). */
export const FORMATS_BY_EVENT: ReadonlyMap<string, readonly CompiledFormat[]> = (() => {
  const map = new Map<string, CompiledFormat[]>();
  for (const f of COMPILED_FORMATS) {
    const list = map.get(f.spec.event) ?? [];
    list.push(f);
    map.set(f.spec.event, list);
  }
  return map;
})();

/** FORMATS_BY_EVENT's names by their length, for formatsOfEventAt. */
const EVENTS_BY_LENGTH: readonly (readonly { name: string; first: number; last: number; formats: readonly CompiledFormat[] }[] | undefined)[] = (() => {
  const byLength: { name: string; first: number; last: number; formats: readonly CompiledFormat[] }[][] = [];
  for (const [name, formats] of FORMATS_BY_EVENT) (byLength[name.length] ??= []).push({ name, first: name.charCodeAt(0), last: name.charCodeAt(name.length - 1), formats });
  return byLength;
})();

/**
 * FORMATS_BY_EVENT.get(text.slice(from, to)), for an event name inside its
 * line: a name of another subsystem's event is told apart by its length and
 * first and last letters without being cut out, one of ours is compared
 * with its few candidates rather than hashed for a Map lookup.
 */
export function formatsOfEventAt(text: string, from: number, to: number): readonly CompiledFormat[] | undefined {
  const sameLength = EVENTS_BY_LENGTH[to - from];
  if (sameLength === undefined) return undefined;
  const first = text.charCodeAt(from);
  const last = text.charCodeAt(to - 1);
  let name: string | undefined;
  for (const e of sameLength) {
    if (e.first !== first || e.last !== last) continue;
    name ??= text.slice(from, to);
    if (name === e.name) return e.formats;
  }
  return undefined;
}

/** Event names of a system, to tell `iommu:map` from another system's `map`. */
export function systemOf(event: string): string | undefined {
  return FORMATS_BY_EVENT.get(event)?.[0].spec.system;
}

export type ParsedPayload =
  /** `values[i]` is the typed value of `format.fields[i]`. */
  | { ok: true; format: CompiledFormat; values: unknown[] }
  /** `partial`: the payload begins like one of the formats (a wrapped line may complete it). */
  | { ok: false; partial: boolean; reason: string };

function parseArray(text: string, sizes: boolean): (string | number)[] | undefined {
  const inner = text.slice(1, -1);
  if (inner === '') return [];
  const out: (string | number)[] = [];
  for (const item of inner.split(',')) {
    const v = sizes ? hexSize(item) : canonHex(item);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/**
 * Parses `payload` as event `event`, trying its formats newest first. The
 * typed values line up with the matching format's field names.
 */
export function parsePayload(event: string, payload: string, intern: Interner): ParsedPayload {
  const formats = FORMATS_BY_EVENT.get(event);
  if (!formats) return { ok: false, partial: false, reason: `no format known for event ${event}` };
  return parsePayloadAt(event, formats, payload, 0, intern);
}

/**
 * parsePayload for the payload `text.slice(start)` of a line, matched in
 * place. The payload must be trimmed already: it begins at `start` and has
 * no whitespace at its end.
 */
export function parsePayloadAt(event: string, formats: readonly CompiledFormat[], text: string, start: number, intern: Interner): ParsedPayload {
  let partial = false;
  let why = '';
  for (const f of formats) {
    f.regex.lastIndex = start;
    const m = f.regex.exec(text);
    if (!m) {
      if (f.prefix.length > 0 && text.startsWith(f.head, start)) partial = true;
      else if (f.prefix.length === 0) partial = true;
      continue;
    }
    const values: unknown[] = new Array<unknown>(f.fields.length);
    let bad: string | undefined;
    for (let k = 0; k < f.fields.length && bad === undefined; k++) {
      const name = f.fields[k];
      const text = m[k + 1];
      switch (f.kinds[k]) {
        case 'dev': {
          const d = intern.device(text);
          if (d === undefined) bad = `${name} '${text}' is not a device name`;
          else values[k] = d;
          break;
        }
        case 'sym': {
          const allowed = f.symbols[k];
          if (!allowed.includes(text)) bad = `${name}=${text} is not one of ${allowed.join(', ')}`;
          else values[k] = intern.get(text);
          break;
        }
        case 'flags':
        case 'str':
          values[k] = intern.get(text);
          break;
        case 'opt':
          values[k] = text.length > 0;
          break;
        case 'ptr':
          values[k] = intern.get(text);
          break;
        case 'array': {
          const arr = parseArray(text, name === 'sizes');
          if (arr === undefined) bad = `${name}=${text} is not a list of hex numbers`;
          else values[k] = arr;
          break;
        }
        case 'hex': {
          const h = canonHexDigits(text);
          if (h === undefined) bad = `${name}=${text} is not a 64-bit hex number`;
          else values[k] = intern.get(h);
          break;
        }
        case 'dec': {
          const n = decimalSize(text);
          if (n === undefined) bad = `${name}=${text} is not a size`;
          else values[k] = n;
          break;
        }
        case 'int':
          values[k] = Number(text);
          break;
      }
    }
    if (bad !== undefined) {
      why = bad;
      partial = false;
      continue;
    }
    return { ok: true, format: f, values };
  }
  return { ok: false, partial, reason: why || `does not match the ${event} format (${formats.map((f) => `"${f.spec.format}"`).join(' or ')})` };
}

/** The halves hexHalves found, [hi, lo]: a typed array holds a 32-bit half as it is (a module variable would box one past 2^30 each time). */
const hexHalf = new Uint32Array(2);

function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

/**
 * Reads hex digits a format's regex matched (`0x` first or not) into
 * hexHalf; false past 64 bits, as canonHexDigits refuses them.
 */
function hexHalves(text: string): boolean {
  let i = text.length > 1 && text.charCodeAt(1) === 120 && text.charCodeAt(0) === 48 ? 2 : 0;
  while (i < text.length - 1 && text.charCodeAt(i) === 48) i++;
  const len = text.length - i;
  if (len > 16) return false;
  let hi = 0;
  const loFrom = len > 8 ? text.length - 8 : i;
  for (; i < loFrom; i++) hi = hi * 16 + hexDigit(text.charCodeAt(i));
  let lo = 0;
  for (; i < text.length; i++) lo = lo * 16 + hexDigit(text.charCodeAt(i));
  hexHalf[0] = hi;
  hexHalf[1] = lo;
  return true;
}

/** A decimal the regex matched (digits only), as decimalSize reads it. */
function decimalOf(text: string): number | undefined {
  if (text.length > 15) return decimalSize(text);
  let n = 0;
  for (let i = 0; i < text.length; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  return n;
}

/**
 * parsePayloadAt straight into an event store: the first format whose
 * fields all read becomes event `store.length` (no values array, no
 * strings but the matched ones). False when no format reads it:
 * parsePayloadAt then tells why.
 */
export function storePayloadAt(formats: readonly CompiledFormat[], text: string, start: number, store: CaptureEventStore, line: number, ts: number | undefined, cpu: number | undefined, comm: number, pid: number | undefined, irqFlags: number): boolean {
  for (const f of formats) {
    const regex = f.storeRegex;
    regex.lastIndex = start;
    const m = regex.exec(text);
    if (!m) continue;
    store.begin(f, line, ts, cpu, comm, pid, irqFlags);
    let ok = true;
    for (let k = 0; k < f.fields.length && ok; k++) {
      const t = m[k + 1];
      switch (f.kindCodes[k]) {
        case KIND_DEV: {
          const id = store.deviceId(t);
          if (id < 0) ok = false;
          else store.setString(f, k, id);
          break;
        }
        case KIND_SYM: {
          const at = f.symbols[k].indexOf(t);
          if (at < 0) ok = false;
          else store.setString(f, k, store.symbolId(f, k, at));
          break;
        }
        case KIND_FLAGS:
        case KIND_STR:
        case KIND_PTR:
          store.setString(f, k, store.stringId(t));
          break;
        case KIND_OPT:
          store.setFlag(f, k, t.length > 0);
          break;
        case KIND_ARRAY: {
          const arr = parseArray(t, f.fields[k] === 'sizes');
          if (arr === undefined) ok = false;
          else store.setList(f, k, arr);
          break;
        }
        case KIND_HEX:
          if (!hexHalves(t)) ok = false;
          else store.setHex(f, k, hexHalf[0], hexHalf[1]);
          break;
        case KIND_DEC: {
          const n = decimalOf(t);
          if (n === undefined) ok = false;
          else store.setNumber(f, k, n);
          break;
        }
        case KIND_INT:
          store.setNumber(f, k, Number(t));
          break;
      }
    }
    if (ok) {
      store.commit();
      return true;
    }
  }
  return false;
}
