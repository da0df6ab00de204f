// What one page-table descriptor says, field by field, in the words of its
// format's spec and driver: the walk panel shows these beside each read.
// Each decoder follows the walker of its format in src/engine/io-pgtable
// (which descriptors are tables, blocks, pages or invalid at a level), so the
// panel never tells a different story from the walk itself. The fields of
// each format are tables of bits (FieldSpec) read by one reader; a decoder
// only says what the descriptor is at its level.

import { ArmLpaeIoPgtable, armLpaeGranulePageSizes } from '../io-pgtable/arm-lpae';
import { ptePageSize } from '../io-pgtable/amd-v1';
import { AppleDartIoPgtable } from '../io-pgtable/apple-dart';
import { GenericIoPgtable } from '../io-pgtable/generic-pt';
import type { IoPgtableOps } from '../io-pgtable/types';
import type { PgtableFormat } from '../iommu/iommu-kinds';
import { hex } from '../u64';
import type { Hex } from './types';

export type DescriptorKind = 'table' | 'block' | 'page' | 'invalid';

/** One field of a descriptor: its name as the spec spells it, its bits, its value and what that value means here. */
export interface DescriptorField {
  name: string;
  /** "7" or "9:8". */
  bits: string;
  value: string;
  meaning: string;
}

export interface DescriptorBits {
  format: PgtableFormat;
  kind: DescriptorKind;
  /** Tables: the next table's address; leaves: the output address of the page or block. */
  address: Hex | null;
  /** Leaves: bytes the page or block maps. */
  size: Hex | null;
  /** Leaves: what this descriptor grants (tables: what it lets through, for formats that AND permissions over levels). */
  read: boolean | null;
  write: boolean | null;
  /** Why the walker treats it as invalid, when it does. */
  invalidWhy: string | null;
  fields: DescriptorField[];
}

/** A field of a descriptor as data: one bit and what it means set and clear, or a range of bits and what each value means. */
type FieldSpec =
  | { name: string; bit: number; set: string; clear: string }
  | { name: string; hi: number; lo: number; meaning: (v: number) => string; hexValue?: boolean };

function bit(desc: bigint, n: number): number {
  return Number((desc >> BigInt(n)) & 1n);
}

function bitsOf(desc: bigint, hi: number, lo: number): number {
  return Number((desc >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n));
}

function field(name: string, hi: number, lo: number, value: number | string, meaning: string): DescriptorField {
  return { name, bits: hi === lo ? String(hi) : `${hi}:${lo}`, value: typeof value === 'number' ? String(value) : value, meaning };
}

function readField(desc: bigint, spec: FieldSpec): DescriptorField {
  if ('bit' in spec) {
    const v = bit(desc, spec.bit);
    return field(spec.name, spec.bit, spec.bit, v, v ? spec.set : spec.clear);
  }
  const v = bitsOf(desc, spec.hi, spec.lo);
  return field(spec.name, spec.hi, spec.lo, spec.hexValue ? hex(v) : v, spec.meaning(v));
}

function readFields(desc: bigint, specs: readonly FieldSpec[]): DescriptorField[] {
  return specs.map((spec) => readField(desc, spec));
}

function invalid(format: PgtableFormat, why: string, fields: DescriptorField[]): DescriptorBits {
  return { format, kind: 'invalid', address: null, size: null, read: null, write: null, invalidWhy: why, fields };
}

/** A descriptor that points to the next table (`read`/`write`: what it lets through, where permissions are ANDed over levels). */
function table(format: PgtableFormat, next: bigint, fields: DescriptorField[], read: boolean | null = null, write: boolean | null = null): DescriptorBits {
  return { format, kind: 'table', address: hex(next), size: null, read, write, invalidWhy: null, fields };
}

/** A page or block: `size` bytes at `out`. */
function leaf(format: PgtableFormat, kind: 'page' | 'block', out: bigint, size: bigint, read: boolean, write: boolean, fields: DescriptorField[]): DescriptorBits {
  return { format, kind, address: hex(out), size: hex(size), read, write, invalidWhy: null, fields };
}

/** A leaf's output address field: the page or block it maps. */
function outputField(name: string, hi: number, lo: number, out: bigint, size: bigint, what = 'page'): DescriptorField {
  return field(name, hi, lo, hex(out), `${what} of ${hex(size)}`);
}

// ---- Arm LPAE (VMSAv8-64), io-pgtable-arm.c ----

const ARM_SH = ['non-shareable', 'reserved', 'outer shareable', 'inner shareable'];
/** MAIR slots as arm_lpae_alloc_pgtable_s1 programs them (ARM_LPAE_MAIR_ATTR_IDX_*). */
const ARM_ATTR_INDX = ['normal non-cacheable (IDX_NC)', 'normal write-back cacheable (IDX_CACHE)', 'device nGnRE (IDX_DEV)', 'inner non-cacheable, outer write-back (IDX_INC_OCACHE)'];

function armS2MemAttr(v: number): string {
  if (v === 0xf) return 'normal write-back cacheable (MEMATTR_OIWB)';
  if (v === 0x5) return 'normal non-cacheable (MEMATTR_NC)';
  if (v === 0x1) return 'device nGnRE (MEMATTR_DEV)';
  return 'other';
}

const ARM_VALID: FieldSpec = { name: 'valid', bit: 0, set: 'valid', clear: 'invalid: translation fault' };
/** What a table descriptor limits below it (after its address). */
const ARM_TABLE_LIMITS: readonly FieldSpec[] = [
  { name: 'PXNTable', bit: 59, set: 'privileged execute never below', clear: 'no limit' },
  { name: 'XNTable', bit: 60, set: 'execute never below', clear: 'no limit' },
  { name: 'APTable', hi: 62, lo: 61, meaning: (v) => (v === 0 ? 'no limit on access below' : 'limits access below') },
  { name: 'NSTable', bit: 63, set: 'non-secure', clear: 'secure state as requested' },
];
const ARM_SH_FIELD: FieldSpec = { name: 'SH', hi: 9, lo: 8, meaning: (v) => ARM_SH[v] };
const ARM_AF: FieldSpec = { name: 'AF', bit: 10, set: 'accessed', clear: 'access flag fault on use' };
/** Stage 1 leaf attributes before the output address, and the execute-never bits after it. */
const ARM_S1_ATTRS: readonly FieldSpec[] = [
  { name: 'AttrIndx', hi: 4, lo: 2, meaning: (v) => ARM_ATTR_INDX[v] ?? 'unused MAIR slot' },
  { name: 'AP[1]', bit: 6, set: 'unprivileged access allowed (no IOMMU_PRIV)', clear: 'privileged only (IOMMU_PRIV)' },
  { name: 'AP[2]', bit: 7, set: 'read-only', clear: 'read/write' },
  ARM_SH_FIELD,
  ARM_AF,
  { name: 'nG', bit: 11, set: 'not global (ASID-tagged)', clear: 'global' },
];
const ARM_S1_XN: readonly FieldSpec[] = [
  { name: 'PXN', bit: 53, set: 'privileged execute never', clear: 'executable' },
  { name: 'UXN', bit: 54, set: 'execute never (IOMMU_NOEXEC)', clear: 'executable' },
];
/** Stage 2 leaf attributes before the output address (S2AP: bit 6 read, bit 7 write), and XN after it. */
const ARM_S2_ATTRS: readonly FieldSpec[] = [
  { name: 'MemAttr', hi: 5, lo: 2, hexValue: true, meaning: armS2MemAttr },
  { name: 'S2AP', hi: 7, lo: 6, meaning: (v) => (v === 3 ? 'read/write' : v === 1 ? 'read-only' : v === 2 ? 'write-only' : 'no access (permission fault)') },
  ARM_SH_FIELD,
  ARM_AF,
];
const ARM_S2_XN: readonly FieldSpec[] = [{ name: 'XN', hi: 54, lo: 53, meaning: (v) => (v ? 'execute never (IOMMU_NOEXEC)' : 'executable') }];

function decodeArmLpae(fmt: PgtableFormat, ops: ArmLpaeIoPgtable, desc: bigint, level: number): DescriptorBits {
  const type = bitsOf(desc, 1, 0);
  const valid = readField(desc, ARM_VALID);
  const last = level === 3;
  const typeField = field('type', 1, 1, bit(desc, 1), last ? (bit(desc, 1) ? 'page' : 'reserved at level 3') : bit(desc, 1) ? 'table' : 'block');
  if (!(desc & 1n)) return invalid(fmt, 'bit 0 (valid) is clear', [valid]);
  if (!last && type === 3) {
    const next = ops.iopteToPaddr(desc);
    return table(fmt, next, [valid, typeField, field('next-level table address', 47, 12, hex(next), `level-${level + 1} table`), ...readFields(desc, ARM_TABLE_LIMITS)]);
  }
  const size = ops.blockSize(level);
  const isPage = last && type === 3;
  const isBlock = !last && type === 1;
  if (!isPage && !isBlock) return invalid(fmt, last ? 'type 0b01 is reserved at level 3' : 'reserved descriptor type', [valid, typeField]);
  if (isBlock && (armLpaeGranulePageSizes(ops.granule, ops.cfg.oas) & size) === 0n) {
    return invalid(fmt, `a ${hex(ops.granule)} granule has no block descriptors at level ${level}`, [valid, typeField]);
  }
  const out = ops.iopteToPaddr(desc) & ~(size - 1n);
  const kind = isPage ? 'page' : 'block';
  const output = outputField('output address', 47, 12, out, size, kind);
  if (ops.stage === 1) {
    return leaf(fmt, kind, out, size, true, bit(desc, 7) === 0, [valid, typeField, ...readFields(desc, ARM_S1_ATTRS), output, ...readFields(desc, ARM_S1_XN)]);
  }
  return leaf(fmt, kind, out, size, bit(desc, 6) === 1, bit(desc, 7) === 1, [valid, typeField, ...readFields(desc, ARM_S2_ATTRS), output, ...readFields(desc, ARM_S2_XN)]);
}

// ---- Intel VT-d (intel/iommu.c dma_pte), both stages ----

function vtdAddr(desc: bigint): bigint {
  return desc & (((1n << 52n) - 1n) & ~0xfffn);
}

/** Both stages: level 1 is a page; PS makes a level-2 (2M) or level-3 (1G) entry a leaf and is reserved elsewhere. */
function vtdShape(desc: bigint, level: number): 'table' | 'leaf' | 'reserved PS' {
  if (level === 1 || ((level === 2 || level === 3) && bit(desc, 7) === 1)) return 'leaf';
  return bit(desc, 7) ? 'reserved PS' : 'table';
}

/** A VT-d leaf at `level`: a 4K page at level 1, a superpage above. */
function vtdLeaf(fmt: PgtableFormat, desc: bigint, level: number, read: boolean, write: boolean, fields: (output: DescriptorField) => DescriptorField[]): DescriptorBits {
  const size = 0x1000n << BigInt(9 * (level - 1));
  const out = vtdAddr(desc) & ~(size - 1n);
  return leaf(fmt, level === 1 ? 'page' : 'block', out, size, read, write, fields(outputField('address', 51, 12, out, size)));
}

const VTD_SECOND_RW: readonly FieldSpec[] = [
  { name: 'R', bit: 0, set: 'read allowed (DMA_PTE_READ)', clear: 'no read' },
  { name: 'W', bit: 1, set: 'write allowed (DMA_PTE_WRITE)', clear: 'no write' },
];
const VTD_SECOND_PS: FieldSpec = { name: 'PS', bit: 7, set: 'superpage (DMA_PTE_LARGE_PAGE)', clear: 'points to a table' };
const VTD_SNP: FieldSpec = { name: 'SNP', bit: 11, set: 'snoop (DMA_PTE_SNP)', clear: 'no snoop forced' };

/** Second-stage tables: R and W ANDed over the levels, PS at levels 2 (2M) and 3 (1G). */
function decodeVtdSecond(desc: bigint, level: number): DescriptorBits {
  const fmt: PgtableFormat = 'vtd-second';
  const r = bit(desc, 0) === 1;
  const w = bit(desc, 1) === 1;
  const rw = readFields(desc, VTD_SECOND_RW);
  if (!r && !w) return invalid(fmt, 'neither R nor W is set: not present', rw);
  const ps = readField(desc, VTD_SECOND_PS);
  const shape = vtdShape(desc, level);
  if (shape === 'reserved PS') return invalid(fmt, `PS is reserved at level ${level}`, [...rw, ps]);
  if (shape === 'table') return table(fmt, vtdAddr(desc), [...rw, ps, field('address', 51, 12, hex(vtdAddr(desc)), `level-${level - 1} table`)], r, w);
  return vtdLeaf(fmt, desc, level, r, w, (output) => [...rw, ...(level > 1 ? [ps] : []), readField(desc, VTD_SNP), output]);
}

const VTD_FIRST_PRESENT: FieldSpec = { name: 'P', bit: 0, set: 'present', clear: 'not present' };
/** The bits every first-stage entry has, after P. */
const VTD_FIRST_BASE: readonly FieldSpec[] = [
  { name: 'R/W', bit: 1, set: 'writable', clear: 'read-only' },
  { name: 'U/S', bit: 2, set: 'user accessible', clear: 'supervisor only: user requests fault' },
  { name: 'PWT', bit: 3, set: 'write-through', clear: 'write-back' },
  { name: 'PCD', bit: 4, set: 'cache disabled', clear: 'cacheable' },
  { name: 'A', bit: 5, set: 'accessed', clear: 'not accessed yet' },
];
const VTD_FIRST_PS: FieldSpec = { name: 'PS', bit: 7, set: 'superpage', clear: 'points to a table' };
const VTD_FIRST_DIRTY: FieldSpec = { name: 'D', bit: 6, set: 'dirty', clear: 'clean' };
const VTD_FIRST_GLOBAL: FieldSpec = { name: 'G', bit: 8, set: 'global', clear: 'not global' };
const VTD_FIRST_XD: FieldSpec = { name: 'XD', bit: 63, set: 'execute disable', clear: 'executable' };

/** First-stage tables: x86-64 paging. Requests without PASID are user requests, so every level needs U/S. */
function decodeVtdFirst(desc: bigint, level: number): DescriptorBits {
  const fmt: PgtableFormat = 'vtd-first';
  const p = readField(desc, VTD_FIRST_PRESENT);
  if (!(desc & 1n)) return invalid(fmt, 'P (present) is clear', [p]);
  const us = bit(desc, 2) === 1;
  const write = us && bit(desc, 1) === 1;
  const base = [p, ...readFields(desc, VTD_FIRST_BASE)];
  const ps = readField(desc, VTD_FIRST_PS);
  const shape = vtdShape(desc, level);
  if (shape === 'reserved PS') return invalid(fmt, `PS is reserved at level ${level}`, [...base, ps]);
  const xd = readField(desc, VTD_FIRST_XD);
  if (shape === 'table') return table(fmt, vtdAddr(desc), [...base, ps, field('address', 51, 12, hex(vtdAddr(desc)), `level-${level - 1} table`), xd], us, write);
  return vtdLeaf(fmt, desc, level, us, write, (output) => [...base, readField(desc, VTD_FIRST_DIRTY), ...(level > 1 ? [ps] : []), readField(desc, VTD_FIRST_GLOBAL), output, xd]);
}

// ---- AMD IOMMU v1, amd/io_pgtable.c ----

const AMD_PRESENT: FieldSpec = { name: 'PR', bit: 0, set: 'present', clear: 'not present' };
const AMD_NEXT_LEVEL: FieldSpec = {
  name: 'NextLevel', hi: 11, lo: 9,
  meaning: (v) => (v === 0 ? 'leaf of this level\'s natural size' : v === 7 ? 'leaf, size encoded in the address bits' : `table of level ${v}`),
};
/** The bits after the address. */
const AMD_FLAGS: readonly FieldSpec[] = [
  { name: 'U', bit: 59, set: 'untranslated (ATS) access allowed', clear: 'no' },
  { name: 'FC', bit: 60, set: 'force coherent', clear: 'not forced' },
  { name: 'IR', bit: 61, set: 'read allowed', clear: 'no read' },
  { name: 'IW', bit: 62, set: 'write allowed', clear: 'no write' },
];

function decodeAmdV1(desc: bigint, level: number): DescriptorBits {
  const fmt: PgtableFormat = 'amd-v1';
  const pr = readField(desc, AMD_PRESENT);
  if (!(desc & 1n)) return invalid(fmt, 'PR (present) is clear', [pr]);
  const next = bitsOf(desc, 11, 9);
  const r = bit(desc, 61) === 1;
  const w = bit(desc, 62) === 1;
  const addr = desc & 0x000ffffffffff000n;
  const withAddress = (address: DescriptorField): DescriptorField[] => [pr, readField(desc, AMD_NEXT_LEVEL), address, ...readFields(desc, AMD_FLAGS)];
  const plain = withAddress(field('address', 51, 12, hex(addr), ''));
  if (next === 0 || next === 7) {
    const size = next === 0 ? 1n << BigInt(12 + 9 * (level - 1)) : ptePageSize(desc);
    if (size >= 1n << BigInt(12 + 9 * level)) return invalid(fmt, `a ${hex(size)} page does not fit a level-${level} entry`, plain);
    const out = addr & ~(size - 1n);
    return leaf(fmt, size === 0x1000n ? 'page' : 'block', out, size, r, w, withAddress(outputField('address', 51, 12, out, size)));
  }
  if (next >= level) return invalid(fmt, `NextLevel ${next} is not below level ${level}`, plain);
  return table(fmt, addr, withAddress(field('address', 51, 12, hex(addr), `level-${next} table`)), r, w);
}

// ---- Apple DART, io-pgtable-dart.c ----

const VALID_BIT: FieldSpec = { name: 'VALID', bit: 0, set: 'valid', clear: 'invalid' };
/** The permission bits of a DART (t8103) and a DART2 (t6000) page entry. */
const DART1_PROT: readonly FieldSpec[] = [
  { name: 'SP_DIS', bit: 1, set: 'subpage protection disabled', clear: 'subpage protection on' },
  { name: 'NO_WRITE', bit: 7, set: 'no write', clear: 'writable' },
  { name: 'NO_READ', bit: 8, set: 'no read', clear: 'readable' },
];
const DART2_PROT: readonly FieldSpec[] = [
  { name: 'NO_CACHE', bit: 1, set: 'not cached', clear: 'cacheable (IOMMU_CACHE)' },
  { name: 'NO_WRITE', bit: 2, set: 'no write', clear: 'writable' },
  { name: 'NO_READ', bit: 3, set: 'no read', clear: 'readable' },
];
const DART_SUBPAGES: readonly FieldSpec[] = [
  { name: 'subpage end', hi: 51, lo: 40, hexValue: true, meaning: (v) => (v === 0xfff ? 'last subpage: the end of the page' : 'last subpage the device may touch') },
  { name: 'subpage start', hi: 63, lo: 52, hexValue: true, meaning: (v) => (v === 0 ? 'first subpage: the start of the page' : 'first subpage the device may touch') },
];

function decodeAppleDart(ops: AppleDartIoPgtable, desc: bigint, level: number): DescriptorBits {
  const fmt: PgtableFormat = 'apple-dart';
  const valid = readField(desc, VALID_BIT);
  if (!(desc & 1n)) return invalid(fmt, 'VALID is clear', [valid]);
  const dart1 = ops.fmt === 'APPLE_DART';
  const addr = dart1 ? desc & (((1n << 36n) - 1n) & ~0xfffn) : (desc & (((1n << 38n) - 1n) & ~0x3ffn)) << 4n;
  const [name, hi, lo] = dart1 ? ['address', 35, 12] : ['address >> 4', 37, 10];
  if (level > 1) return table(fmt, addr, [valid, field(name, hi, lo, hex(addr), `level-${level - 1} table`)]);
  const out = addr & ~(ops.granule - 1n);
  const prot = readFields(desc, dart1 ? DART1_PROT : DART2_PROT);
  const noWrite = prot[1].value === '1';
  const noRead = prot[2].value === '1';
  return leaf(fmt, 'page', out, ops.granule, !noRead, !noWrite, [valid, ...prot, outputField(name, hi, lo, out, ops.granule), ...readFields(desc, DART_SUBPAGES)]);
}

// ---- the generic format (generic-pt.ts) ----

const GENERIC_LEAF: FieldSpec = { name: 'LEAF', bit: 1, set: 'page or block', clear: 'next-level table' };
const GENERIC_PERMS: readonly FieldSpec[] = [
  { name: 'READ', bit: 2, set: 'readable', clear: 'no read' },
  { name: 'WRITE', bit: 3, set: 'writable', clear: 'no write' },
];

function decodeGeneric(ops: GenericIoPgtable, desc: bigint, level: number): DescriptorBits {
  const fmt: PgtableFormat = 'generic';
  const valid = readField(desc, VALID_BIT);
  if (!(desc & 1n)) return invalid(fmt, 'VALID is clear', [valid]);
  const addr = desc & (((1n << 52n) - 1n) & ~0xfffn);
  const leafBit = readField(desc, GENERIC_LEAF);
  if (level !== ops.levels && bit(desc, 1) === 0) return table(fmt, addr, [valid, leafBit, field('address', 51, 12, hex(addr), `level-${level + 1} table`)]);
  const size = ops.blockSize(level);
  const out = addr & ~(size - 1n);
  return leaf(fmt, level === ops.levels ? 'page' : 'block', out, size, bit(desc, 2) === 1, bit(desc, 3) === 1, [valid, leafBit, ...readFields(desc, GENERIC_PERMS), outputField('address', 51, 12, out, size)]);
}

/** Each format's decoder; undefined when the walk's table is not of that format. */
const DECODERS: Record<PgtableFormat, (fmt: PgtableFormat, ops: IoPgtableOps, desc: bigint, level: number) => DescriptorBits | undefined> = {
  'arm-lpae-s1': (fmt, ops, desc, level) => (ops instanceof ArmLpaeIoPgtable ? decodeArmLpae(fmt, ops, desc, level) : undefined),
  'arm-lpae-s2': (fmt, ops, desc, level) => (ops instanceof ArmLpaeIoPgtable ? decodeArmLpae(fmt, ops, desc, level) : undefined),
  'vtd-second': (_fmt, _ops, desc, level) => decodeVtdSecond(desc, level),
  'vtd-first': (_fmt, _ops, desc, level) => decodeVtdFirst(desc, level),
  'amd-v1': (_fmt, _ops, desc, level) => decodeAmdV1(desc, level),
  'apple-dart': (_fmt, ops, desc, level) => (ops instanceof AppleDartIoPgtable ? decodeAppleDart(ops, desc, level) : undefined),
  generic: (_fmt, ops, desc, level) => (ops instanceof GenericIoPgtable ? decodeGeneric(ops, desc, level) : undefined),
};

/**
 * The fields of `desc` read at `level` of a table in `fmt`. `ops` is the
 * table the walk read (its granule, stage and levels shape the decoding).
 */
export function decodeDescriptor(fmt: PgtableFormat, ops: IoPgtableOps, desc: bigint, level: number): DescriptorBits {
  return DECODERS[fmt](fmt, ops, desc, level) ?? invalid(fmt, `no decoder for a ${ops.name} table as ${fmt}`, []);
}
