import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { DMA_DEBUG_CHECK, DmaDebug, type DmaDebugDevice, type DmaDebugSg } from '../../src/engine/dma-debug/dma-debug';
import {
  DMA_ATTR_MMIO,
  DMA_ATTR_SKIP_CPU_SYNC,
  DMA_ATTR_WEAK_ORDERING,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_NONE,
  DMA_TO_DEVICE,
  dirFromName,
  dirName,
  validDmaDirection,
  type DmaDirection,
} from '../../src/engine/dma-mapping/dma-direction';
import { cloneState } from '../../src/engine/snapshot';
import { TraceRecorder } from '../../src/engine/trace/recorder';
import { DMA_MAPPING_ERROR } from '../../src/engine/u64';

const eth0: DmaDebugDevice = { name: '0000:02:00.0', driver: 'e1000e' };
const nvme0: DmaDebugDevice = { name: '0000:01:00.0', driver: 'nvme' };
const PFX = 'DMA-API: e1000e 0000:02:00.0: ';

function setup(): { rec: TraceRecorder; dd: DmaDebug } {
  const rec = new TraceRecorder();
  return { rec, dd: new DmaDebug(rec, 64) };
}

/** Not deepEqual on rec.checks itself: its `asserts` signature would narrow the array to never[]. */
function assertNoChecks(rec: TraceRecorder): void {
  assert.deepEqual(rec.checks.map((c) => c.message), []);
}

/** Maps at `line` and checks the handle, as a well-behaved driver does. */
function mapChecked(rec: TraceRecorder, dd: DmaDebug, line: number, dev: DmaDebugDevice, phys: bigint, size: number, dir: 0 | 1 | 2, dma: bigint, attrs = 0): void {
  rec.line = line;
  dd.debugDmaMapPhys(dev, phys, size, dir, dma, attrs);
  dd.debugDmaMappingError(dev, dma);
}

describe('dma-direction', () => {
  it('names directions like dir2name[] and parses them back', () => {
    assert.equal(dirName(DMA_BIDIRECTIONAL), 'DMA_BIDIRECTIONAL');
    assert.equal(dirName(DMA_TO_DEVICE), 'DMA_TO_DEVICE');
    assert.equal(dirName(DMA_FROM_DEVICE), 'DMA_FROM_DEVICE');
    assert.equal(dirName(DMA_NONE), 'DMA_NONE');
    assert.deepEqual([DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_NONE], [0, 1, 2, 3]);
    assert.equal(dirFromName('DMA_FROM_DEVICE'), DMA_FROM_DEVICE);
    assert.equal(dirFromName('DMA_SIDEWAYS'), undefined);
    assert.equal(validDmaDirection(DMA_NONE), false);
    assert.equal(validDmaDirection(DMA_TO_DEVICE), true);
  });

  it('uses the attribute bits of include/linux/dma-mapping.h', () => {
    assert.equal(DMA_ATTR_WEAK_ORDERING, 2);
    assert.equal(DMA_ATTR_SKIP_CPU_SYNC, 32);
    assert.equal(DMA_ATTR_MMIO, 1024);
  });
});

describe('DmaDebug', () => {
  it('reports scenario 07 with the kernel text', () => {
    const { rec, dd } = setup();
    const h = 0xfffff000n;
    const a = 0x80000000n;

    rec.line = 6;
    dd.debugDmaMapPhys(eth0, a, 0x800, DMA_TO_DEVICE, h);
    rec.line = 7;
    dd.debugDmaUnmapPhys(eth0, h, 0x400, DMA_TO_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => [c.line, c.id, c.severity, c.message, c.relatedLine]),
      [
        [
          7,
          'dma-debug-different-size',
          'error',
          PFX + 'device driver frees DMA memory with different size [device address=0x00000000fffff000] [map size=2048 bytes] [unmap size=1024 bytes]',
          6,
        ],
        [
          7,
          'dma-debug-map-error-not-checked',
          'warning',
          PFX + 'device driver failed to check map error[device address=0x00000000fffff000] [size=1024 bytes] [mapped as phy]',
          6,
        ],
      ],
    );

    rec.checks.length = 0;
    mapChecked(rec, dd, 9, eth0, a, 4096, DMA_FROM_DEVICE, h);
    rec.line = 10;
    dd.debugDmaUnmapPhys(eth0, h, 4096, DMA_TO_DEVICE);
    rec.line = 11;
    dd.debugDmaUnmapPhys(eth0, h, 4096, DMA_FROM_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => [c.line, c.id, c.message, c.relatedLine]),
      [
        [
          10,
          'dma-debug-different-direction',
          PFX +
            'device driver frees DMA memory with different direction [device address=0x00000000fffff000] [size=4096 bytes] [mapped with DMA_FROM_DEVICE] [unmapped with DMA_TO_DEVICE]',
          9,
        ],
        [
          11,
          'dma-debug-unmap-unknown',
          PFX + 'device driver tries to free DMA memory it has not allocated [device address=0x00000000fffff000] [size=4096 bytes]',
          undefined,
        ],
      ],
    );

    rec.checks.length = 0;
    mapChecked(rec, dd, 13, eth0, a, 4096, DMA_FROM_DEVICE, h);
    rec.line = 14;
    dd.debugDmaSyncSingleForCpu(eth0, h, 8192, DMA_FROM_DEVICE);
    rec.line = 15;
    dd.debugDmaUnmapPhys(eth0, h, 4096, DMA_FROM_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => [c.line, c.id, c.message, c.relatedLine]),
      [
        [
          14,
          'dma-debug-sync-unknown',
          // bucket_find_contain() needs the whole range inside one mapping: a sync past the end finds none.
          PFX + 'device driver tries to sync DMA memory it has not allocated [device address=0x00000000fffff000] [size=8192 bytes]',
          undefined,
        ],
      ],
    );
    assert.equal(dd.errorCount, 5);
    assert.deepEqual(dd.pendingEntries(), []);
  });

  it('raises nothing for a correct map, check, sync, unmap sequence', () => {
    const { rec, dd } = setup();
    mapChecked(rec, dd, 1, eth0, 0x80000000n, 4096, DMA_FROM_DEVICE, 0xfffff000n);
    dd.debugDmaSyncSingleForDevice(eth0, 0xfffff000n, 4096, DMA_FROM_DEVICE);
    dd.debugDmaSyncSingleForCpu(eth0, 0xfffff800n, 0x800, DMA_FROM_DEVICE);
    mapChecked(rec, dd, 2, eth0, 0x80002000n, 100, DMA_TO_DEVICE, 0xffffe000n);
    dd.debugDmaSyncSingleForDevice(eth0, 0xffffe000n, 100, DMA_TO_DEVICE);
    dd.debugDmaSyncSingleForCpu(eth0, 0xffffe000n, 100, DMA_TO_DEVICE);
    mapChecked(rec, dd, 3, eth0, 0x80004000n, 64, DMA_BIDIRECTIONAL, 0xffffd000n);
    dd.debugDmaSyncSingleForCpu(eth0, 0xffffd000n, 64, DMA_FROM_DEVICE);
    dd.debugDmaAllocCoherent(eth0, 8192, 0xffff0000n, 0x90000000n);
    const sg: DmaDebugSg[] = [
      { phys: 0x81000000n, length: 4096, dmaAddress: 0xfff00000n, dmaLength: 8192 },
      { phys: 0x82000000n, length: 4096, dmaAddress: 0n, dmaLength: 0 },
    ];
    dd.debugDmaMapSg(eth0, sg, 2, 1, DMA_FROM_DEVICE);
    dd.debugDmaSyncSgForCpu(eth0, sg, 2, DMA_FROM_DEVICE);
    dd.debugDmaSyncSgForDevice(eth0, sg, 2, DMA_FROM_DEVICE);
    assert.equal(dd.pendingEntries().length, 5);
    assert.equal(dd.pendingEntries(eth0).length, 5);
    assert.equal(dd.pendingEntries(nvme0).length, 0);

    dd.debugDmaUnmapSg(eth0, sg, 2, DMA_FROM_DEVICE);
    dd.debugDmaFreeCoherent(eth0, 8192, 0x90000000n, 0xffff0000n);
    dd.debugDmaUnmapPhys(eth0, 0xffffd000n, 64, DMA_BIDIRECTIONAL);
    dd.debugDmaUnmapPhys(eth0, 0xffffe000n, 100, DMA_TO_DEVICE);
    dd.debugDmaUnmapPhys(eth0, 0xfffff000n, 4096, DMA_FROM_DEVICE);
    assertNoChecks(rec);
    assert.equal(dd.errorCount, 0);
    assert.deepEqual(dd.pendingEntries(), []);
    assert.equal(dd.reportLeaks(), 0);
  });

  it('does not record a failed mapping and flags unmapping DMA_MAPPING_ERROR', () => {
    const { rec, dd } = setup();
    dd.debugDmaMapPhys(eth0, 0x80000000n, 4096, DMA_TO_DEVICE, DMA_MAPPING_ERROR);
    assert.deepEqual(dd.pendingEntries(), []);
    dd.debugDmaUnmapPhys(eth0, DMA_MAPPING_ERROR, 4096, DMA_TO_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => [c.id, c.message]),
      [['dma-debug-free-invalid', PFX + 'device driver tries to free an invalid DMA memory address']],
    );
  });

  it('reports freeing with the wrong function', () => {
    const { rec, dd } = setup();
    mapChecked(rec, dd, 4, eth0, 0x80000000n, 4096, DMA_BIDIRECTIONAL, 0x1000n);
    rec.line = 5;
    dd.debugDmaFreeCoherent(eth0, 4096, 0x80000000n, 0x1000n);
    assert.deepEqual(
      rec.checks.map((c) => [c.id, c.message, c.relatedLine]),
      [
        [
          'dma-debug-wrong-function',
          PFX + 'device driver frees DMA memory with wrong function [device address=0x0000000000001000] [size=4096 bytes] [mapped as phy] [unmapped as coherent]',
          4,
        ],
      ],
    );
  });

  it('reports a coherent free with a different CPU address as the kernel prints it (0x%pa)', () => {
    const { rec, dd } = setup();
    dd.debugDmaAllocCoherent(eth0, 4096, 0x2000n, 0x90000000n);
    dd.debugDmaFreeCoherent(eth0, 4096, 0x90001000n, 0x2000n);
    assert.deepEqual(
      rec.checks.map((c) => c.message),
      [
        PFX +
          'device driver frees DMA memory with different CPU address [device address=0x0000000000002000] [size=4096 bytes] ' +
          '[cpu alloc address=0x0x0000000090000000] [cpu free address=0x0x0000000090001000]',
      ],
    );
  });

  it('ignores a failed coherent allocation', () => {
    const { dd } = setup();
    dd.debugDmaAllocCoherent(eth0, 4096, DMA_MAPPING_ERROR, null);
    assert.deepEqual(dd.pendingEntries(), []);
  });

  it('checks noncoherent (dma_alloc_pages) entries', () => {
    const { rec, dd } = setup();
    dd.debugDmaAllocPages(eth0, 0x90000000n, 4096, DMA_TO_DEVICE, 0x3000n);
    dd.debugDmaFreePages(eth0, 0x90000000n, 4096, DMA_FROM_DEVICE, 0x3000n);
    assert.deepEqual(rec.checks.map((c) => c.id), ['dma-debug-different-direction']);
    assert.match(rec.checks[0]!.message, /\[mapped with DMA_TO_DEVICE\] \[unmapped with DMA_FROM_DEVICE\]$/);
  });

  it('reports sg entry count mismatches at unmap and at sync', () => {
    const { rec, dd } = setup();
    const sg: DmaDebugSg[] = [
      { phys: 0x81000000n, length: 4096, dmaAddress: 0x10000n, dmaLength: 4096 },
      { phys: 0x81002000n, length: 4096, dmaAddress: 0x11000n, dmaLength: 4096 },
      { phys: 0x81004000n, length: 4096, dmaAddress: 0x12000n, dmaLength: 4096 },
    ];
    dd.debugDmaMapSg(eth0, sg, 3, 3, DMA_TO_DEVICE);
    dd.debugDmaSyncSgForDevice(eth0, sg, 2, DMA_TO_DEVICE);
    // Unmapping with 2 entries: the first segment has no perfect fit, but it is the only match.
    dd.debugDmaUnmapSg(eth0, sg, 2, DMA_TO_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => [c.id, c.message]),
      [
        ['dma-debug-sync-sg-count', PFX + 'device driver syncs DMA sg list with different entry count [map count=3] [sync count=2]'],
        ['dma-debug-sync-sg-count', PFX + 'device driver syncs DMA sg list with different entry count [map count=3] [sync count=2]'],
        ['dma-debug-unmap-sg-count', PFX + 'device driver frees DMA sg list with different entry count [map count=3] [unmap count=2]'],
        ['dma-debug-unmap-sg-count', PFX + 'device driver frees DMA sg list with different entry count [map count=3] [unmap count=2]'],
      ],
    );
    // The third segment is still mapped.
    assert.deepEqual(
      dd.pendingEntries().map((e) => [e.type, e.devAddr, e.sgCallEnts, e.sgMappedEnts, e.mapErrType]),
      [['scatter-gather', 0x12000n, 3, 3, 'MAP_ERR_CHECK_NOT_APPLICABLE']],
    );
  });

  it('stops an sg unmap at the mapped entry count', () => {
    const { rec, dd } = setup();
    const sg: DmaDebugSg[] = [
      { phys: 0x81000000n, length: 4096, dmaAddress: 0x10000n, dmaLength: 8192 },
      { phys: 0x81001000n, length: 4096, dmaAddress: 0xdead0000n, dmaLength: 0 },
    ];
    dd.debugDmaMapSg(eth0, sg, 2, 1, DMA_FROM_DEVICE);
    dd.debugDmaUnmapSg(eth0, sg, 2, DMA_FROM_DEVICE);
    assertNoChecks(rec);
  });

  it('reports syncs of unknown memory and with the wrong direction', () => {
    const { rec, dd } = setup();
    rec.line = 1;
    dd.debugDmaSyncSingleForCpu(eth0, 0x5000n, 64, DMA_FROM_DEVICE);
    mapChecked(rec, dd, 2, eth0, 0x80000000n, 4096, DMA_TO_DEVICE, 0x6000n);
    rec.line = 3;
    dd.debugDmaSyncSingleForCpu(eth0, 0x6000n, 4096, DMA_FROM_DEVICE);
    mapChecked(rec, dd, 4, eth0, 0x80002000n, 4096, DMA_FROM_DEVICE, 0x8000n);
    rec.line = 5;
    dd.debugDmaSyncSingleForDevice(eth0, 0x8100n, 256, DMA_TO_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => [c.line, c.id, c.message, c.relatedLine]),
      [
        [1, 'dma-debug-sync-unknown', PFX + 'device driver tries to sync DMA memory it has not allocated [device address=0x0000000000005000] [size=64 bytes]', undefined],
        [
          3,
          'dma-debug-sync-different-direction',
          PFX +
            'device driver syncs DMA memory with different direction [device address=0x0000000000006000] [size=4096 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]',
          2,
        ],
        [
          3,
          'dma-debug-sync-read-only-for-cpu',
          PFX +
            'device driver syncs device read-only DMA memory for cpu [device address=0x0000000000006000] [size=4096 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]',
          2,
        ],
        [
          5,
          'dma-debug-sync-different-direction',
          PFX +
            'device driver syncs DMA memory with different direction [device address=0x0000000000008100] [size=4096 bytes] [mapped with DMA_FROM_DEVICE] [synced with DMA_TO_DEVICE]',
          4,
        ],
        [
          5,
          'dma-debug-sync-write-only-to-device',
          PFX +
            'device driver syncs device write-only DMA memory to device [device address=0x0000000000008100] [size=4096 bytes] [mapped with DMA_FROM_DEVICE] [synced with DMA_TO_DEVICE]',
          4,
        ],
      ],
    );
  });

  it('skips direction checks on syncs of BIDIRECTIONAL mappings', () => {
    const { rec, dd } = setup();
    mapChecked(rec, dd, 1, eth0, 0x80000000n, 4096, DMA_BIDIRECTIONAL, 0x6000n);
    dd.debugDmaSyncSingleForCpu(eth0, 0x6000n, 4096, DMA_TO_DEVICE);
    dd.debugDmaSyncSingleForDevice(eth0, 0x6000n, 4096, DMA_FROM_DEVICE);
    assertNoChecks(rec);
  });

  it('finds a sync inside a large mapping from an earlier hash bucket, and none for a sync that runs past it', () => {
    const { rec, dd } = setup();
    mapChecked(rec, dd, 1, eth0, 0x80000000n, 0x10000, DMA_FROM_DEVICE, 0x100000n);
    dd.debugDmaSyncSingleForCpu(eth0, 0x10e000n, 0x1000, DMA_FROM_DEVICE);
    assertNoChecks(rec);
    rec.line = 2;
    dd.debugDmaSyncSingleForCpu(eth0, 0x10e000n, 0x3000, DMA_FROM_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => [c.id, c.message]),
      [
        ['dma-debug-sync-unknown', PFX + 'device driver tries to sync DMA memory it has not allocated [device address=0x000000000010e000] [size=12288 bytes]'],
      ],
    );
  });

  it('prints only the first error system-wide (num_errors = 1) but keeps every finding and counts them all', () => {
    const { rec, dd } = setup();
    dd.debugDmaUnmapPhys(eth0, 0x1000n, 4096, DMA_TO_DEVICE);
    dd.debugDmaUnmapPhys(nvme0, 0x2000n, 4096, DMA_TO_DEVICE);
    dd.debugDmaSyncSingleForCpu(eth0, 0x3000n, 64, DMA_FROM_DEVICE);
    assert.equal(rec.checks.length, 3);
    assert.equal(dd.errorCount, 3);
    assert.deepEqual(rec.log.map((l) => l.text), [
      'DMA-API: e1000e 0000:02:00.0: device driver tries to free DMA memory it has not allocated [device address=0x0000000000001000] [size=4096 bytes]',
    ]);
  });

  it('prints every error with all_errors, and num_errors more of them when raised', () => {
    const { rec, dd } = setup();
    dd.showAllErrors = true;
    dd.debugDmaUnmapPhys(eth0, 0x1000n, 4096, DMA_TO_DEVICE);
    dd.debugDmaUnmapPhys(nvme0, 0x2000n, 4096, DMA_TO_DEVICE);
    assert.equal(rec.log.length, 2);
    const two = setup();
    two.dd.showNumErrors = 2;
    for (let i = 1n; i <= 3n; i++) two.dd.debugDmaUnmapPhys(eth0, i << 12n, 4096, DMA_TO_DEVICE);
    assert.equal(two.rec.log.length, 2);
    assert.equal(two.dd.errorCount, 3);
  });

  it('two errors on one device: both findings kept, one WARN in the log, error_count 2', () => {
    const { rec, dd } = setup();
    mapChecked(rec, dd, 1, eth0, 0x80000000n, 4096, DMA_FROM_DEVICE, 0x1000n);
    rec.line = 2;
    dd.debugDmaUnmapPhys(eth0, 0x1000n, 2048, DMA_TO_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => [c.line, c.id]),
      [
        [2, 'dma-debug-different-size'],
        [2, 'dma-debug-different-direction'],
      ],
    );
    assert.equal(dd.errorCount, 2);
    assert.deepEqual(
      rec.log.map((l) => [l.line, l.text]),
      [[2, PFX + 'device driver frees DMA memory with different size [device address=0x0000000000001000] [map size=4096 bytes] [unmap size=2048 bytes]']],
    );
  });

  it('the driver filter (dma_debug_driver=) prints only its driver, and a filtered error still uses up num_errors', () => {
    const { rec, dd } = setup();
    dd.driverFilter = 'nvme';
    dd.debugDmaUnmapPhys(eth0, 0x1000n, 4096, DMA_TO_DEVICE);
    dd.debugDmaUnmapPhys(nvme0, 0x2000n, 4096, DMA_TO_DEVICE);
    assert.deepEqual(rec.log, [], 'num_errors = 1 went to the filtered e1000e error');
    assert.equal(rec.checks.length, 2);
    assert.equal(dd.errorCount, 2);

    const all = setup();
    all.dd.driverFilter = 'nvme';
    all.dd.showAllErrors = true;
    all.dd.debugDmaUnmapPhys(eth0, 0x1000n, 4096, DMA_TO_DEVICE);
    all.dd.debugDmaUnmapPhys(nvme0, 0x2000n, 4096, DMA_TO_DEVICE);
    assert.deepEqual(
      all.rec.log.map((l) => l.text),
      ['DMA-API: nvme 0000:01:00.0: device driver tries to free DMA memory it has not allocated [device address=0x0000000000002000] [size=4096 bytes]'],
    );
  });

  it('reports "outside allocated range" as check_sync does: a contained range larger than the mapping (its end wrapped past 2^64)', () => {
    const { rec, dd } = setup();
    mapChecked(rec, dd, 1, eth0, 0x80000000n, 4096, DMA_FROM_DEVICE, 0x1000n);
    rec.line = 2;
    // 0x1800 + (2^64 - 0x1000) wraps to 0x800: inside [0x1000, 0x2000) by the kernel's u64 sums.
    // The kernel prints ref->size (not offset 0x800 + size) as "sync offset+size".
    dd.debugDmaSyncSingleForCpu(eth0, 0x1800n, 2n ** 64n - 0x1000n, DMA_FROM_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => [c.id, c.message, c.relatedLine]),
      [
        [
          'dma-debug-sync-out-of-range',
          PFX + 'device driver syncs DMA memory outside allocated range [device address=0x0000000000001000] [allocation size=4096 bytes] [sync offset+size=18446744073709547520]',
          1,
        ],
      ],
    );
  });

  it('keeps devices apart', () => {
    const { rec, dd } = setup();
    mapChecked(rec, dd, 1, eth0, 0x80000000n, 4096, DMA_TO_DEVICE, 0x1000n);
    dd.debugDmaUnmapPhys(nvme0, 0x1000n, 4096, DMA_TO_DEVICE);
    dd.debugDmaSyncSingleForDevice(nvme0, 0x1000n, 4096, DMA_TO_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => c.message),
      [
        'DMA-API: nvme 0000:01:00.0: device driver tries to free DMA memory it has not allocated [device address=0x0000000000001000] [size=4096 bytes]',
        'DMA-API: nvme 0000:01:00.0: device driver tries to sync DMA memory it has not allocated [device address=0x0000000000001000] [size=4096 bytes]',
      ],
    );
    assert.equal(dd.pendingEntries(eth0).length, 1);
  });

  it('picks the best fit among entries at the same dev_addr and gives up when none is perfect', () => {
    const { rec, dd } = setup();
    // dma-direct without an IOMMU: one buffer mapped twice has one dev_addr.
    mapChecked(rec, dd, 1, eth0, 0x80000000n, 0x1000, DMA_TO_DEVICE, 0x80000000n);
    mapChecked(rec, dd, 2, eth0, 0x80000000n, 0x2000, DMA_TO_DEVICE, 0x80000000n);
    dd.debugDmaUnmapPhys(eth0, 0x80000000n, 0x2000, DMA_TO_DEVICE);
    assertNoChecks(rec);
    assert.deepEqual(dd.pendingEntries().map((e) => e.line), [1]);

    mapChecked(rec, dd, 3, eth0, 0x80000000n, 0x2000, DMA_FROM_DEVICE, 0x80000000n);
    // Each candidate matches three of four fields: no perfect fit, two matches.
    dd.debugDmaUnmapPhys(eth0, 0x80000000n, 0x1000, DMA_FROM_DEVICE);
    assert.deepEqual(rec.checks.map((c) => c.id), ['dma-debug-unmap-unknown']);
    assert.equal(dd.pendingEntries().length, 2);
  });

  it('marks only one unchecked entry per dma_mapping_error call', () => {
    const { rec, dd } = setup();
    dd.debugDmaMapPhys(eth0, 0x80000000n, 0x1000, DMA_TO_DEVICE, 0x80000000n);
    dd.debugDmaMapPhys(eth0, 0x80000000n, 0x2000, DMA_TO_DEVICE, 0x80000000n);
    dd.debugDmaMappingError(eth0, 0x80000000n);
    assert.deepEqual(
      dd.pendingEntries().map((e) => e.mapErrType),
      ['MAP_ERR_CHECKED', 'MAP_ERR_NOT_CHECKED'],
    );
    dd.debugDmaUnmapPhys(eth0, 0x80000000n, 0x2000, DMA_TO_DEVICE);
    assert.deepEqual(rec.checks.map((c) => [c.id, c.severity]), [['dma-debug-map-error-not-checked', 'warning']]);
  });

  it('checks sg segments against max_segment_size and the segment boundary', () => {
    const { rec, dd } = setup();
    const dev: DmaDebugDevice = { ...eth0, maxSegmentSize: 4096, segmentBoundaryMask: 0xffffn };
    dd.debugDmaMapSg(dev, [{ phys: 0x81000000n, length: 8192, dmaAddress: 0x1f000n, dmaLength: 8192 }], 1, 1, DMA_TO_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => [c.id, c.message]),
      [
        ['dma-debug-sg-segment-too-long', PFX + 'mapping sg segment longer than device claims to support [len=8192] [max=4096]'],
        [
          'dma-debug-sg-segment-boundary',
          PFX + 'mapping sg segment across boundary [start=0x000000000001f000] [end=0x0000000000020fff] [boundary=0x000000000000ffff]',
        ],
      ],
    );
  });

  it('defaults max_segment_size to 64K and the boundary to ULONG_MAX', () => {
    const { rec, dd } = setup();
    dd.debugDmaMapSg(eth0, [{ phys: 0x81000000n, length: 0x20000, dmaAddress: 0xfff0000n, dmaLength: 0x20000 }], 1, 1, DMA_TO_DEVICE);
    assert.deepEqual(
      rec.checks.map((c) => c.message),
      [PFX + 'mapping sg segment longer than device claims to support [len=131072] [max=65536]'],
    );
  });

  describe('cacheline overlap tracking', () => {
    it('reports EEXIST when two FROM_DEVICE mappings share a cacheline', () => {
      const { rec, dd } = setup();
      mapChecked(rec, dd, 1, eth0, 0x80000000n, 32, DMA_FROM_DEVICE, 0x1000n);
      mapChecked(rec, dd, 2, eth0, 0x80000020n, 32, DMA_FROM_DEVICE, 0x2000n);
      assert.deepEqual(
        rec.checks.map((c) => [c.line, c.id, c.severity, c.message, c.relatedLine]),
        [[2, 'dma-debug-overlap-eexist', 'error', PFX + "cacheline tracking EEXIST, overlapping mappings aren't supported", 2]],
      );
      // Both unmapped: the cacheline is free again.
      dd.debugDmaUnmapPhys(eth0, 0x2000n, 32, DMA_FROM_DEVICE);
      dd.debugDmaUnmapPhys(eth0, 0x1000n, 32, DMA_FROM_DEVICE);
      mapChecked(rec, dd, 3, eth0, 0x80000000n, 32, DMA_BIDIRECTIONAL, 0x3000n);
      assert.equal(rec.checks.length, 1);
    });

    it('does not track TO_DEVICE and honours SKIP_CPU_SYNC and kmalloc bouncing', () => {
      const { rec, dd } = setup();
      mapChecked(rec, dd, 1, eth0, 0x80000000n, 32, DMA_TO_DEVICE, 0x1000n);
      mapChecked(rec, dd, 2, eth0, 0x80000000n, 32, DMA_TO_DEVICE, 0x2000n);
      mapChecked(rec, dd, 3, eth0, 0x80000000n, 32, DMA_FROM_DEVICE, 0x3000n);
      mapChecked(rec, dd, 4, eth0, 0x80000010n, 16, DMA_FROM_DEVICE, 0x4000n, DMA_ATTR_SKIP_CPU_SYNC);
      dd.bounceUnalignedKmalloc = true;
      mapChecked(rec, dd, 5, eth0, 0x80000020n, 16, DMA_BIDIRECTIONAL, 0x5000n);
      assertNoChecks(rec);
      // Coherent allocations are BIDIRECTIONAL and tracked too.
      dd.bounceUnalignedKmalloc = false;
      dd.debugDmaAllocCoherent(eth0, 64, 0x6000n, 0x80000000n);
      assert.deepEqual(rec.checks.map((c) => c.id), ['dma-debug-overlap-eexist']);
    });

    it('saturates at 7 overlaps and warns once', () => {
      const { rec, dd } = setup();
      for (let i = 0; i < 10; i++) mapChecked(rec, dd, 10 + i, eth0, 0x80000040n + BigInt(i), 1, DMA_FROM_DEVICE, BigInt(0x10000 * (i + 1)));
      const ids = rec.checks.map((c) => c.id);
      assert.equal(ids.filter((id) => id === 'dma-debug-overlap-eexist').length, 9);
      const exceeded = rec.checks.filter((c) => c.id === 'dma-debug-overlap-exceeded');
      assert.deepEqual(
        exceeded.map((c) => [c.line, c.message]),
        [[18, 'DMA-API: exceeded 7 overlapping mappings of cacheline 0x0000000002000001']],
      );
      // The WARN_ONCE is not an err_printk and stays out of error_count.
      assert.equal(dd.errorCount, 9);
      for (let i = 0; i < 10; i++) dd.debugDmaUnmapPhys(eth0, BigInt(0x10000 * (i + 1)), 1, DMA_FROM_DEVICE);
      rec.checks.length = 0;
      mapChecked(rec, dd, 30, eth0, 0x80000040n, 1, DMA_FROM_DEVICE, 0x1000n);
      assertNoChecks(rec);
    });

    it('uses the configured cacheline size', () => {
      const rec = new TraceRecorder();
      const dd = new DmaDebug(rec, 128);
      mapChecked(rec, dd, 1, eth0, 0x80000000n, 64, DMA_FROM_DEVICE, 0x1000n);
      mapChecked(rec, dd, 2, eth0, 0x80000040n, 64, DMA_FROM_DEVICE, 0x2000n);
      assert.deepEqual(rec.checks.map((c) => c.id), ['dma-debug-overlap-eexist']);
      assert.throws(() => new DmaDebug(rec, 96), RangeError);
    });
  });

  describe('leaks', () => {
    it('reports pending entries per device like BUS_NOTIFY_UNBOUND_DRIVER', () => {
      const { rec, dd } = setup();
      mapChecked(rec, dd, 3, eth0, 0x80000000n, 4096, DMA_TO_DEVICE, 0xfffff000n);
      // Created last but first in hash order (bucket 0), so the report shows the other one.
      mapChecked(rec, dd, 4, eth0, 0x80001000n, 2048, DMA_FROM_DEVICE, 0x1000n);
      dd.debugDmaAllocCoherent(nvme0, 8192, 0x10000n, 0x90000000n);
      rec.line = 20;
      assert.equal(dd.reportLeaks(eth0), 1);
      assert.deepEqual(
        rec.checks.map((c) => [c.line, c.id, c.severity, c.message, c.relatedLine]),
        [
          [
            20,
            'dma-debug-leak',
            'error',
            PFX +
              'device driver has pending DMA allocations while released from device [count=2]\n' +
              'One of leaked entries details: [device address=0x00000000fffff000] [size=4096 bytes] [mapped with DMA_TO_DEVICE] [mapped as phy]',
            3,
          ],
        ],
      );
      // Reporting does not forget the entries.
      assert.equal(dd.pendingEntries().length, 3);
      rec.checks.length = 0;
      assert.equal(dd.reportLeaks(), 2);
      assert.deepEqual(
        rec.checks.map((c) => c.message.split('\n')[0]),
        [
          PFX + 'device driver has pending DMA allocations while released from device [count=2]',
          'DMA-API: nvme 0000:01:00.0: device driver has pending DMA allocations while released from device [count=1]',
        ],
      );
      assert.match(rec.checks[1]!.message, /\[size=8192 bytes\] \[mapped with DMA_BIDIRECTIONAL\] \[mapped as coherent\]$/);
    });

    it('lists pending entries oldest first', () => {
      const { rec, dd } = setup();
      mapChecked(rec, dd, 1, eth0, 0x80000000n, 4096, DMA_TO_DEVICE, 0xfffff000n);
      mapChecked(rec, dd, 2, eth0, 0x80001000n, 4096, DMA_TO_DEVICE, 0x1000n);
      assert.deepEqual(dd.pendingEntries().map((e) => [e.line, e.devAddr, e.paddr, e.size, e.direction, e.type]), [
        [1, 0xfffff000n, 0x80000000n, 4096n, DMA_TO_DEVICE, 'phy'],
        [2, 0x1000n, 0x80001000n, 4096n, DMA_TO_DEVICE, 'phy'],
      ]);
    });
  });

  it('dumps mappings like debug_dma_dump_mappings()', () => {
    const { rec, dd } = setup();
    mapChecked(rec, dd, 1, eth0, 0x80000040n, 4096, DMA_FROM_DEVICE, 0xfffff000n);
    dd.debugDmaMapPhys(eth0, 0x80002000n, 0x100, DMA_TO_DEVICE, 0x2000n);
    assert.deepEqual(dd.debugDmaDumpMappings(eth0), [
      'e1000e 0000:02:00.0: phy idx 1 P=0x0000000080002000 D=2000 L=100 cln=0x0000000002000080 DMA_TO_DEVICE dma map error not checked',
      'e1000e 0000:02:00.0: phy idx 16383 P=0x0000000080000040 D=fffff000 L=1000 cln=0x0000000002000001 DMA_FROM_DEVICE dma map error checked',
    ]);
    assert.equal(rec.log.length, 2);
  });

  it('does nothing when disabled (dma_debug=off)', () => {
    const { rec, dd } = setup();
    dd.disabled = true;
    dd.debugDmaMapPhys(eth0, 0x80000000n, 4096, DMA_TO_DEVICE, 0x1000n);
    dd.debugDmaUnmapPhys(eth0, 0x2000n, 4096, DMA_TO_DEVICE);
    dd.debugDmaSyncSingleForCpu(eth0, 0x2000n, 4096, DMA_TO_DEVICE);
    assertNoChecks(rec);
    assert.deepEqual(dd.pendingEntries(), []);
  });

  it('survives a snapshot: the clone diverges independently', () => {
    const { rec, dd } = setup();
    mapChecked(rec, dd, 1, eth0, 0x80000000n, 64, DMA_FROM_DEVICE, 0x1000n);
    const snap = cloneState({ rec, dd });
    dd.debugDmaUnmapPhys(eth0, 0x1000n, 64, DMA_FROM_DEVICE);
    assert.equal(dd.pendingEntries().length, 0);
    assert.equal(snap.dd.pendingEntries().length, 1);
    // The clone still tracks the cacheline and reports into its own recorder.
    mapChecked(snap.rec, snap.dd, 2, eth0, 0x80000000n, 64, DMA_FROM_DEVICE, 0x2000n);
    assert.deepEqual(snap.rec.checks.map((c) => c.id), ['dma-debug-overlap-eexist']);
    assertNoChecks(rec);
  });

  it('property: matched map/check/unmap in any order raises no check and leaves nothing', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 4095 }), { minLength: 1, maxLength: 24 }),
        fc.array(fc.constantFrom(DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE), { minLength: 24, maxLength: 24 }),
        fc.array(fc.integer({ min: 1, max: 0x10000 }), { minLength: 24, maxLength: 24 }),
        fc.infiniteStream(fc.nat()),
        (slots, dirs, sizes, order) => {
          const { rec, dd } = setup();
          // Distinct pages of memory and distinct IOVAs: no shared cacheline, no shared dev_addr.
          const maps = slots.map((s, i) => ({ phys: 0x80000000n + BigInt(s) * 0x20000n, dma: 0x100000n + BigInt(s) * 0x20000n, dir: dirs[i]!, size: sizes[i]! }));
          for (const m of maps) {
            mapChecked(rec, dd, 1, eth0, m.phys, m.size, m.dir, m.dma);
            dd.debugDmaSyncSingleForCpu(eth0, m.dma, m.size, m.dir === DMA_TO_DEVICE ? DMA_TO_DEVICE : DMA_FROM_DEVICE);
            dd.debugDmaSyncSingleForDevice(eth0, m.dma, m.size, m.dir === DMA_FROM_DEVICE ? DMA_FROM_DEVICE : DMA_TO_DEVICE);
          }
          const left = [...maps];
          const it = order[Symbol.iterator]();
          while (left.length > 0) {
            const [m] = left.splice(it.next().value! % left.length, 1);
            dd.debugDmaUnmapPhys(eth0, m!.dma, m!.size, m!.dir);
          }
          return rec.checks.length === 0 && dd.pendingEntries().length === 0 && dd.errorCount === 0;
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });

  it('property: map, mapping_error and unmap of single mappings give what a list of entries scanned in hash order gives (the bucket remembered, entries reused, clones)', () => {
    /** The kernel's behaviour for this subset, as a plain list: add_dma_entry, debug_dma_mapping_error, check_unmap's best fit and reports. */
    interface ModelEntry { dev: DmaDebugDevice; dma: bigint; size: number; dir: DmaDirection; checked: boolean; line: number }
    const bucket = (dma: bigint): bigint => (dma >> 13n) & 16383n;
    const hex16 = (x: bigint): string => '0x' + x.toString(16).padStart(16, '0');
    type Op = { kind: 'map' | 'check' | 'unmap'; dev: DmaDebugDevice; dma: bigint; size: number; dir: DmaDirection } | { kind: 'clone' };
    const dev = fc.constantFrom(eth0, nvme0);
    // Addresses that share a bucket (0x1000, 0x1800), share one 2^27 apart (0x8001000), and one alone.
    const dma = fc.constantFrom(0x1000n, 0x1800n, 0x8001000n, 0x40000n);
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constantFrom('map' as const, 'check' as const, 'unmap' as const), dev, dma, size: fc.constantFrom(0x800, 0x1000), dir: fc.constantFrom(DMA_TO_DEVICE, DMA_FROM_DEVICE) }),
      fc.record({ kind: fc.constant('clone' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        let { rec, dd } = setup();
        dd.bounceUnalignedKmalloc = true; // no cacheline reports: this compares the hash and the unmap checks
        const model: ModelEntry[] = [];
        const want: string[] = [];
        let line = 0;
        for (const o of ops) {
          rec.line = ++line;
          if (o.kind === 'clone') {
            ({ rec, dd } = cloneState({ rec, dd }));
            continue;
          }
          const pfx = `DMA-API: ${o.dev.driver} ${o.dev.name}: `;
          if (o.kind === 'map') {
            dd.debugDmaMapPhys(o.dev, 0x80000000n, o.size, o.dir, o.dma);
            model.push({ dev: o.dev, dma: o.dma, size: o.size, dir: o.dir, checked: false, line });
          } else if (o.kind === 'check') {
            dd.debugDmaMappingError(o.dev, o.dma);
            const e = model.filter((m) => bucket(m.dma) === bucket(o.dma)).find((m) => m.dev === o.dev && m.dma === o.dma && !m.checked);
            if (e) e.checked = true;
          } else {
            dd.debugDmaUnmapPhys(o.dev, o.dma, o.size, o.dir);
            const same = model.filter((m) => bucket(m.dma) === bucket(o.dma) && m.dev === o.dev && m.dma === o.dma);
            const lvl = (m: ModelEntry): number => (m.size === o.size ? 1 : 0) + 1 + (m.dir === o.dir ? 1 : 0) + 1;
            const perfect = same.find((m) => lvl(m) === 4);
            const best = perfect ?? (same.length === 1 ? same[0] : undefined);
            const at = `[device address=${hex16(o.dma)}]`;
            if (!best) want.push(`${line} ${pfx}device driver tries to free DMA memory it has not allocated ${at} [size=${o.size} bytes]`);
            else {
              if (best.size !== o.size) want.push(`${line} ${pfx}device driver frees DMA memory with different size ${at} [map size=${best.size} bytes] [unmap size=${o.size} bytes]`);
              if (best.dir !== o.dir) want.push(`${line} ${pfx}device driver frees DMA memory with different direction ${at} [size=${o.size} bytes] [mapped with ${dirName(best.dir)}] [unmapped with ${dirName(o.dir)}]`);
              if (!best.checked) want.push(`${line} ${pfx}device driver failed to check map error${at} [size=${o.size} bytes] [mapped as phy]`);
              model.splice(model.indexOf(best), 1);
            }
          }
          assert.deepEqual(rec.checks.map((c) => `${c.line} ${c.message}`), want);
          assert.deepEqual(
            dd.pendingEntries().map((e) => [e.devName, e.devAddr, e.size, e.direction, e.mapErrType, e.line, e.type, e.paddr, e.sgCallEnts]),
            model.map((m) => [m.dev.name, m.dma, BigInt(m.size), m.dir, m.checked ? 'MAP_ERR_CHECKED' : 'MAP_ERR_NOT_CHECKED', m.line, 'phy', 0x80000000n, 0]),
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('exports check ids that are all distinct kebab names', () => {
    const ids = Object.values(DMA_DEBUG_CHECK);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.match(id, /^dma-debug(-[a-z]+)+$/);
  });
});
