// The ftrace / trace_pipe / trace-cmd report reader: each event parsed by its
// own print format of its era (event-formats.ts), the header columns, and
// the lines that are not events.

import { strict as assert } from 'node:assert';
import { EVENT_FORMATS } from '../../src/traceimport/event-formats';
import { FORMATS_BY_EVENT, compileFormat, parsePayload } from '../../src/traceimport/event-parser';
import fc from 'fast-check';
import { newHeaderScan, parseFtraceLine, parseLostEvents, scanFtraceHeader } from '../../src/traceimport/ftrace-line';
import { Interner } from '../../src/traceimport/values';
import { SYNTHETIC_DIR, assertAccounted, findingsOf, importBytes, importFixture } from './traceimport-helpers';

describe('traceimport: event format table', () => {
  it('compiles every format, one field per conversion, and lists each event newest first', () => {
    for (const spec of EVENT_FORMATS) {
      const c = compileFormat(spec);
      assert.equal(c.fields.length, c.kinds.length, spec.event);
    }
    for (const name of ['dma_map_phys', 'dma_map_page', 'dma_unmap_sg', 'dma_alloc', 'dma_free', 'dma_map_sg', 'dma_sync_sg_for_cpu', 'map', 'unmap', 'io_page_fault', 'swiotlb_bounced', 'map_single']) {
      assert.ok(FORMATS_BY_EVENT.has(name), name);
    }
    assert.deepEqual(FORMATS_BY_EVENT.get('map')?.map((f) => f.spec.since), ['~5.17', '3.13', 'patch']);
  });

  it('parses a payload field by field and says why one does not match', () => {
    const intern = new Interner();
    const ok = parsePayload('dma_map_phys', '0000:01:00.0 dir=FROM_DEVICE dma_addr=fffff000 size=4096 phys_addr=1076a2000 attrs=SKIP_CPU_SYNC', intern);
    assert.ok(ok.ok);
    if (ok.ok) assert.deepEqual(Object.fromEntries(ok.format.fields.map((name, i) => [name, ok.values[i]])), { device: '0000:01:00.0', dir: 'FROM_DEVICE', dma_addr: '0xfffff000', size: 4096, phys_addr: '0x1076a2000', attrs: 'SKIP_CPU_SYNC' });
    const bad = parsePayload('dma_map_phys', '0000:01:00.0 dir=UP dma_addr=fffff000 size=4096 phys_addr=1076a2000 attrs=', intern);
    assert.ok(!bad.ok);
    if (!bad.ok) assert.match(bad.reason, /dir=UP is not one of BIDIRECTIONAL/);
    const huge = parsePayload('dma_unmap_phys', '0000:01:00.0 dir=TO_DEVICE dma_addr=1ffffffffffffffff size=1 attrs=', intern);
    assert.ok(!huge.ok, 'a 17-digit address is no u64');
  });

  it('reads the header columns: comm with dashes and spaces, pid, cpu, flags, timestamp', () => {
    const h = parseFtraceLine('   (udev-worker)-532     [010] .....     4.878076: map: IOMMU: iova=0x1 - 0x2 paddr=0x3 size=1');
    assert.deepEqual(h && [h.comm, h.pid, h.cpu, h.flags, h.ts, h.event, h.style], ['(udev-worker)', 532, 10, '.....', 4.878076, 'map', 'ftrace']);
    const t = parseFtraceLine('  kworker/2:1H-311   [002]  1034.551214: dma_map_phys:         0000:01:00.0 dir=TO_DEVICE');
    assert.deepEqual(t && [t.comm, t.flags, t.style, t.payload], ['kworker/2:1H', undefined, 'trace-cmd', '0000:01:00.0 dir=TO_DEVICE']);
    const tgid = parseFtraceLine('            bash-1977  (   1977) [000] d..1. 17284.993652: dma_unmap_phys: x');
    assert.deepEqual(tgid && [tgid.comm, tgid.pid, tgid.cpu], ['bash', 1977, 0]);
    const sys = parseFtraceLine('  a b-7 [001] .... 1.5: iommu:io_page_fault: IOMMU:x 0000:00:01.0 iova=0x0000000000001000 flags=0x0000');
    assert.deepEqual(sys && [sys.comm, sys.system, sys.event], ['a b', 'iommu', 'io_page_fault']);
    assert.equal(parseFtraceLine('[   10.919601] amd_iommu_report_page_fault: 96 callbacks suppressed'), undefined);
  });

  it('reads a lost-events line with or without leading spaces, and no kernel-log line as one', () => {
    assert.deepEqual(parseLostEvents('CPU:3 [LOST 120 EVENTS]'), { cpu: 3, count: 120 });
    assert.deepEqual(parseLostEvents(' \tCPU: 12 [LOST EVENTS]'), { cpu: 12, count: undefined });
    assert.equal(parseLostEvents('[    1.000000] CPU:3 [LOST 120 EVENTS]'), undefined);
    assert.equal(parseLostEvents('cpu:3 [LOST 120 EVENTS]'), undefined);
  });
});

describe('traceimport: ftrace captures', () => {
  it('v6.18: every dma:* event, iommu:* events, swiotlb_bounced, the _err findings and lost events', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'ftrace-dma-6.18.trace');
    assertAccounted(r);
    assert.equal(r.format, 'ftrace');
    assert.equal(r.events.length, 23);
    assert.equal(r.accounting.ignored, 12, 'the comment header');
    const kinds = [...r.events].map((e) => e.kind);
    for (const k of ['dma_map_phys', 'dma_unmap_phys', 'dma_map_sg', 'dma_unmap_sg', 'dma_sync_single_for_cpu', 'dma_sync_single_for_device', 'dma_sync_sg_for_cpu', 'dma_sync_sg_for_device', 'dma_alloc', 'dma_alloc_pages', 'dma_alloc_sgt', 'dma_free_sgt', 'dma_free_pages', 'dma_free', 'dma_map_sg_err', 'dma_alloc_sgt_err', 'swiotlb_bounced', 'map', 'unmap', 'io_page_fault', 'add_device_to_group', 'attach_device_to_domain']) {
      assert.ok(kinds.includes(k), k);
    }
    const sg = [...r.events].find((e) => e.kind === 'dma_map_sg');
    assert.deepEqual([sg?.nents, sg?.ents, sg?.truncated, sg?.dma_addrs, sg?.sizes, sg?.phys_addrs], [3, 1, false, ['0xffff8000'], [0x3000], ['0x10a3c4000', '0x10a3c5000', '0x10b000000']]);
    const mapped = [...r.events].find((e) => e.kind === 'dma_map_phys' && e.device === '0000:02:00.0');
    assert.equal(mapped?.attrs, 'SKIP_CPU_SYNC|MMIO');
    const err = findingsOf(r, 'dma_map_error');
    assert.deepEqual(err.map((f) => [f.line, f.event, f.err]), [[31, 'dma_map_sg_err', -12], [32, 'dma_alloc_sgt_err', undefined]]);
    const [lost] = findingsOf(r, 'lost_events');
    assert.deepEqual([lost.line, lost.cpu, lost.count], [36, 3, 120]);
    const [fault] = findingsOf(r, 'io_page_fault');
    assert.deepEqual([fault.device, fault.addr, fault.access, fault.driver], ['0000:01:00.0', '0xfffff010', 'write', 'nvme']);
    const group = [...r.events].find((e) => e.kind === 'add_device_to_group');
    assert.equal(group?.group, 7);
  });

  it('v6.12: dma_map_page/resource, alloc/free without dir=, the pre-range iommu map, the old swiotlb enum', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'ftrace-dma-6.12.trace');
    assertAccounted(r);
    assert.equal(r.malformed.length, 0);
    const byKind = new Map([...r.events].map((e) => [e.kind, e]));
    assert.equal(byKind.get('dma_map_page')?.phys_addr, '0x11a000800');
    assert.equal(byKind.get('dma_map_resource')?.since, '6.12');
    assert.equal(byKind.get('dma_alloc')?.since, '6.12');
    assert.equal(byKind.get('dma_alloc')?.dir, undefined);
    assert.equal(byKind.get('map')?.since, '3.13');
    assert.equal(byKind.get('swiotlb_bounced')?.force, 'NO_FORCE');
    assert.equal(byKind.get('swiotlb_bounced')?.since, '4.10', 'only the enum era prints NO_FORCE');
    assert.equal(byKind.get('detach_device_from_domain')?.device, '0000:c2:00.0');
    assert.equal(r.findings.length, 0, 'every mapping is unmapped, with its size and direction');
  });

  it('trace-cmd report: no flags column, padded event names, other subsystems counted as unknown', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'trace-cmd-report.txt');
    assertAccounted(r);
    assert.equal(r.format, 'trace-cmd');
    assert.equal(r.events.length, 4);
    assert.equal(r.unknown.count, 1);
    assert.match(r.unknown.samples[0].text, /sched_switch/);
    assert.equal(r.events.at(2).force, 'FORCE');
  });

  it('intel_iommu (v5.3 to v5.7): map_single, map_sg with its index, bounce maps', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'intel-iommu-5.5.trace');
    assertAccounted(r);
    assert.deepEqual(
      [...r.events].map((e) => [e.kind, e.system, e.addr, e.size]),
      [
        ['map_single', 'intel_iommu', '0xfffff000', 4096],
        ['map_sg', 'intel_iommu', '0xffffc000', 8192],
        ['map_sg', 'intel_iommu', '0xffffe000', 4096],
        ['bounce_map_single', 'intel_iommu', '0xffffb000', 512],
        ['unmap_single', 'intel_iommu', '0xfffff000', 4096],
        ['bounce_unmap_single', 'intel_iommu', '0xffffb000', 512],
      ],
    );
    assert.deepEqual([r.events.at(1).index, r.events.at(1).total], [1, 2]);
  });

  it('--format dmesg leaves trace lines unknown; --format ftrace leaves kernel-log lines unknown', async () => {
    const text = '  a-1 [000] ..... 1.0: dma_unmap_phys: 0000:01:00.0 dir=TO_DEVICE dma_addr=1000 size=4096 attrs=\n[ 2.0] iommu: unaligned: iova 0x1000 size 0x800 min_pagesz 0x1000\n';
    const asLog = await importBytes(text, { format: 'dmesg' });
    assert.deepEqual([asLog.events.length, findingsOf(asLog, 'iommu_unaligned').length, asLog.unknown.count], [0, 1, 1]);
    const asTrace = await importBytes(text, { format: 'ftrace' });
    assert.deepEqual([asTrace.events.length, findingsOf(asTrace, 'iommu_unaligned').length, asTrace.unknown.count], [1, 0, 1]);
    assert.equal(asTrace.format, 'ftrace');
    const auto = await importBytes(text);
    assert.deepEqual([auto.events.length, findingsOf(auto, 'iommu_unaligned').length, auto.unknown.count], [1, 1, 0]);
  });

  it('a payload that does not match its format is malformed with the format it was held against', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'malformed-mixed.log');
    assertAccounted(r);
    assert.deepEqual(
      r.malformed.map((m) => m.line),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.match(r.malformed[0].reason, /^dma_map_phys: dir=SIDEWAYS is not one of/);
    assert.match(r.malformed[2].reason, /map: does not match the map format \("IOMMU: iova=0x%016llx - 0x%016llx paddr/);
    assert.equal(r.unknown.count, 1);
  });
});

describe('traceimport: ftrace header scan reused line after line', () => {
  // The importer scans every line into one FtraceHeaderScan, which reads a line whose text before the timestamp
  // is the last header's from that header: any sequence of lines must read as each line alone does.
  const piece = fc.constantFrom(' ', '  ', 'kworker/0:1H', 'a b', '(udev-worker)', '-', '-300', '-301', '[000]', '[001]', '[12345678]', '(  532)', '.....', 'd..1.', 'dN.2.', '1000.000100', '1000.5', '7', '12345678901234567890.5', ':', ': ', 'map', 'iommu:map', 'dma_map_phys', 'x', 'IOMMU: iova=0x1', '\t', '.', '[');
  const header = fc.record({
    comm: fc.constantFrom('kworker/0:1H', 'a b', '(udev-worker)', 'irq/26-AMD-Vi', '<...>'),
    pid: fc.constantFrom('300', '301', '1234567890123456789'),
    tgid: fc.constantFrom('', ' (  532)'),
    cpu: fc.constantFrom('000', '001', '12'),
    flags: fc.constantFrom('', ' .....', ' d..1.'),
  });
  const line = fc.oneof(
    fc.tuple(header, fc.constantFrom('1000.000100', '1000.5', '7', 'x1.5', '99999999999999999.123', ' 1.0', '1.'), fc.constantFrom(': map: IOMMU: x', ': iommu:map: p', ': sched_switch:', ':x', ' ')).map(([h, ts, rest]) => `  ${h.comm}-${h.pid}${h.tgid} [${h.cpu}]${h.flags}  ${ts}${rest}`),
    fc.array(piece, { maxLength: 14 }).map((p) => p.join('')),
  );
  it('reads each line of any sequence as a fresh scan of that line alone', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        const reused = newHeaderScan();
        for (const raw of lines) {
          const fresh = newHeaderScan();
          const want = scanFtraceHeader(raw, fresh);
          assert.equal(scanFtraceHeader(raw, reused), want, raw);
          if (!want) continue;
          const { repeated: _r, prefix: _p, prefixFirst: _f, ...got } = reused;
          const { repeated: _r2, prefix: _p2, prefixFirst: _f2, ...exp } = fresh;
          assert.deepStrictEqual(got, exp, raw);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('reads a repeated header from the last one, and a failed line leaves it in place', () => {
    const h = newHeaderScan();
    assert.ok(scanFtraceHeader('  kworker/0:1H-300  [000] .....  1000.000100: map: IOMMU: a', h));
    assert.equal(h.repeated, false);
    assert.equal(h.prefix, '  kworker/0:1H-300  [000] .....  ');
    assert.equal(scanFtraceHeader('[ 1000.1] r8169 0000:04:00.0 eno1: Link is Up', h), false);
    assert.ok(scanFtraceHeader('  kworker/0:1H-300  [000] .....  1000.000200: unmap: IOMMU: b', h));
    assert.deepEqual([h.repeated, h.pid, h.cpu, h.ts, h.commStart, h.commEnd, h.flagsStart, h.flagsEnd], [true, 300, 0, 1000.0002, 2, 14, 26, 31]);
    // Another task: read in full.
    assert.ok(scanFtraceHeader('  kworker/1:1H-301  [001] .....  1000.000300: map: IOMMU: c', h));
    assert.deepEqual([h.repeated, h.pid, h.cpu], [false, 301, 1]);
  });
});
