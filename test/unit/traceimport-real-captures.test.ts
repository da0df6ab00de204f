// Every real public capture (test/fixtures/captures/real, copied from the
// project's reference material) imports to the findings and events its
// README describes, with every line accounted for.

import { strict as assert } from 'node:assert';
import { REAL_DIR, assertAccounted, captureFiles, findingsOf, importFixture } from './traceimport-helpers';
import type { ImportResult } from '../../src/traceimport/types';

function load(name: string): Promise<ImportResult> {
  return importFixture(REAL_DIR, name);
}

describe('traceimport: real captures', () => {
  it('has the 17 captures and reads every one without error, every line accounted for', async () => {
    const files = captureFiles(REAL_DIR);
    assert.equal(files.length, 17);
    for (const f of files) {
      const r = await load(f);
      assert.equal(r.error, undefined, f);
      assertAccounted(r);
      assert.ok(r.findings.length + r.events.length > 0, `${f}: nothing found`);
      // The "# Source:" header lines are the only ignored ones.
      assert.equal(r.malformed.length, 0, `${f}: ${JSON.stringify(r.malformed)}`);
    }
  });

  it('01: the 3.x two-line VT-d fault is one read fault with its reason from the second line', async () => {
    const r = await load('01-vtd-dmar-fault-legacy-3.12.log');
    assert.equal(r.format, 'dmesg');
    const [f] = findingsOf(r, 'io_page_fault');
    assert.equal(f.line, 6);
    assert.equal(f.endLine, 7);
    assert.equal(f.source, 'intel-dmar');
    assert.equal(f.addr, '0x2affde000');
    assert.equal(f.access, 'read');
    assert.equal(f.fault_reason, 6);
    assert.equal(f.reason, 'PTE Read access is not set');
    assert.equal(f.fault_status, '2');
    // The reporter redacted the BDF: no device, the redaction kept.
    assert.equal(f.device, undefined);
    assert.equal(f.request_device, 'xx:xx.x');
    assert.equal(r.accounting.part, 2, 'the DRHD status line and the reason line');
  });

  it('03: NO_PASID faults name the PCI device with its domain', async () => {
    const r = await load('03-vtd-dmar-fault-no-pasid-5.15.log');
    const faults = findingsOf(r, 'io_page_fault');
    assert.deepEqual(
      faults.map((f) => [f.line, f.device, f.access, f.addr, f.fault_reason, f.pasid_present]),
      [
        [7, '0000:03:00.1', 'write', '0xfffc0000', 2, false],
        [9, '0000:03:00.1', 'read', '0xfffc0000', 2, false],
      ],
    );
    assert.equal(faults[0].reason, 'Present bit in context entry is clear');
    assert.equal(r.unknown.count, 1);
    assert.match(r.unknown.samples[0].text, /ata8: softreset failed/);
  });

  it('06: a scalable-mode reason keeps its text and hex number', async () => {
    const r = await load('06-vtd-dmar-fault-scalable-mode.log');
    const [f] = findingsOf(r, 'io_page_fault');
    assert.equal(f.device, '0000:03:00.0');
    assert.equal(f.addr, '0x100000');
    assert.equal(f.fault_reason, 0x71);
    assert.equal(f.reason, 'SM: Present bit in first-level paging entry is clear');
    assert.equal(f.ts, 6611.206544);
  });

  it('07: the old AMD-Vi event split over two syslog lines is one finding per pair', async () => {
    const r = await load('07-amdvi-io-page-fault-legacy-split.log');
    assert.equal(r.format, 'syslog');
    const faults = findingsOf(r, 'io_page_fault');
    assert.deepEqual(
      faults.map((f) => [f.line, f.endLine, f.addr]),
      [
        [8, 9, '0xff6101b0'],
        [10, 11, '0xff6101c0'],
        [12, 13, '0xff610200'],
        [14, 15, '0xff610240'],
        [16, 17, '0xff610280'],
      ],
    );
    for (const f of faults) {
      assert.equal(f.device, '0000:05:00.0');
      assert.equal(f.domain, '0x0012');
      assert.equal(f.flags, '0x0070');
      assert.equal(f.access, 'write', 'flags 0x0070 has EVENT_FLAG_RW');
    }
    assert.equal(faults[0].ts, 221.562629, 'the time of the first piece');
    const invalid = findingsOf(r, 'iommu_event');
    assert.equal(invalid.length, 1, 'the two identical INVALID_DEVICE_REQUEST events fold');
    assert.equal(invalid[0].count, 2);
    assert.deepEqual(invalid[0].repeat_lines, [6]);
    assert.equal(invalid[0].event, 'INVALID_DEVICE_REQUEST');
    assert.equal(invalid[0].device, '0000:00:00.1');
  });

  it('09: per-device AMD-Vi faults, and the ratelimit count', async () => {
    const r = await load('09-amdvi-io-page-fault-nvme-ratelimited.log');
    const faults = findingsOf(r, 'io_page_fault');
    assert.equal(faults.length, 6);
    assert.deepEqual(
      faults.map((f) => f.addr),
      ['0xfc189000', '0xfbeaf000', '0xffed5000', '0xfc344000', '0xfc345000', '0xfbfb7000'],
    );
    assert.ok(faults.every((f) => f.device === '0000:01:00.0' && f.driver === 'nvme' && f.access === 'read'));
    const [s] = findingsOf(r, 'callbacks_suppressed');
    assert.equal(s.line, 11);
    assert.equal(s.count, 96);
    assert.equal(s.function, 'amd_iommu_report_page_fault');
    assert.equal(s.suppressed_kind, 'io_page_fault');
    assert.equal(r.unknown.count, 7);
  });

  it('11: ten identical arm-smmu context faults fold into one, the 1.7M suppressed are counted', async () => {
    const r = await load('11-arm-smmu-context-fault-5.15-acpi.log');
    const [f, ...rest] = findingsOf(r, 'io_page_fault');
    assert.equal(rest.length, 0);
    assert.equal(f.line, 4);
    assert.equal(f.count, 10);
    assert.deepEqual(f.repeat_lines, [5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert.equal(f.iommu, 'arm-smmu.0.auto');
    assert.equal(f.addr, '0x23e0000100');
    assert.equal(f.sid, '0x4000');
    assert.equal(f.cb, 0);
    assert.equal(f.reason, 'translation fault');
    assert.equal(f.access, 'read');
    assert.equal(f.device, undefined, 'the SMMU does not name the master');
    const [s] = findingsOf(r, 'callbacks_suppressed');
    assert.equal(s.count, 1697259);
    assert.equal(r.accounting.finding, 11);
  });

  it('13: the qcom decode lines belong to their fault', async () => {
    const r = await load('13-arm-smmu-context-fault-qcom-decoded.log');
    const faults = findingsOf(r, 'io_page_fault');
    assert.deepEqual(
      faults.map((f) => [f.line, f.endLine, f.addr, f.sid]),
      [
        [4, 6, '0x9c4b9000', '0x800'],
        [7, 9, '0x9c4b9d00', '0xc40'],
        [10, 12, '0x9c4ba700', '0xc40'],
        [13, 15, '0x9c4bb000', '0x800'],
      ],
    );
    assert.deepEqual(faults[0].decode, ['FSR    = 00000402 [Format=2 TF], SID=0x800', 'FSYNR0 = 007c0020 [S1CBNDX=124 PNU PLVL=0]']);
    assert.equal(r.accounting.part, 8);
  });

  it('15: a raw SMMUv3 record is decoded from its words', async () => {
    const r = await load('15-arm-smmu-v3-event-0x10-raw-dump.log');
    const [f] = findingsOf(r, 'io_page_fault');
    assert.equal(f.line, 4);
    assert.equal(f.endLine, 8);
    assert.equal(f.event, 'F_TRANSLATION');
    assert.equal(f.sid, '0x3102');
    assert.equal(f.addr, '0x0');
    assert.equal(f.access, 'read', 'EVTQ_1_RnW is set in 0x000002088000007f');
    assert.equal(f.stall, true);
    assert.equal(f.stag, '0x7f');
    assert.equal(f.class, 'Input address caused fault');
    assert.equal(r.unknown.count, 3, 'the hisi_zip lines');
  });

  it('16: the decoded SMMUv3 lines name the client device', async () => {
    const r = await load('16-arm-smmu-v3-event-0x10-decoded.log');
    const [f] = findingsOf(r, 'io_page_fault');
    assert.equal(f.device, '0001:06:00.0');
    assert.equal(f.addr, '0xff9bc000');
    assert.equal(f.sid, '0x20600');
    assert.equal(f.access, 'write');
    assert.equal(f.privileged, false);
    assert.equal(f.stage, 's1');
    assert.equal(f.reason, 'F_TRANSLATION: Input address caused fault');
    assert.equal(f.endLine, 10);
    assert.equal(r.accounting.part, 6);
  });

  it('18: both old swiotlb wordings are swiotlb_full findings for the device; the GPF is a splat', async () => {
    const r = await load('18-swiotlb-full-legacy-at-device.log');
    const full = findingsOf(r, 'swiotlb_full');
    assert.deepEqual(
      full.map((f) => [f.line, f.device, f.size, f.reason]),
      [
        [4, '0000:00:05.0', 4096, 'swiotlb buffer is full'],
        [5, '0000:00:05.0', 4096, 'Out of SW-IOMMU space'],
      ],
    );
    const [gpf] = findingsOf(r, 'kernel_splat');
    assert.equal(gpf.line, 6);
    assert.equal(gpf.reason, 'general protection fault');
  });

  it('20: slot totals, and the interleaved splat stays one record', async () => {
    const r = await load('20-swiotlb-full-slots-with-warn-5.4.log');
    const full = findingsOf(r, 'swiotlb_full');
    assert.deepEqual(
      full.map((f) => [f.line, f.size, f.total_slots, f.used_slots, f.used_bytes]),
      [
        [5, 3776, 32768, 31415, 31415 * 2048],
        [9, 3776, 32768, 31983, 31983 * 2048],
      ],
    );
    const [splat] = findingsOf(r, 'kernel_splat');
    assert.equal(splat.line, 4);
    assert.equal(splat.endLine, 10);
    assert.equal(splat.function, 'report_addr+0x32/0x60');
    assert.equal(splat.comm, 'kworker/u17:1');
    assert.equal(splat.cpu, 4);
  });

  it('22: the x86 dma-debug splat (message before WARNING) is one finding with its call trace', async () => {
    const r = await load('22-dma-debug-different-size-5.4-x86.log');
    assert.equal(r.findings.length, 1);
    const [f] = r.findings;
    assert.equal(f.kind, 'dma_debug');
    assert.equal(f.line, 4);
    assert.equal(f.endLine, 23);
    assert.equal(f.device, '0000:00:0a.0');
    assert.equal(f.driver, 'qla2xxx');
    assert.equal(f.reason, 'device driver frees DMA memory with different size');
    assert.equal(f.addr, '0xc7b60000');
    assert.equal(f.map_size, 4088);
    assert.equal(f.unmap_size, 512);
    assert.equal(f.warning_at, 'kernel/dma/debug.c:1021');
    assert.equal(f.comm, 'rmmod');
    assert.equal((f.call_trace as string[]).length, 15);
    assert.equal((f.call_trace as string[])[0], 'debug_dma_free_coherent+0x123/0x173');
    assert.equal(r.accounting.part, 19);
  });

  it('24: two arm dma-debug splats (WARNING first), each its own finding', async () => {
    const r = await load('24-dma-debug-not-allocated-and-eexist-5.19.log');
    const d = findingsOf(r, 'dma_debug');
    assert.deepEqual(
      d.map((f) => [f.line, f.startLine, f.endLine, f.device, f.reason]),
      [
        [5, 4, 17, '92000000.mac', 'device driver tries to free DMA memory it has not allocated'],
        [19, 18, 33, '92000000.mac', "cacheline tracking EEXIST, overlapping mappings aren't supported"],
      ],
    );
    assert.equal(d[0].addr, '0x0');
    assert.equal(d[0].size, 1600);
    assert.equal(d[1].function, 'add_dma_entry+0x204/0x2ec');
  });

  it('26: iommu unaligned: the pa is what is not aligned', async () => {
    const r = await load('26-iommu-unaligned-intel-qemu.log');
    const [f] = findingsOf(r, 'iommu_unaligned');
    assert.equal(f.addr, '0xfff7e000');
    assert.equal(f.phys, '0x10be33650');
    assert.equal(f.size, 0x1000);
    assert.equal(f.min_pagesz, 0x1000);
    assert.equal(f.reason, 'pa not a multiple of min_pagesz 0x1000');
  });

  it('28: mail-wrapped ftrace events are joined; the fault hits the freed coherent buffer', async () => {
    const r = await load('28-ftrace-iommu-dma-events-ath12k-6.12.log');
    assert.equal(r.format, 'ftrace');
    assert.deepEqual(
      [...r.events].map((e) => [e.line, e.endLine, e.kind, e.addr, e.size]),
      [
        [4, 5, 'map', '0xfe980000', 524288],
        [6, 7, 'dma_alloc', '0xfe980000', 524288],
        [8, 9, 'dma_free', '0xfe980000', 524288],
        [10, 11, 'unmap', '0xfe980000', 524288],
        [12, 13, 'io_page_fault', '0xfe980000', undefined],
      ],
    );
    assert.equal(r.events.at(0).iova_end, '0xfea00000');
    assert.equal(r.events.at(1).since, '6.12', 'dma_alloc without dir= is the v6.12 format');
    const [fault] = findingsOf(r, 'io_page_fault');
    assert.equal(fault.device, '0000:c2:00.0');
    assert.equal(fault.access, 'write');
    const [after] = findingsOf(r, 'fault_after_unmap');
    assert.equal(after.mapped_line, 6);
    assert.equal(after.unmapped_line, 8);
    assert.equal(r.accounting.part, 5);
  });

  it('29: io_page_fault tracepoints with the 4-column flags', async () => {
    const r = await load('29-ftrace-io-page-fault-amd-iommu.log');
    assert.equal(r.events.length, 6);
    assert.ok([...r.events].every((e) => e.irq_flags === '....' && e.comm === 'irq/24-AMD-Vi' && e.pid === 48 && e.cpu === 2));
    const faults = findingsOf(r, 'io_page_fault');
    assert.equal(faults.length, 6);
    assert.equal(faults[5].addr, '0x914826a0');
    assert.equal(faults[0].driver, '[drvname]');
  });

  it('31: map/unmap in the pre-range format, and the proposed dev= form', async () => {
    const r = await load('31-ftrace-iommu-map-unmap-legacy-format.log');
    assert.deepEqual(
      [...r.events].map((e) => [e.kind, e.since, e.device, e.addr, e.paddr, e.size]),
      [
        ['map', '3.13', undefined, '0xffff36000', '0x1164d8000', 4096],
        ['unmap', '3.13', undefined, '0xffff36000', undefined, 4096],
        ['map', 'patch', '1d84000.ufshc', '0xfffa88000', '0x1063db000', 4096],
        ['unmap', 'patch', '1d84000.ufshc', '0xfffa88000', undefined, 4096],
      ],
    );
    assert.equal(r.findings.length, 0, 'every map is unmapped');
  });
});
