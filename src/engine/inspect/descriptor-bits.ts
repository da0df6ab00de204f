// What one page-table descriptor says, field by field, in the words of its
// format's spec and driver: the walk panel shows these beside each read.
// Each decoder follows the walker of its format in src/engine/io-pgtable
// (which descriptors are tables, blocks, pages or invalid at a level), so the
// panel never tells a different story from the walk itself.

import { ArmLpaeIoPgtable, armLpaeGranulePageSizes } from '../io-pgtable/arm-lpae';
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

function bit(desc: bigint, n: number): number {
  return Number((desc >> BigInt(n)) & 1n);
}

function bitsOf(desc: bigint, hi: number, lo: number): number {
  return Number((desc >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n));
}

function flag(desc: bigint, n: number, name: string, set: string, clear: string): DescriptorField {
  const v = bit(desc, n);
  return { name, bits: String(n), value: String(v), meaning: v ? set : clear };
}

function field(name: string, hi: number, lo: number, value: number | string, meaning: string): DescriptorField {
  return { name, bits: hi === lo ? String(hi) : `${hi}:${lo}`, value: typeof value === 'number' ? String(value) : value, meaning };
}

function invalid(format: PgtableFormat, why: string, fields: DescriptorField[]): DescriptorBits {
  return { format, kind: 'invalid', address: null, size: null, read: null, write: null, invalidWhy: why, fields };
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

function decodeArmLpae(fmt: PgtableFormat, ops: ArmLpaeIoPgtable, desc: bigint, level: number): DescriptorBits {
  const type = bitsOf(desc, 1, 0);
  const valid = flag(desc, 0, 'valid', 'valid', 'invalid: translation fault');
  const last = level === 3;
  const typeField = field('type', 1, 1, bit(desc, 1), last ? (bit(desc, 1) ? 'page' : 'reserved at level 3') : bit(desc, 1) ? 'table' : 'block');
  if (!(desc & 1n)) return invalid(fmt, 'bit 0 (valid) is clear', [valid]);
  if (!last && type === 3) {
    return {
      format: fmt,
      kind: 'table',
      address: hex(ops.iopteToPaddr(desc)),
      size: null,
      read: null,
      write: null,
      invalidWhy: null,
      fields: [
        valid,
        typeField,
        field('next-level table address', 47, 12, hex(ops.iopteToPaddr(desc)), `level-${level + 1} table`),
        flag(desc, 59, 'PXNTable', 'privileged execute never below', 'no limit'),
        flag(desc, 60, 'XNTable', 'execute never below', 'no limit'),
        field('APTable', 62, 61, bitsOf(desc, 62, 61), bitsOf(desc, 62, 61) === 0 ? 'no limit on access below' : 'limits access below'),
        flag(desc, 63, 'NSTable', 'non-secure', 'secure state as requested'),
      ],
    };
  }
  const size = ops.blockSize(level);
  const isPage = last && type === 3;
  const isBlock = !last && type === 1;
  if (!isPage && !isBlock) return invalid(fmt, last ? 'type 0b01 is reserved at level 3' : 'reserved descriptor type', [valid, typeField]);
  if (isBlock && (armLpaeGranulePageSizes(ops.granule, ops.cfg.oas) & size) === 0n) {
    return invalid(fmt, `a ${hex(ops.granule)} granule has no block descriptors at level ${level}`, [valid, typeField]);
  }
  const out = ops.iopteToPaddr(desc) & ~(size - 1n);
  const common: DescriptorField[] = [
    valid,
    typeField,
    field('SH', 9, 8, bitsOf(desc, 9, 8), ARM_SH[bitsOf(desc, 9, 8)]),
    flag(desc, 10, 'AF', 'accessed', 'access flag fault on use'),
    field('output address', 47, 12, hex(out), `${isPage ? 'page' : 'block'} of ${hex(size)}`),
  ];
  if (ops.stage === 1) {
    const readOnly = bit(desc, 7) === 1;
    return {
      format: fmt,
      kind: isPage ? 'page' : 'block',
      address: hex(out),
      size: hex(size),
      read: true,
      write: !readOnly,
      invalidWhy: null,
      fields: [
        ...common.slice(0, 2),
        field('AttrIndx', 4, 2, bitsOf(desc, 4, 2), ARM_ATTR_INDX[bitsOf(desc, 4, 2)] ?? 'unused MAIR slot'),
        flag(desc, 6, 'AP[1]', 'unprivileged access allowed (no IOMMU_PRIV)', 'privileged only (IOMMU_PRIV)'),
        flag(desc, 7, 'AP[2]', 'read-only', 'read/write'),
        ...common.slice(2, 4),
        flag(desc, 11, 'nG', 'not global (ASID-tagged)', 'global'),
        common[4],
        flag(desc, 53, 'PXN', 'privileged execute never', 'executable'),
        flag(desc, 54, 'UXN', 'execute never (IOMMU_NOEXEC)', 'executable'),
      ],
    };
  }
  const r = bit(desc, 6) === 1;
  const w = bit(desc, 7) === 1;
  return {
    format: fmt,
    kind: isPage ? 'page' : 'block',
    address: hex(out),
    size: hex(size),
    read: r,
    write: w,
    invalidWhy: null,
    fields: [
      ...common.slice(0, 2),
      field('MemAttr', 5, 2, hex(bitsOf(desc, 5, 2)), armS2MemAttr(bitsOf(desc, 5, 2))),
      field('S2AP', 7, 6, bitsOf(desc, 7, 6), r && w ? 'read/write' : r ? 'read-only' : w ? 'write-only' : 'no access (permission fault)'),
      ...common.slice(2, 4),
      common[4],
      field('XN', 54, 53, bitsOf(desc, 54, 53), bitsOf(desc, 54, 53) ? 'execute never (IOMMU_NOEXEC)' : 'executable'),
    ],
  };
}

// ---- Intel VT-d (intel/iommu.c dma_pte), both stages ----

function vtdLeafSize(level: number): bigint {
  return 0x1000n << BigInt(9 * (level - 1));
}

function vtdAddr(desc: bigint): bigint {
  return desc & (((1n << 52n) - 1n) & ~0xfffn);
}

/** Second-stage tables: R and W ANDed over the levels, PS at levels 2 (2M) and 3 (1G). */
function decodeVtdSecond(desc: bigint, level: number): DescriptorBits {
  const fmt: PgtableFormat = 'vtd-second';
  const r = bit(desc, 0) === 1;
  const w = bit(desc, 1) === 1;
  const rw = [flag(desc, 0, 'R', 'read allowed (DMA_PTE_READ)', 'no read'), flag(desc, 1, 'W', 'write allowed (DMA_PTE_WRITE)', 'no write')];
  if (!r && !w) return invalid(fmt, 'neither R nor W is set: not present', rw);
  const ps = flag(desc, 7, 'PS', 'superpage (DMA_PTE_LARGE_PAGE)', 'points to a table');
  const leaf = level === 1 || ((level === 2 || level === 3) && bit(desc, 7) === 1);
  if (!leaf && bit(desc, 7)) return invalid(fmt, `PS is reserved at level ${level}`, [...rw, ps]);
  const addr = vtdAddr(desc);
  if (!leaf) {
    return { format: fmt, kind: 'table', address: hex(addr), size: null, read: r, write: w, invalidWhy: null, fields: [...rw, ps, field('address', 51, 12, hex(addr), `level-${level - 1} table`)] };
  }
  const size = vtdLeafSize(level);
  const out = addr & ~(size - 1n);
  return {
    format: fmt,
    kind: level === 1 ? 'page' : 'block',
    address: hex(out),
    size: hex(size),
    read: r,
    write: w,
    invalidWhy: null,
    fields: [...rw, ...(level > 1 ? [ps] : []), flag(desc, 11, 'SNP', 'snoop (DMA_PTE_SNP)', 'no snoop forced'), field('address', 51, 12, hex(out), `page of ${hex(size)}`)],
  };
}

/** First-stage tables: x86-64 paging. Requests without PASID are user requests, so every level needs U/S. */
function decodeVtdFirst(desc: bigint, level: number): DescriptorBits {
  const fmt: PgtableFormat = 'vtd-first';
  const p = flag(desc, 0, 'P', 'present', 'not present');
  if (!(desc & 1n)) return invalid(fmt, 'P (present) is clear', [p]);
  const us = bit(desc, 2) === 1;
  const rwBit = bit(desc, 1) === 1;
  const leaf = level === 1 || ((level === 2 || level === 3) && bit(desc, 7) === 1);
  const ps = flag(desc, 7, 'PS', 'superpage', 'points to a table');
  const base: DescriptorField[] = [
    p,
    flag(desc, 1, 'R/W', 'writable', 'read-only'),
    flag(desc, 2, 'U/S', 'user accessible', 'supervisor only: user requests fault'),
    flag(desc, 3, 'PWT', 'write-through', 'write-back'),
    flag(desc, 4, 'PCD', 'cache disabled', 'cacheable'),
    flag(desc, 5, 'A', 'accessed', 'not accessed yet'),
  ];
  if (!leaf && bit(desc, 7)) return invalid(fmt, `PS is reserved at level ${level}`, [...base, ps]);
  const addr = vtdAddr(desc);
  const xd = flag(desc, 63, 'XD', 'execute disable', 'executable');
  if (!leaf) {
    return { format: fmt, kind: 'table', address: hex(addr), size: null, read: us, write: us && rwBit, invalidWhy: null, fields: [...base, ps, field('address', 51, 12, hex(addr), `level-${level - 1} table`), xd] };
  }
  const size = vtdLeafSize(level);
  const out = addr & ~(size - 1n);
  return {
    format: fmt,
    kind: level === 1 ? 'page' : 'block',
    address: hex(out),
    size: hex(size),
    read: us,
    write: us && rwBit,
    invalidWhy: null,
    fields: [...base, flag(desc, 6, 'D', 'dirty', 'clean'), ...(level > 1 ? [ps] : []), flag(desc, 8, 'G', 'global', 'not global'), field('address', 51, 12, hex(out), `page of ${hex(size)}`), xd],
  };
}

// ---- AMD IOMMU v1, amd/io_pgtable.c ----

/** PTE_PAGE_SIZE of a NextLevel-7 entry: 2 << (first zero bit above bit 11). */
function amdEncodedPageSize(desc: bigint): bigint {
  let x = desc | 0xfffn;
  let n = 0;
  while (x & 1n && n < 63) {
    x >>= 1n;
    n++;
  }
  return 1n << BigInt(n + 1);
}

function decodeAmdV1(desc: bigint, level: number): DescriptorBits {
  const fmt: PgtableFormat = 'amd-v1';
  const pr = flag(desc, 0, 'PR', 'present', 'not present');
  if (!(desc & 1n)) return invalid(fmt, 'PR (present) is clear', [pr]);
  const next = bitsOf(desc, 11, 9);
  const r = bit(desc, 61) === 1;
  const w = bit(desc, 62) === 1;
  const addr = desc & 0x000ffffffffff000n;
  const nextMeaning = next === 0 ? 'leaf of this level\'s natural size' : next === 7 ? 'leaf, size encoded in the address bits' : `table of level ${next}`;
  const fields: DescriptorField[] = [
    pr,
    field('NextLevel', 11, 9, next, nextMeaning),
    field('address', 51, 12, hex(addr), ''),
    flag(desc, 59, 'U', 'untranslated (ATS) access allowed', 'no'),
    flag(desc, 60, 'FC', 'force coherent', 'not forced'),
    flag(desc, 61, 'IR', 'read allowed', 'no read'),
    flag(desc, 62, 'IW', 'write allowed', 'no write'),
  ];
  if (next === 0 || next === 7) {
    const size = next === 0 ? 1n << BigInt(12 + 9 * (level - 1)) : amdEncodedPageSize(desc);
    if (size >= 1n << BigInt(12 + 9 * level)) return invalid(fmt, `a ${hex(size)} page does not fit a level-${level} entry`, fields);
    const out = addr & ~(size - 1n);
    fields[2] = field('address', 51, 12, hex(out), `page of ${hex(size)}`);
    return { format: fmt, kind: size === 0x1000n ? 'page' : 'block', address: hex(out), size: hex(size), read: r, write: w, invalidWhy: null, fields };
  }
  if (next >= level) return invalid(fmt, `NextLevel ${next} is not below level ${level}`, fields);
  fields[2] = field('address', 51, 12, hex(addr), `level-${next} table`);
  return { format: fmt, kind: 'table', address: hex(addr), size: null, read: r, write: w, invalidWhy: null, fields };
}

// ---- Apple DART, io-pgtable-dart.c ----

function decodeAppleDart(ops: AppleDartIoPgtable, desc: bigint, level: number): DescriptorBits {
  const fmt: PgtableFormat = 'apple-dart';
  const valid = flag(desc, 0, 'VALID', 'valid', 'invalid');
  if (!(desc & 1n)) return invalid(fmt, 'VALID is clear', [valid]);
  const dart1 = ops.fmt === 'APPLE_DART';
  const addr = dart1 ? desc & (((1n << 36n) - 1n) & ~0xfffn) : (desc & (((1n << 38n) - 1n) & ~0x3ffn)) << 4n;
  const addrField = dart1 ? field('address', 35, 12, hex(addr), '') : field('address >> 4', 37, 10, hex(addr), '');
  if (level > 1) {
    addrField.meaning = `level-${level - 1} table`;
    return { format: fmt, kind: 'table', address: hex(addr), size: null, read: null, write: null, invalidWhy: null, fields: [valid, addrField] };
  }
  const out = addr & ~(ops.granule - 1n);
  addrField.value = hex(out);
  addrField.meaning = `page of ${hex(ops.granule)}`;
  const noRead = bit(desc, dart1 ? 8 : 3) === 1;
  const noWrite = bit(desc, dart1 ? 7 : 2) === 1;
  const prot = dart1
    ? [flag(desc, 1, 'SP_DIS', 'subpage protection disabled', 'subpage protection on'), flag(desc, 7, 'NO_WRITE', 'no write', 'writable'), flag(desc, 8, 'NO_READ', 'no read', 'readable')]
    : [flag(desc, 1, 'NO_CACHE', 'not cached', 'cacheable (IOMMU_CACHE)'), flag(desc, 2, 'NO_WRITE', 'no write', 'writable'), flag(desc, 3, 'NO_READ', 'no read', 'readable')];
  return {
    format: fmt,
    kind: 'page',
    address: hex(out),
    size: hex(ops.granule),
    read: !noRead,
    write: !noWrite,
    invalidWhy: null,
    fields: [valid, ...prot, addrField, field('subpage end', 51, 40, hex(bitsOf(desc, 51, 40)), bitsOf(desc, 51, 40) === 0xfff ? 'last subpage: the end of the page' : 'last subpage the device may touch'), field('subpage start', 63, 52, hex(bitsOf(desc, 63, 52)), bitsOf(desc, 63, 52) === 0 ? 'first subpage: the start of the page' : 'first subpage the device may touch')],
  };
}

// ---- the generic format (generic-pt.ts) ----

function decodeGeneric(ops: GenericIoPgtable, desc: bigint, level: number): DescriptorBits {
  const fmt: PgtableFormat = 'generic';
  const valid = flag(desc, 0, 'VALID', 'valid', 'invalid');
  if (!(desc & 1n)) return invalid(fmt, 'VALID is clear', [valid]);
  const addr = desc & (((1n << 52n) - 1n) & ~0xfffn);
  const leaf = level === ops.levels || bit(desc, 1) === 1;
  const leafBit = flag(desc, 1, 'LEAF', 'page or block', 'next-level table');
  if (!leaf) return { format: fmt, kind: 'table', address: hex(addr), size: null, read: null, write: null, invalidWhy: null, fields: [valid, leafBit, field('address', 51, 12, hex(addr), `level-${level + 1} table`)] };
  const size = ops.blockSize(level);
  const out = addr & ~(size - 1n);
  return {
    format: fmt,
    kind: level === ops.levels ? 'page' : 'block',
    address: hex(out),
    size: hex(size),
    read: bit(desc, 2) === 1,
    write: bit(desc, 3) === 1,
    invalidWhy: null,
    fields: [valid, leafBit, flag(desc, 2, 'READ', 'readable', 'no read'), flag(desc, 3, 'WRITE', 'writable', 'no write'), field('address', 51, 12, hex(out), `page of ${hex(size)}`)],
  };
}

/**
 * The fields of `desc` read at `level` of a table in `fmt`. `ops` is the
 * table the walk read (its granule, stage and levels shape the decoding).
 */
export function decodeDescriptor(fmt: PgtableFormat, ops: IoPgtableOps, desc: bigint, level: number): DescriptorBits {
  switch (fmt) {
    case 'arm-lpae-s1':
    case 'arm-lpae-s2':
      if (ops instanceof ArmLpaeIoPgtable) return decodeArmLpae(fmt, ops, desc, level);
      break;
    case 'vtd-second':
      return decodeVtdSecond(desc, level);
    case 'vtd-first':
      return decodeVtdFirst(desc, level);
    case 'amd-v1':
      return decodeAmdV1(desc, level);
    case 'apple-dart':
      if (ops instanceof AppleDartIoPgtable) return decodeAppleDart(ops, desc, level);
      break;
    case 'generic':
      if (ops instanceof GenericIoPgtable) return decodeGeneric(ops, desc, level);
      break;
  }
  return invalid(fmt, `no decoder for a ${ops.name} table as ${fmt}`, []);
}
