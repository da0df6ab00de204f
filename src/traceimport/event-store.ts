// The tracepoint events of an import, kept in columns: typed arrays for the
// format (which names the event's kind, system and fields), line, timestamp,
// cpu, pid, comm and irq flags, and 32-bit slots for the format's fields
// (strings by their id in one table, hex numbers as hi/lo halves, decimals as
// a double's bits, lists by index in a side array). A million events are a
// few dozen megabytes the garbage collector never walks; an event becomes
// the object users see (CaptureEvent, the same keys in the same order as
// when the import made objects) only when asked for, one at a time or a
// range at a time.

import { COMPILED_FORMATS, SYMBOL_COUNT, ROLE_ADDR, ROLE_DEVICE, ROLE_SIZE, type CompiledFormat } from './event-parser';
import type { CaptureEvent } from './types';
import { RecentIds } from './recent-ids';
import { devName, ownString } from './values';

/** What the importer and its consumers read an import's events through. */
export interface CaptureEvents extends Iterable<CaptureEvent> {
  readonly length: number;
  /** Event i as an object (a new one each call). */
  at(i: number): CaptureEvent;
  /** Events [from, to) as objects. */
  slice(from: number, to: number): CaptureEvent[];
  lineAt(i: number): number;
  /** The tracepoint's name (`map`, `dma_map_phys`). */
  kindAt(i: number): string;
  /** The trace system (`dma`, `iommu`, `swiotlb`). */
  systemAt(i: number): string;
  deviceAt(i: number): string | undefined;
  addrAt(i: number): string | undefined;
  sizeAt(i: number): number | undefined;
  /** Last line of an event joined from a cut line, else undefined. */
  endLineAt(i: number): number | undefined;
  /** The value of one of the format's own fields (`dir`, `phys_addr`, `dma_addrs`), as the event object holds it. */
  fieldAt(i: number, name: string): unknown;
  /** Which format event i has (the same number, the same event name and fields): to look a field up once per format. */
  formatIdAt(i: number): number;
  /** The index of own field `name` in format `formatId` (what fieldValueAt takes), or -1. */
  fieldIndexOf(formatId: number, name: string): number;
  /** Own field k of event i (k from fieldIndexOf for its format): fieldAt without the search by name. */
  fieldValueAt(i: number, k: number): unknown;
  /** addrAt(i) as a Number when it is a hex value below 2^52 (exact), else NaN: no text to parse back. */
  addrNumberAt(i: number): number;
}

/** Events a chunk of each column holds: columns grow a chunk at a time and are never copied (fresh memory costs more than the copy). */
const CHUNK_SHIFT = 13;
const CHUNK = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK - 1;
/** 32-bit slots a slot chunk holds; an event's slots are never split between two. */
const SLOT_CHUNK_SHIFT = 16;
const SLOT_CHUNK = 1 << SLOT_CHUNK_SHIFT;
const SLOT_MASK = SLOT_CHUNK - 1;
const NO_NUMBER = Number.NaN;
/** Device spellings deviceId remembers (as many as the Interner's devName cache). */
const DEVICE_SPELLINGS = 100_000;

/** A number slot holding this bit holds the index of the number in the store's list of other numbers. */
const ASIDE = 0x8000_0000;
/** A cpu or pid slot holding this has none. */
const NO_SMALL = 0xffff_ffff;

/** Whether v is kept in its 32-bit slot itself (an integer from 0 to 2^31 - 2; -0 is not). */
function isSmall(v: number): boolean {
  // (v | 0) === v: an integer in int32 range (or -0, which 1 / v tells apart).
  return (v | 0) === v && v >= 0 && v !== 0x7fff_ffff && (v !== 0 || 1 / v > 0);
}

/**
 * The hex strings made last, by a hash of their value: a capture names the
 * same few thousand addresses again and again, and Number#toString(16) is
 * slow enough to show in a replay of a million events.
 */
const HEX_CACHE = 16384;
const hexCacheHi = new Uint32Array(HEX_CACHE);
const hexCacheLo = new Uint32Array(HEX_CACHE);
const hexCacheText: (string | undefined)[] = new Array<string | undefined>(HEX_CACHE).fill(undefined);

/** The canonical hex (`0x` lowercase, no leading zeros) of hi:lo. */
function hexOf(hi: number, lo: number): string {
  const h = (Math.imul(lo ^ (lo >>> 12) ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 20) & (HEX_CACHE - 1);
  const known = hexCacheText[h];
  if (known !== undefined && hexCacheLo[h] === lo && hexCacheHi[h] === hi) return known;
  const text = hi === 0 ? '0x' + lo.toString(16) : '0x' + hi.toString(16) + lo.toString(16).padStart(8, '0');
  hexCacheHi[h] = hi;
  hexCacheLo[h] = lo;
  hexCacheText[h] = text;
  return text;
}

export class CaptureEventStore implements CaptureEvents {
  private n = 0;
  // Columns, a chunk of CHUNK events each.
  private readonly fmt: Uint8Array[] = [];
  private readonly lines: Int32Array[] = [];
  private readonly tss: Float64Array[] = [];
  private readonly cpus: Uint32Array[] = [];
  private readonly pids: Uint32Array[] = [];
  private readonly comms: Uint32Array[] = [];
  private readonly irqFlags: Uint32Array[] = [];
  /** Where each event's fields begin: slot chunk << SLOT_CHUNK_SHIFT | offset. */
  private readonly slotStart: Uint32Array[] = [];
  private readonly slots: Uint32Array[] = [];
  /** The last chunk of each column, where begin writes. */
  private lastFmt = new Uint8Array(0);
  private lastLines = new Int32Array(0);
  private lastTss = new Float64Array(0);
  private lastCpus = new Uint32Array(0);
  private lastPids = new Uint32Array(0);
  private lastComms = new Uint32Array(0);
  private lastIrqFlags = new Uint32Array(0);
  private lastSlotStart = new Uint32Array(0);
  /** The slots of the event being written (and its first slot's offset in them). */
  private cur: Uint32Array = new Uint32Array(0);
  private curAt = 0;
  /** Slots the event being written takes. */
  private curSlots = 0;
  /** Next free slot in the last slot chunk. */
  private slotsUsed = SLOT_CHUNK;
  /** Event index -> end line, for the few joined from a cut line. */
  private readonly endLines = new Map<number, number>();
  /** Numbers too big (or negative, or fractional) for their 32-bit slot, by the index the slot holds (with ASIDE). */
  private readonly numbers: number[] = [];
  /** Lists (dma_addrs, sizes, phys_addrs) by the index their slot holds. */
  private readonly lists: (string | number)[][] = [];
  /** Strings by id; id 0 is "none". */
  private readonly strings: string[] = [''];
  private readonly stringIds = new Map<string, number>();
  /** Devices as a capture spells them -> the store id of their dev_name (-1: not a device name), at most DEVICE_SPELLINGS. */
  private readonly deviceIds = new Map<string, number>();
  /** Store ids of the formats' symbols (`dir=TO_DEVICE`) by COMPILED_FORMATS' symbol number, -1 until first stored. */
  private readonly symbolIds = new Int32Array(SYMBOL_COUNT).fill(-1);
  /** The devices of the last few events. */
  private readonly recentDevices = new RecentIds(4, (spelling) => this.deviceIdOf(spelling));

  get length(): number {
    return this.n;
  }

  /** The id of a string in this store's table (the same string, the same id). */
  stringId(s: string): number {
    const known = this.stringIds.get(s);
    if (known !== undefined) return known;
    const id = this.strings.length;
    // A copy of its own: a string cut from a line would keep the whole line alive.
    const copy = ownString(s);
    this.strings.push(copy);
    this.stringIds.set(copy, id);
    return id;
  }

  /** The id of symbol `at` of field k of format f (one of f.symbols[k]): no hash lookup once known. */
  symbolId(f: CompiledFormat, k: number, at: number): number {
    const n = f.symbolNumbers[k] + at;
    if (f.id < 0 || n >= SYMBOL_COUNT) return this.stringId(f.symbols[k][at]);
    const known = this.symbolIds[n];
    if (known >= 0) return known;
    const id = this.stringId(f.symbols[k][at]);
    this.symbolIds[n] = id;
    return id;
  }

  /**
   * The store id of the dev_name of a device as a capture spells it
   * (devName(text)), -1 when `text` is no device name: one lookup where one
   * of the spelling and one of the name would be two.
   */
  deviceId(text: string): number {
    return this.recentDevices.get(text);
  }

  private deviceIdOf(text: string): number {
    const known = this.deviceIds.get(text);
    if (known !== undefined) return known;
    const d = devName(text);
    const id = d === undefined ? -1 : this.stringId(d);
    if (this.deviceIds.size < DEVICE_SPELLINGS) this.deviceIds.set(ownString(text), id);
    return id;
  }

  // ---- writing: begin an event, set its fields, commit (or drop it) ----------

  /**
   * Starts event `n` of format `f`; its fields are set with the set*
   * methods by field index, then commit() keeps it (or the next begin
   * overwrites it). comm and irqFlags are string ids (0: none).
   */
  begin(f: CompiledFormat, line: number, ts: number | undefined, cpu: number | undefined, comm: number, pid: number | undefined, irqFlags: number): void {
    const i = this.n;
    const j = i & CHUNK_MASK;
    // Events are written in order: event i's chunk is the last (a new one when i starts it).
    if (i >>> CHUNK_SHIFT === this.fmt.length) this.addChunk();
    if (this.slotsUsed + f.slots > SLOT_CHUNK) {
      this.cur = new Uint32Array(SLOT_CHUNK);
      this.slots.push(this.cur);
      this.slotsUsed = 0;
    }
    this.lastFmt[j] = f.id;
    this.lastLines[j] = line;
    this.lastTss[j] = ts ?? NO_NUMBER;
    this.lastCpus[j] = cpu === undefined ? NO_SMALL : this.numberSlot(cpu);
    this.lastPids[j] = pid === undefined ? NO_SMALL : this.numberSlot(pid);
    this.lastComms[j] = comm;
    this.lastIrqFlags[j] = irqFlags;
    this.lastSlotStart[j] = ((this.slots.length - 1) << SLOT_CHUNK_SHIFT) | this.slotsUsed;
    this.curAt = this.slotsUsed;
    this.curSlots = f.slots;
    // An event dropped after begin may have left its end line (there is seldom any).
    if (this.endLines.size !== 0) this.endLines.delete(i);
  }

  /** A string field (device, symbol, flags, pointer) by its id. */
  setString(f: CompiledFormat, k: number, id: number): void {
    this.cur[this.curAt + f.slotOf[k]] = id;
  }

  /** A hex field as its high and low 32 bits. */
  setHex(f: CompiledFormat, k: number, hi: number, lo: number): void {
    const s = this.curAt + f.slotOf[k];
    this.cur[s] = hi;
    this.cur[s + 1] = lo;
  }

  /** A decimal or integer field. */
  setNumber(f: CompiledFormat, k: number, v: number): void {
    this.cur[this.curAt + f.slotOf[k]] = this.numberSlot(v);
  }

  /** What a 32-bit slot holds for number v: v itself when small, else its index aside. */
  private numberSlot(v: number): number {
    if (isSmall(v)) return v;
    this.numbers.push(v);
    return (ASIDE | (this.numbers.length - 1)) >>> 0;
  }

  private numberOf(slot: number): number {
    return slot >= ASIDE ? this.numbers[slot - ASIDE] : slot;
  }

  setFlag(f: CompiledFormat, k: number, v: boolean): void {
    this.cur[this.curAt + f.slotOf[k]] = v ? 1 : 0;
  }

  setList(f: CompiledFormat, k: number, list: (string | number)[]): void {
    this.cur[this.curAt + f.slotOf[k]] = this.lists.length;
    this.lists.push(list);
  }

  /** Keeps the event begun; returns its index. */
  commit(endLine?: number): number {
    const i = this.n;
    if (endLine !== undefined) this.endLines.set(i, endLine);
    this.slotsUsed += this.curSlots;
    this.n = i + 1;
    return i;
  }

  /**
   * Adds an event from a parser's typed values (`values[k]` the value of
   * field k, as parsePayload gives them). Returns its index.
   */
  addValues(f: CompiledFormat, values: readonly unknown[], line: number, ts: number | undefined, cpu: number | undefined, comm: string | undefined, pid: number | undefined, irqFlags: string | undefined, endLine: number | undefined): number {
    this.begin(f, line, ts, cpu, comm === undefined ? 0 : this.stringId(comm), pid, irqFlags === undefined ? 0 : this.stringId(irqFlags));
    for (let k = 0; k < f.fields.length; k++) {
      const v = values[k];
      switch (f.kinds[k]) {
        case 'hex': {
          const digits = (v as string).slice(2);
          const cut = digits.length - 8;
          this.setHex(f, k, cut > 0 ? parseInt(digits.slice(0, cut), 16) : 0, parseInt(cut > 0 ? digits.slice(cut) : digits, 16));
          break;
        }
        case 'dec':
        case 'int':
          this.setNumber(f, k, v as number);
          break;
        case 'opt':
          this.setFlag(f, k, v as boolean);
          break;
        case 'array':
          this.setList(f, k, v as (string | number)[]);
          break;
        default:
          this.setString(f, k, this.stringId(v as string));
      }
    }
    return this.commit(endLine);
  }

  /**
   * A chunk of every column, as views of one buffer (the doubles first, for
   * their alignment): one allocation of 33 bytes an event instead of eight
   * of 8 to 64 KiB, which the allocator zeroes page by page (some 0.4 ms
   * each here), where one this size comes zeroed from the system.
   */
  private addChunk(): void {
    const buf = new ArrayBuffer(CHUNK * 33);
    this.tss.push((this.lastTss = new Float64Array(buf, 0, CHUNK)));
    this.lines.push((this.lastLines = new Int32Array(buf, CHUNK * 8, CHUNK)));
    this.cpus.push((this.lastCpus = new Uint32Array(buf, CHUNK * 12, CHUNK)));
    this.pids.push((this.lastPids = new Uint32Array(buf, CHUNK * 16, CHUNK)));
    this.comms.push((this.lastComms = new Uint32Array(buf, CHUNK * 20, CHUNK)));
    this.irqFlags.push((this.lastIrqFlags = new Uint32Array(buf, CHUNK * 24, CHUNK)));
    this.slotStart.push((this.lastSlotStart = new Uint32Array(buf, CHUNK * 28, CHUNK)));
    this.fmt.push((this.lastFmt = new Uint8Array(buf, CHUNK * 32, CHUNK)));
  }

  // ---- reading -----------------------------------------------------------------

  formatAt(i: number): CompiledFormat {
    return COMPILED_FORMATS[this.fmt[i >>> CHUNK_SHIFT][i & CHUNK_MASK]];
  }

  lineAt(i: number): number {
    return this.lines[i >>> CHUNK_SHIFT][i & CHUNK_MASK];
  }

  kindAt(i: number): string {
    return COMPILED_FORMATS[this.fmt[i >>> CHUNK_SHIFT][i & CHUNK_MASK]].spec.event;
  }

  systemAt(i: number): string {
    return COMPILED_FORMATS[this.fmt[i >>> CHUNK_SHIFT][i & CHUNK_MASK]].spec.system;
  }

  endLineAt(i: number): number | undefined {
    return this.endLines.size === 0 ? undefined : this.endLines.get(i);
  }

  deviceAt(i: number): string | undefined {
    const f = COMPILED_FORMATS[this.fmt[i >>> CHUNK_SHIFT][i & CHUNK_MASK]];
    return f.deviceField < 0 ? undefined : (this.valueAt(i, f, f.deviceField) as string);
  }

  addrAt(i: number): string | undefined {
    const f = COMPILED_FORMATS[this.fmt[i >>> CHUNK_SHIFT][i & CHUNK_MASK]];
    return f.addrField < 0 ? undefined : (this.valueAt(i, f, f.addrField) as string);
  }

  sizeAt(i: number): number | undefined {
    const f = COMPILED_FORMATS[this.fmt[i >>> CHUNK_SHIFT][i & CHUNK_MASK]];
    return f.sizeField < 0 ? undefined : (this.valueAt(i, f, f.sizeField) as number);
  }

  fieldAt(i: number, name: string): unknown {
    const k = this.fieldIndexOf(this.formatIdAt(i), name);
    return k < 0 ? undefined : this.fieldValueAt(i, k);
  }

  formatIdAt(i: number): number {
    return this.fmt[i >>> CHUNK_SHIFT][i & CHUNK_MASK];
  }

  fieldIndexOf(formatId: number, name: string): number {
    const f = COMPILED_FORMATS[formatId];
    const k = f.fields.indexOf(name);
    return k < 0 || f.roles[k] !== 0 ? -1 : k;
  }

  fieldValueAt(i: number, k: number): unknown {
    return this.valueAt(i, this.formatAt(i), k);
  }

  addrNumberAt(i: number): number {
    const f = this.formatAt(i);
    const k = f.addrField;
    if (k < 0 || f.kinds[k] !== 'hex') return Number.NaN;
    const at = this.slotStart[i >>> CHUNK_SHIFT][i & CHUNK_MASK];
    const slots = this.slots[at >>> SLOT_CHUNK_SHIFT];
    const s = (at & SLOT_MASK) + f.slotOf[k];
    const hi = slots[s];
    // Below 2^52 (at most 13 hex digits), as the replay's own parse of the text takes it.
    return hi < 0x10_0000 ? hi * 0x1_0000_0000 + slots[s + 1] : Number.NaN;
  }

  /** Field k of event i (of format f), as the event object holds it. */
  private valueAt(i: number, f: CompiledFormat, k: number): unknown {
    const at = this.slotStart[i >>> CHUNK_SHIFT][i & CHUNK_MASK];
    const slots = this.slots[at >>> SLOT_CHUNK_SHIFT];
    const s = (at & SLOT_MASK) + f.slotOf[k];
    switch (f.kinds[k]) {
      case 'hex':
        return hexOf(slots[s], slots[s + 1]);
      case 'dec':
      case 'int':
        return this.numberOf(slots[s]);
      case 'opt':
        return slots[s] === 1;
      case 'array':
        return this.lists[slots[s]];
      default:
        return this.strings[slots[s]];
    }
  }

  at(i: number): CaptureEvent {
    if (!(i >= 0 && i < this.n)) throw new RangeError(`event ${i} of ${this.n}`);
    const f = COMPILED_FORMATS[this.fmt[i >>> CHUNK_SHIFT][i & CHUNK_MASK]];
    const spec = f.spec;
    const c = i >>> CHUNK_SHIFT;
    const j = i & CHUNK_MASK;
    const ts = this.tss[c][j];
    const cpu = this.cpus[c][j];
    const pid = this.pids[c][j];
    const comm = this.comms[c][j];
    const irq = this.irqFlags[c][j];
    const ev = new f.eventClass(this.lines[c][j], spec.event, spec.system, ts === ts ? ts : undefined, cpu === NO_SMALL ? undefined : this.numberOf(cpu), comm === 0 ? undefined : this.strings[comm], pid === NO_SMALL ? undefined : this.numberOf(pid), irq === 0 ? undefined : this.strings[irq], spec.since, this.endLineAt(i));
    const names = f.fields;
    const roles = f.roles;
    for (let k = 0; k < names.length; k++) {
      const v = this.valueAt(i, f, k);
      switch (roles[k]) {
        case ROLE_DEVICE:
          ev.device = v as string;
          break;
        case ROLE_SIZE:
          ev.size = v as number;
          break;
        case ROLE_ADDR:
          ev.addr = v as string;
          break;
        default:
          // A list is the event's own copy: changing it changes no other object.
          ev[names[k]] = Array.isArray(v) ? v.slice() : v;
      }
    }
    if (spec.event === 'io_page_fault' && typeof ev.flags === 'string') {
      // iommu_report_fault flags: IOMMU_FAULT_WRITE is bit 0.
      ev.access = parseInt(ev.flags, 16) & 1 ? 'write' : 'read';
    }
    return ev;
  }

  slice(from: number, to: number): CaptureEvent[] {
    const out: CaptureEvent[] = [];
    const end = Math.min(to, this.n);
    for (let i = Math.max(0, from); i < end; i++) out.push(this.at(i));
    return out;
  }

  *[Symbol.iterator](): Iterator<CaptureEvent> {
    for (let i = 0; i < this.n; i++) yield this.at(i);
  }
}

/** The events of an import that kept none (`keepEvents: false`). */
export const NO_EVENTS: CaptureEvents = new CaptureEventStore();
