// The walk panel's descriptor decoding (src/engine/inspect/descriptor-bits.ts):
// each format's fields by name, bits, value and meaning, what the descriptor
// is at its level, and why the walker would treat it as invalid.

import { strict as assert } from 'node:assert';
import { decodeDescriptor, type DescriptorBits } from '../../src/engine/inspect/descriptor-bits';
import { allocIoPgtableOps, type IoPgtableAllocConfig, type IoPgtableFmt } from '../../src/engine/io-pgtable/formats';
import type { IoPgtableOps } from '../../src/engine/io-pgtable/types';
import { PhysicalMemory } from '../../src/engine/memory/physmem';

const mem = new PhysicalMemory([{ start: 0n, end: 1n << 52n }]);
let nextTable = 1n << 30n;
const hooks = {
  mem,
  alloc: {
    allocTable: (bytes: number): bigint => {
      const b = BigInt(bytes);
      const at = (nextTable + b - 1n) & ~(b - 1n);
      nextTable = at + b;
      return at;
    },
    freeTable: (): void => undefined,
  },
};

function table(fmt: IoPgtableFmt, cfg: Partial<IoPgtableAllocConfig> = {}): IoPgtableOps {
  return allocIoPgtableOps(fmt, { granule: 0x1000n, ias: 48, oas: 48, pageSize: 0x1000n, ...cfg }, hooks);
}

/** The descriptor without its fields, and its fields as the panel lists them. */
function shown(b: DescriptorBits): { what: Omit<DescriptorBits, 'fields'>; fields: string[] } {
  const { fields, ...what } = b;
  return { what, fields: fields.map((f) => `${f.name} [${f.bits}] ${f.value}: ${f.meaning}`) };
}

describe('descriptor bits: what a page-table descriptor says, field by field', () => {
  it('Arm LPAE stage 1: a read-only level-3 page with its attributes and execute-never bits', () => {
    const desc = 0x81000000n | 3n | (1n << 2n) | (1n << 6n) | (1n << 7n) | (3n << 8n) | (1n << 10n) | (1n << 54n);
    assert.deepEqual(shown(decodeDescriptor('arm-lpae-s1', table('arm-lpae-s1'), desc, 3)), {
      what: { format: 'arm-lpae-s1', kind: 'page', address: '0x81000000', size: '0x1000', read: true, write: false, invalidWhy: null },
      fields: [
        'valid [0] 1: valid', 'type [1] 1: page', 'AttrIndx [4:2] 1: normal write-back cacheable (IDX_CACHE)',
        'AP[1] [6] 1: unprivileged access allowed (no IOMMU_PRIV)', 'AP[2] [7] 1: read-only', 'SH [9:8] 3: inner shareable', 'AF [10] 1: accessed',
        'nG [11] 0: global', 'output address [47:12] 0x81000000: page of 0x1000', 'PXN [53] 0: executable', 'UXN [54] 1: execute never (IOMMU_NOEXEC)',
      ],
    });
  });

  it('Arm LPAE: a level-1 table descriptor with its limits on the levels below', () => {
    assert.deepEqual(shown(decodeDescriptor('arm-lpae-s1', table('arm-lpae-s1'), 0x40002003n, 1)), {
      what: { format: 'arm-lpae-s1', kind: 'table', address: '0x40002000', size: null, read: null, write: null, invalidWhy: null },
      fields: [
        'valid [0] 1: valid', 'type [1] 1: table', 'next-level table address [47:12] 0x40002000: level-2 table', 'PXNTable [59] 0: no limit',
        'XNTable [60] 0: no limit', 'APTable [62:61] 0: no limit on access below', 'NSTable [63] 0: secure state as requested',
      ],
    });
  });

  it('Arm LPAE stage 2: a 2M block, S2AP read-only, write-back memory', () => {
    const desc = 0x80200000n | 1n | (0xfn << 2n) | (1n << 6n) | (1n << 10n);
    assert.deepEqual(shown(decodeDescriptor('arm-lpae-s2', table('arm-lpae-s2', { ias: 40, oas: 40 }), desc, 2)), {
      what: { format: 'arm-lpae-s2', kind: 'block', address: '0x80200000', size: '0x200000', read: true, write: false, invalidWhy: null },
      fields: [
        'valid [0] 1: valid', 'type [1] 0: block', 'MemAttr [5:2] 0xf: normal write-back cacheable (MEMATTR_OIWB)', 'S2AP [7:6] 1: read-only',
        'SH [9:8] 0: non-shareable', 'AF [10] 1: accessed', 'output address [47:12] 0x80200000: block of 0x200000', 'XN [54:53] 0: executable',
      ],
    });
  });

  it('Arm LPAE: invalid where the walker would fault (valid clear, no level-1 block with a 64K granule)', () => {
    assert.equal(decodeDescriptor('arm-lpae-s1', table('arm-lpae-s1'), 0x81000002n, 3).invalidWhy, 'bit 0 (valid) is clear');
    assert.deepEqual(shown(decodeDescriptor('arm-lpae-s1', table('arm-lpae-s1', { granule: 0x10000n }), 0x40000001n, 1)), {
      what: { format: 'arm-lpae-s1', kind: 'invalid', address: null, size: null, read: null, write: null, invalidWhy: 'a 0x10000 granule has no block descriptors at level 1' },
      fields: ['valid [0] 1: valid', 'type [1] 0: block'],
    });
  });

  it('VT-d second stage: a 2M superpage at level 2; PS is reserved at level 4', () => {
    assert.deepEqual(shown(decodeDescriptor('vtd-second', table('vtd-second'), 0x100000083n, 2)), {
      what: { format: 'vtd-second', kind: 'block', address: '0x100000000', size: '0x200000', read: true, write: true, invalidWhy: null },
      fields: ['R [0] 1: read allowed (DMA_PTE_READ)', 'W [1] 1: write allowed (DMA_PTE_WRITE)', 'PS [7] 1: superpage (DMA_PTE_LARGE_PAGE)', 'SNP [11] 0: no snoop forced', 'address [51:12] 0x100000000: page of 0x200000'],
    });
    const reserved = decodeDescriptor('vtd-second', table('vtd-second'), 0x100000083n, 4);
    assert.equal(reserved.invalidWhy, 'PS is reserved at level 4');
    assert.deepEqual(shown(reserved).fields, ['R [0] 1: read allowed (DMA_PTE_READ)', 'W [1] 1: write allowed (DMA_PTE_WRITE)', 'PS [7] 1: superpage (DMA_PTE_LARGE_PAGE)']);
    assert.equal(decodeDescriptor('vtd-second', table('vtd-second'), 0x100000000n, 1).invalidWhy, 'neither R nor W is set: not present');
  });

  it('VT-d first stage: a supervisor-only page grants nothing to a request without PASID', () => {
    const desc = 0x12345000n | 1n | 2n | (1n << 5n) | (1n << 6n) | (1n << 63n);
    assert.deepEqual(shown(decodeDescriptor('vtd-first', table('vtd-first'), desc, 1)), {
      what: { format: 'vtd-first', kind: 'page', address: '0x12345000', size: '0x1000', read: false, write: false, invalidWhy: null },
      fields: [
        'P [0] 1: present', 'R/W [1] 1: writable', 'U/S [2] 0: supervisor only: user requests fault', 'PWT [3] 0: write-back', 'PCD [4] 0: cacheable',
        'A [5] 1: accessed', 'D [6] 1: dirty', 'G [8] 0: not global', 'address [51:12] 0x12345000: page of 0x1000', 'XD [63] 1: execute disable',
      ],
    });
  });

  it('AMD v1: an 8K NextLevel-7 leaf; a NextLevel not below its level is invalid', () => {
    assert.deepEqual(shown(decodeDescriptor('amd-v1', table('amd-v1'), 0x3000000081000e01n, 1)), {
      what: { format: 'amd-v1', kind: 'block', address: '0x81000000', size: '0x2000', read: true, write: false, invalidWhy: null },
      fields: ['PR [0] 1: present', 'NextLevel [11:9] 7: leaf, size encoded in the address bits', 'address [51:12] 0x81000000: page of 0x2000', 'U [59] 0: no', 'FC [60] 1: force coherent', 'IR [61] 1: read allowed', 'IW [62] 0: no write'],
    });
    assert.deepEqual(shown(decodeDescriptor('amd-v1', table('amd-v1'), 0x6000000040001601n, 2)), {
      what: { format: 'amd-v1', kind: 'invalid', address: null, size: null, read: null, write: null, invalidWhy: 'NextLevel 3 is not below level 2' },
      fields: ['PR [0] 1: present', 'NextLevel [11:9] 3: table of level 3', 'address [51:12] 0x40001000: ', 'U [59] 0: no', 'FC [60] 0: not forced', 'IR [61] 1: read allowed', 'IW [62] 1: write allowed'],
    });
  });

  it('Apple DART2: a read-only 16K page whose address is stored shifted by 4, the whole page open to the device', () => {
    const desc = (0xfffn << 40n) | (0x81004000n >> 4n) | 1n | 4n;
    assert.deepEqual(shown(decodeDescriptor('apple-dart', table('apple-dart', { granule: 0x4000n, ias: 32, oas: 42 }), desc, 1)), {
      what: { format: 'apple-dart', kind: 'page', address: '0x81004000', size: '0x4000', read: true, write: false, invalidWhy: null },
      fields: [
        'VALID [0] 1: valid', 'NO_CACHE [1] 0: cacheable (IOMMU_CACHE)', 'NO_WRITE [2] 1: no write', 'NO_READ [3] 0: readable', 'address >> 4 [37:10] 0x81004000: page of 0x4000',
        'subpage end [51:40] 0xfff: last subpage: the end of the page', 'subpage start [63:52] 0x0: first subpage: the start of the page',
      ],
    });
  });

  it('generic: a table descriptor; a format the table is not gets no decoding', () => {
    assert.deepEqual(shown(decodeDescriptor('generic', table('generic', { levels: 4 }), 0x40003001n, 2)), {
      what: { format: 'generic', kind: 'table', address: '0x40003000', size: null, read: null, write: null, invalidWhy: null },
      fields: ['VALID [0] 1: valid', 'LEAF [1] 0: next-level table', 'address [51:12] 0x40003000: level-3 table'],
    });
    assert.deepEqual(shown(decodeDescriptor('generic', table('amd-v1'), 1n, 1)), {
      what: { format: 'generic', kind: 'invalid', address: null, size: null, read: null, write: null, invalidWhy: 'no decoder for a amd-v1 table as generic' },
      fields: [],
    });
  });
});
