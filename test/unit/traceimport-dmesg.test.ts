// The kernel-log reader: every printer's fault format across eras, carrier
// prefixes (dmesg, journal, syslog), mail wraps, and bad input (truncated,
// binary, endless lines).

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mayStart, mayStartByEachTest } from '../../src/traceimport/dmesg/reader';
import { stripPrefix } from '../../src/traceimport/line-prefix';
import { REAL_DIR, SYNTHETIC_DIR, assertAccounted, captureFiles, findingsOf, importBytes, importFixture } from './traceimport-helpers';

describe('traceimport: carrier prefixes', () => {
  it('splits dmesg, dmesg -T/-H, syslog, journal, rsyslog, dmesg -x, kmsg levels and mail quotes from the text', () => {
    const cases: [string, string, string, number | undefined, string | undefined][] = [
      ['[   13.134460] DMAR: x', 'DMAR: x', 'dmesg', 13.13446, undefined],
      ['[Thu Jan  4 23:12:54 2024] ahci 0000:28:00.0: x', 'ahci 0000:28:00.0: x', 'dmesg', undefined, 'Thu Jan  4 23:12:54 2024'],
      ['[  +0.000012] xhci_hcd 0000:47:00.1: x', 'xhci_hcd 0000:47:00.1: x', 'dmesg', undefined, '+0.000012'],
      ['Jan  4 23:12:54 host kernel: [  221.5] AMD-Vi: x', 'AMD-Vi: x', 'syslog', 221.5, 'Jan  4 23:12:54'],
      ['Jan 04 23:12:54 host kernel: AMD-Vi: x', 'AMD-Vi: x', 'journal', undefined, 'Jan 04 23:12:54'],
      ['2024-01-04T23:12:54.123456+01:00 host kernel: DMAR: x', 'DMAR: x', 'syslog', undefined, '2024-01-04T23:12:54.123456+01:00'],
      ['2024-01-04T23:12:54+0100 host kernel: DMAR: x', 'DMAR: x', 'journal', undefined, '2024-01-04T23:12:54+0100'],
      ['[   13.1] host kernel: DMAR: x', 'DMAR: x', 'journal', 13.1, undefined],
      ['kernel: [   13.1] AMD-Vi: Event logged [', 'AMD-Vi: Event logged [', 'syslog', 13.1, undefined],
      ['kern  :err   : [   13.1] DMAR: x', 'DMAR: x', 'dmesg', 13.1, undefined],
      ['<3>[   13.1] DMAR: x', 'DMAR: x', 'dmesg', 13.1, undefined],
      ['> > [    1.0] DMAR: x', 'DMAR: x', 'dmesg', 1, undefined],
      ['  DMAR: x', 'DMAR: x', 'none', undefined, undefined],
    ];
    for (const [raw, body, kind, seconds, time] of cases) {
      const p = stripPrefix(raw);
      assert.deepEqual([p.body, p.kind, p.seconds, p.time], [body, kind, seconds, time], raw);
    }
  });
});

describe('traceimport: boot timestamps read by hand', () => {
  it('give the seconds and text the dmesg timestamp pattern gives, for any stamp (odd digit counts, tabs, other spaces)', () => {
    const BOOT_TS = /^\[\s*(\d{1,10}\.\d{1,9})\]\s?/;
    const piece = fc.constantFrom('[', ']', '.', ' ', '\t', '\u00a0', '0', '1', '9', '12345', '0000000000', '999999999', 'x');
    const stamp = fc.oneof(
      fc.tuple(fc.constantFrom('', ' ', '   ', '\t'), fc.stringMatching(/^\d{1,12}$/), fc.stringMatching(/^\d{0,11}$/), fc.constantFrom('] ', ']', ']\t', ']\u00a0', '] \t', ' ]')).map(([sp, a, b, end]) => `[${sp}${a}.${b}${end}`),
      fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
    );
    fc.assert(
      fc.property(stamp, fc.constantFrom('DMAR: x', 'usb 3-3: new device', ''), (st, text) => {
        const raw = st + text;
        const m = BOOT_TS.exec(raw);
        const p = stripPrefix(raw);
        if (m === null) {
          assert.equal(p.seconds, undefined, raw);
          return;
        }
        assert.equal(p.seconds, Number(m[1]), JSON.stringify(raw));
        assert.equal(p.body, raw.slice(m[0].length), JSON.stringify(raw));
        assert.equal(p.kind, 'dmesg');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('traceimport: kernel-log faults', () => {
  it('VT-d in every era: 3.x two lines, 4.x, 5.x PASID %x, NO_PASID, PASID 0x, 0x-BDF, INTR-REMAP, the DMAR_DEBUG dump', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'dmesg-vtd-eras.log');
    assertAccounted(r);
    assert.equal(r.unknown.count + r.malformed.length, 0);
    const f = r.findings;
    assert.deepEqual(
      f.map((x) => [x.line, x.kind, x.device, x.access, x.addr, x.fault_reason, x.pasid]),
      [
        [2, 'io_page_fault', '0000:00:02.0', 'write', '0x6df084000', 5, undefined],
        [5, 'io_page_fault', '0000:00:1f.2', 'read', '0x7fa45000', 6, undefined],
        [6, 'io_page_fault', '0000:02:00.0', 'write', '0xffffe000', 5, undefined],
        [7, 'io_page_fault', '0000:02:00.0', 'read', '0x7f001000', 17, 5],
        [8, 'io_page_fault', '0000:03:00.0', 'read', '0xfed00000', 6, undefined],
        [9, 'io_page_fault', '0000:af:00.1', 'write', '0x7ffd2000', 0x5b, 2],
        [14, 'intr_remap_fault', '0000:f0:1f.0', undefined, undefined, 0x25, undefined],
        [15, 'io_page_fault', '0000:00:14.0', 'read', '0x100000', 0x71, undefined],
      ],
    );
    assert.equal(f[0].endLine, 3, 'the 3.x reason line');
    assert.equal(f[0].reason, 'PTE Write access is not set');
    assert.equal(f[2].pasid_present, false, 'PASID ffffffff means none');
    assert.equal(f[5].endLine, 13);
    assert.equal((f[5].dump as string[]).length, 4);
    assert.equal(f[6].fault_index, '0x1a');
  });

  it('AMD-Vi in the journal: per device, with the PCI segment, vflags, other event types, the ratelimit line', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'journal-amd-vi.log');
    assertAccounted(r);
    assert.equal(r.format, 'journal');
    const faults = findingsOf(r, 'io_page_fault');
    assert.deepEqual(
      faults.map((f) => [f.line, f.device, f.addr, f.access]),
      [
        [2, '0000:28:00.0', '0x7fffff00000', 'read'],
        [3, '0000:28:00.0', '0x7fffff00300', 'write'],
        [4, '0001:02:00.0', '0xfee00000', 'read'],
        [5, '0000:04:10.0', '0x7b657064', 'read'],
        [7, '0000:07:00.0', '0xffffc02000', 'read'],
      ],
    );
    assert.equal(faults[2].reason, 'IO_PAGE_FAULT: page present, access not permitted');
    assert.equal(faults[3].vflags, '0x2');
    assert.equal(faults[0].ts, 'Jan 04 23:12:54');
    const [ill] = findingsOf(r, 'iommu_event');
    assert.deepEqual([ill.event, ill.device, ill.pasid], ['ILLEGAL_DEV_TABLE_ENTRY', '0000:00:12.0', 0]);
    assert.equal(findingsOf(r, 'callbacks_suppressed')[0].count, 12);
    assert.equal(r.unknown.count, 2);
  });

  it('the old AMD-Vi split event survives a line of another driver between its pieces', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'syslog-amd-split-interleaved.log');
    assertAccounted(r);
    assert.equal(r.format, 'syslog');
    const faults = findingsOf(r, 'io_page_fault');
    assert.deepEqual(faults.map((f) => [f.line, f.endLine, f.addr]), [[1, 3, '0xff6101b0'], [4, undefined, '0xff610200']]);
    assert.equal(r.unknown.samples[0].line, 2);
  });

  it('arm-smmu without fsr (3.x), with permission faults; SMMUv3 records of two SMMUs interleaved', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'dmesg-arm-smmu.log');
    assertAccounted(r);
    assert.equal(r.unknown.count + r.malformed.length, 0);
    const [old, perm, v3] = findingsOf(r, 'io_page_fault');
    assert.deepEqual([old.addr, old.cb, old.access, old.reason], ['0x10000000', 3, 'write', 'context fault']);
    assert.deepEqual([perm.addr, perm.reason, perm.sid], ['0x12345000', 'permission fault', '0x21']);
    assert.deepEqual([v3.line, v3.endLine, v3.iommu, v3.device, v3.addr, v3.access], [4, 15, 'arm-smmu-v3.1.auto', '38200000.dwc3', '0xfee000', 'read']);
    const [ste] = findingsOf(r, 'iommu_event');
    assert.deepEqual([ste.line, ste.endLine, ste.event, ste.device, ste.sid], [3, 13, 'C_BAD_STE', '0000:01:00.0', '0x100']);
  });

  it('swiotlb in each wording, the dma-direct overflow, old-era dma-debug with "Mapped at:", a leak report, unaligned unmap', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'dmesg-swiotlb-dma-debug.log');
    assertAccounted(r);
    assert.equal(r.unknown.count + r.malformed.length, 0);
    assert.deepEqual(
      findingsOf(r, 'swiotlb_full').map((f) => [f.line, f.device, f.size, f.used_slots]),
      [
        [1, '30b40000.mmc', 65536, undefined],
        [2, '30b40000.mmc', 65536, undefined],
        [3, '0000:01:00.0', 524288, 32640],
      ],
    );
    const [ov] = findingsOf(r, 'dma_overflow');
    assert.deepEqual([ov.addr, ov.size, ov.dma_mask], ['0x123456000', 4096, '0xffffffff']);
    const [sync, leak] = findingsOf(r, 'dma_debug');
    assert.deepEqual([sync.line, sync.startLine, sync.endLine, sync.device, sync.addr, sync.size], [7, 5, 15, '0000:00:19.0', '0xfffea000', 1522]);
    assert.equal(sync.warning_at, 'lib/dma-debug.c:1096');
    assert.equal((sync.call_trace as string[]).length, 3);
    assert.deepEqual([leak.line, leak.endLine, leak.count, leak.reason], [16, 17, 3, 'device driver has pending DMA allocations while released from device']);
    const [un] = findingsOf(r, 'iommu_unaligned');
    assert.deepEqual([un.operation, un.addr, un.min_pagesz], ['unmap', '0xfffff800', 0x4000]);
  });

  it('joins lines a mail client wrapped (also quoted-printable soft breaks), in logs and traces', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'wrapped-mail.log');
    assertAccounted(r);
    assert.equal(r.unknown.count + r.malformed.length, 0);
    const faults = findingsOf(r, 'io_page_fault');
    assert.deepEqual(
      faults.map((f) => [f.line, f.endLine, f.device, f.addr, f.domain]),
      [
        [1, 2, '0000:23:00.0', '0xffffffffffec0000', '0x0000'],
        [3, 4, '0000:04:10.0', '0x7b657064', '0x0037'],
        [7, 8, '0000:03:00.1', '0xfffc0000', undefined],
      ],
    );
    assert.equal(faults[2].reason, 'Present bit in context entry is clear');
    assert.deepEqual([...r.events].map((e) => [e.line, e.endLine, e.kind]), [[5, 6, 'dma_free']]);
  });
});

describe('traceimport: bad input', () => {
  it('a file cut inside an AMD-Vi event: truncated error, the lines before kept', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'truncated-amd.log');
    assertAccounted(r);
    assert.equal(r.error?.code, 'truncated');
    assert.equal(r.error?.line, 2);
    assert.match(r.error?.message ?? '', /ends inside line 2/);
    assert.equal(findingsOf(r, 'callbacks_suppressed')[0].count, 96);
  });

  it('a file cut inside an SMMUv3 record: truncated, the record reported malformed', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'truncated-smmuv3.log');
    assertAccounted(r);
    assert.equal(r.error?.code, 'truncated');
    assert.match(r.error?.message ?? '', /SMMUv3 event record at line 1 has 2 of its 4 words/);
    assert.deepEqual(r.malformed.map((m) => m.line), [1]);
  });

  it('a complete last line without a newline is no truncation', async () => {
    const r = await importBytes('[ 1.0] iommu: unaligned: iova 0x1000 size 0x800 min_pagesz 0x1000');
    assert.equal(r.error, undefined);
    assert.equal(r.lines, 1);
    assert.equal(findingsOf(r, 'iommu_unaligned').length, 1);
  });

  it('binary data: stops at the NUL byte with a clear error, what came before is in the result', async () => {
    const text = Buffer.from('[ 1.0] iommu: unaligned: iova 0x1000 size 0x800 min_pagesz 0x1000\nsecond line\nthird\u0000\u0001\u0002 garbage\nmore\n');
    const r = await importBytes(text);
    assert.equal(r.error?.code, 'binary');
    assert.equal(r.error?.line, 3);
    assert.match(r.error?.message ?? '', /NUL byte\) at byte offset 83 \(line 3\).*the 2 lines before it were read/);
    assert.equal(findingsOf(r, 'iommu_unaligned').length, 1);
    assert.equal(r.lines, 3);
    assertAccounted(r);
  });

  it('a gzip file or a trace.dat is named as such', async () => {
    const gz = await importBytes(new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0]));
    assert.equal(gz.error?.code, 'binary');
    assert.match(gz.error?.message ?? '', /gzip-compressed/);
    assert.equal(gz.lines, 0);
    const dat = await importBytes(Buffer.concat([Buffer.from([0x17, 0x08, 0x44]), Buffer.from('tracing6\n')]));
    assert.match(dat.error?.message ?? '', /trace-cmd trace.dat/);
  });

  it('an endless line is cut, reported malformed, and the next line keeps its number', async () => {
    const long = 'x'.repeat(400_000);
    const r = await importBytes(`${long}\n[ 2.0] iommu: unaligned: iova 0x1000 size 0x800 min_pagesz 0x1000\n`);
    assert.equal(r.lines, 2);
    assert.equal(r.malformed[0].line, 1);
    assert.match(r.malformed[0].reason, /longer than 65536 characters/);
    assert.ok(r.malformed[0].text.length < 400);
    assert.equal(findingsOf(r, 'iommu_unaligned')[0].line, 2);
    assertAccounted(r);
  });

  it('an empty file is an empty dmesg capture', async () => {
    const r = await importBytes('');
    assert.deepEqual([r.format, r.lines, r.findings.length, r.error], ['dmesg', 0, 0, undefined]);
  });
});

describe('traceimport: kernel-log matcher gate', () => {
  const WORDS = ['suppressed', 'Event logged [', 'context fault', ' received:', 'swiotlb', 'SW-IOMMU', 'SWIOTLB', ' overflow (mask', 'unaligned: ', 'DMAR: ', 'dmar: ', 'INTR-REMAP', 'cut here', 'WARNING:', 'BUG', 'general protection', 'Oops', 'Internal error', 'Unable to handle', 'Kernel panic', 'DMA-API', 'Modules linked in', 'CPU: 3', 'CPU: x', 'Hardware name', 'Workqueue:', 'RIP:', 'EIP:', 'Code:', 'Call Trace', 'Call trace', 'Mapped at', 'pc : ', 'lr : ', 'PC is at', 'LR is at', '+0x', 'Event logged', 'context', 'SW-IOMM', 'unaligned'];
  const piece = fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 6 }), fc.constantFrom(' ', 'nvme 0000:01:00.0: ', 'x'));

  it('passes a line to the matchers exactly when one of their own tests would (any mix of their words, cut and joined)', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), fc.nat(8), (parts, cut) => {
        const body = parts.join('').slice(cut);
        assert.equal(mayStart(body), mayStartByEachTest(body), JSON.stringify(body));
      }),
      { numRuns: 3000 },
    );
  });

  it('passes every line of every fixture as each test would', () => {
    for (const dir of [REAL_DIR, SYNTHETIC_DIR]) {
      for (const file of captureFiles(dir)) {
        for (const raw of fs.readFileSync(path.join(dir, file), 'latin1').split('\n')) {
          const body = stripPrefix(raw).body;
          assert.equal(mayStart(body), mayStartByEachTest(body), `${file}: ${raw}`);
        }
      }
    }
  });
});
