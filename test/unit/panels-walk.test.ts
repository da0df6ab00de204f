import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findDevice, inspectWalk, type WalkAccess } from '../../src/engine/inspect';
import { runScenario } from '../../src/lang/run';
import { codeLenses } from '../../src/lang/services/code-lenses';
import { DocumentModel } from '../../src/lang/services/document-model';
import { ScenarioTimeline } from '../../src/lang/timeline';
import { answerInspectRequest } from '../../src/debug/inspect-request';
import { buildWalkModel, type WalkCell, type WalkModel } from '../../src/panels/walk-model';
import { walkSvg } from '../../webview/walk/walk-svg';
import { walkEventFor, walkStateAt, walkStateForLine, walkTimeline } from '../../src/panels/walk-source';
import { parseFromWebviewMessage, type WalkInspectResponse } from '../../src/protocol';

/** Event index of the `engine:statement` that starts `line`: the state before that line ran. */
function beforeLine(tl: ScenarioTimeline, line: number): number {
  for (let i = 0; i < tl.trace.length; i++) {
    const e = tl.trace.eventAt(i);
    if (e.name === 'engine:statement' && e.line === line) return i;
  }
  throw new Error(`no statement on line ${line}`);
}

function walkAt(tl: ScenarioTimeline, line: number, dev: string, addr: bigint, access: WalkAccess = null, pasid: number | null = null): WalkModel {
  const m = tl.stateAt(beforeLine(tl, line)).machine!;
  const d = findDevice(m, dev);
  assert.ok(d, `device ${dev}`);
  return buildWalkModel(inspectWalk(m, d, addr, pasid, access));
}

function field(c: WalkCell, name: string): string {
  const f = c.fields.find((x) => x.name === name);
  assert.ok(f, `field ${name} of ${c.summary}`);
  return `${f.value} ${f.meaning}`;
}

// Nested SMMUv3 (4 + 4 levels), then 3 + 3 with a read-only stage-1 page; a chain of a
// device MMU behind VT-d. The same shapes as examples/04-nested-walks.dmas.
const NESTED = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x4_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48; iotlb = 64 }
device gpu : pci "0000:03:00.0" { iommu = smmu0; default_domain = identity }
s2 = iommu_paging_domain_alloc(gpu, nest_parent = true)
s1 = iommu_nested_domain_alloc(s2, gpu)
expect iommu_attach_device(s1, gpu) == 0
page = alloc_pages(0)
expect iommu_map(s2, 0x4000_0000, page.phys, 4K, IOMMU_READ | IOMMU_WRITE) == 0
expect iommu_map(s1, 0x1000, 0x4000_0000, 4K, IOMMU_READ | IOMMU_WRITE) == 0
w = translate(gpu, 0x1000)
dev_read(gpu, 0x1000, 6)
w2 = translate(gpu, 0x1000)
iommu smmu1 : arm-smmu-v3 { granule = 4K; ias = 39; oas = 39; iotlb = 0 }
device nic : pci "0000:04:00.0" { iommu = smmu1; default_domain = identity }
t2 = iommu_paging_domain_alloc(nic, nest_parent = true)
t1 = iommu_nested_domain_alloc(t2, nic)
expect iommu_attach_device(t1, nic) == 0
expect iommu_map(t2, 0x4000_0000, page.phys, 4K, IOMMU_READ) == 0
expect iommu_map(t1, 0x2000, 0x4000_0000, 4K, IOMMU_READ) == 0
dev_write(nic, 0x2000, "x")
x = translate(nic, 0x3000)
iommu_unmap(t2, 0x4000_0000, 4K)
y = translate(nic, 0x2000)
`;

const CHAIN = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x4_0000_0000 }
iommu ipu_mmu : generic { granule = 4K; levels = 2; ias = 32; iotlb = 0 }
iommu vtd0 : intel-vtd { aw = 48; iotlb = 0 }
device ipu : pci "0000:00:05.0" { iommu = [ipu_mmu, vtd0]; default_domain = [dma, dma] }
page = alloc_pages(0)
hi = dma_map_page(ipu, page, 0, 4K, DMA_TO_DEVICE)
t = translate(ipu, hi)
`;

// One paging domain per format: AMD v1 with an 8K page (NextLevel 7), VT-d second stage with a 2M superpage, the generic format.
const FORMATS = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu amd0 : amd-vi { iotlb = 0 }
iommu gen0 : generic { granule = 4K; levels = 2; ias = 32; iotlb = 0 }
iommu vtd2 : intel-vtd { aw = 48; stage = second; iotlb = 0 }
device a : pci "0000:01:00.0" { iommu = amd0; default_domain = identity }
device g : platform "gen-dev" { iommu = gen0; default_domain = identity }
device v : pci "0000:02:00.0" { iommu = vtd2; default_domain = identity }
buf = alloc_pages(2)
da = iommu_paging_domain_alloc(a)
expect iommu_attach_device(da, a) == 0
expect iommu_map(da, 0x2000_0000, buf.phys, 8K, IOMMU_READ) == 0
dg = iommu_paging_domain_alloc(g)
expect iommu_attach_device(dg, g) == 0
expect iommu_map(dg, 0x5000, buf.phys, 4K, IOMMU_WRITE) == 0
dv = iommu_paging_domain_alloc(v)
expect iommu_attach_device(dv, v) == 0
expect iommu_map(dv, 0x20_0000, 0x1_0000_0000, 2M, IOMMU_READ | IOMMU_WRITE) == 0
done = 1
`;

const DART = `platform { page_size = 16K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu dart0 : apple-dart { iotlb = 0 }
device d : platform "dart-dev" { iommu = dart0; default_domain = identity }
buf = alloc_pages(0)
dd = iommu_paging_domain_alloc(d)
expect iommu_attach_device(dd, d) == 0
expect iommu_map(dd, 0x4000, buf.phys, 16K, IOMMU_READ) == 0
done = 1
`;

describe('walk panel view model', () => {
  describe('nested SMMUv3 walks', () => {
    const tl = new ScenarioTimeline(NESTED);
    const page = tl.final.machine!.buffers.buffers.find((b) => b.label === 'page')!.phys;

    it('draws a 4+4 nested walk as the grid of stage-1 reads by stage-2 reads: 24 accesses', () => {
      const w = walkAt(tl, 10, 'gpu', 0x1000n);
      assert.equal(w.phys, `0x${page.toString(16)}`);
      assert.equal(w.iotlbHit, false);
      assert.equal(w.bands.length, 1);
      const b = w.bands[0];
      assert.equal(b.mode, 'nested');
      assert.equal(b.format, 'arm-lpae-s1');
      assert.equal(b.parent?.format, 'arm-lpae-s2');
      const g = b.grid!;
      assert.equal(g.formula, '(4+1)(4+1)-1 = 24');
      assert.equal(g.actual, 24);
      // Four stage-1 rows (levels 0..3), each read at an IPA stage 2 walks in 4 reads, then the final IPA.
      assert.deepEqual(g.rows.map((r) => r.label), ['stage 1 L0', 'stage 1 L1', 'stage 1 L2', 'stage 1 L3', 'final IPA']);
      assert.deepEqual(g.rows.map((r) => r.sub.length), [4, 4, 4, 4, 4]);
      assert.equal(g.rows.reduce((n, r) => n + r.sub.length + (r.read ? 1 : 0), 0), 24);
      assert.equal(g.rows[4].input, '0x40000000');
      // The stage-1 leaf: a page of IPA 0x40000000, read/write (AP[2] clear), accessed.
      const leaf = g.rows[3].read!;
      assert.equal(leaf.kind, 'page');
      assert.equal(leaf.address, '0x40000000');
      assert.equal(leaf.perms, 'rw');
      assert.equal(field(leaf, 'AP[2]'), '0 read/write');
      assert.equal(field(leaf, 'AF'), '1 accessed');
      // The stage-1 tables live at the top of the IPA space; stage 2 reads them at real addresses.
      assert.equal(g.rows[0].input, '0xfffffffff000');
      assert.equal(g.rows[0].sub[0].format, 'arm-lpae-s2');
      assert.equal(g.rows[0].sub[0].kind, 'table');
      // The final IPA's stage-2 leaf grants read and write through S2AP.
      const s2leaf = g.rows[4].sub[3];
      assert.equal(s2leaf.address, `0x${page.toString(16)}`);
      assert.equal(field(s2leaf, 'S2AP'), '3 read/write');
      assert.equal(b.output, `0x${page.toString(16)}`);
      assert.equal(w.summary, `0x1000 → 0x${page.toString(16)} (IOTLB miss, 24 table reads)`);
    });

    it('exports the nested walk as an SVG picture: 24 read boxes, the grid formula, text escaped', () => {
      const w = walkAt(tl, 10, 'gpu', 0x1000n);
      const k = { background: '#000', text: '#fff', muted: '#888', table: 'blue', leaf: 'green', invalid: 'red', stage2: 'purple', fault: 'orange', border: '#444' };
      const pic = walkSvg(w, k);
      assert.match(pic.svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.equal((pic.svg.match(/<rect [^>]*rx="3"/g) ?? []).length, 24);
      assert.ok(pic.svg.includes('(4+1)(4+1)-1 = 24'));
      assert.ok(!/<text[^>]*>[^<]*[<>&][^<]*<\/text>/.test(pic.svg.replace(/&(amp|lt|gt|quot);/g, '')));
      assert.ok(pic.width > 0 && pic.height > 0);
    });

    it('after the device access the IOTLB answers: no table is read', () => {
      const w = walkAt(tl, 12, 'gpu', 0x1000n);
      assert.equal(w.iotlbHit, true);
      assert.equal(w.accesses, 0);
      assert.equal(w.bands[0].mode, 'iotlb-hit');
      assert.equal(w.bands[0].grid, null);
      assert.match(w.summary, /IOTLB hit/);
    });

    it('a write to a read-only stage-1 page faults at stage 1, level 3, in the driver\'s words', () => {
      const w = walkAt(tl, 20, 'nic', 0x2000n, 'write');
      assert.equal(w.phys, null);
      const g = w.bands[0].grid!;
      assert.equal(g.formula, '(3+1)(3+1)-1 = 15');
      assert.equal(g.actual, 15);
      const f = w.fault!;
      assert.equal(f.where, 'smmu1, stage 1, level 3');
      assert.equal(f.kind, 'permission');
      assert.match(f.reason, /^smmu1: stage-1 permission fault at level 3: write to 0x2000/);
      assert.equal(f.kernelLine, `arm-smmu-v3: [DMA Write NO_PASID] Request device [0000:04:00.0] fault addr 0x2000: ${f.reason}`);
      // The cell of the stage-1 leaf (AP[2] = 1) carries the fault.
      assert.equal(f.cell, 'b0.r2');
      const leaf = g.rows[2].read!;
      assert.equal(leaf.faulted, true);
      assert.equal(field(leaf, 'AP[2]'), '1 read-only');
    });

    it('an unmapped stage-1 IOVA stops at the invalid level-3 descriptor', () => {
      const w = walkAt(tl, 21, 'nic', 0x3000n);
      assert.equal(w.fault!.reason, 'smmu1: stage-1 translation fault at level 3 for 0x3000');
      assert.equal(w.fault!.kernelLine, null, 'translate() raises no fault');
      const last = w.bands[0].grid!.rows[2].read!;
      assert.equal(last.kind, 'invalid');
      assert.equal(last.desc, '0x0');
      assert.equal(last.faulted, true);
      assert.equal(w.bands[0].grid!.actual, 12);
    });

    it('a final IPA stage 2 no longer maps faults at stage 2 and says which IPA', () => {
      const w = walkAt(tl, 23, 'nic', 0x2000n);
      assert.match(w.fault!.reason, /stage-2 translation fault at level 3 on IPA 0x40000000/);
      const rows = w.bands[0].grid!.rows;
      assert.equal(rows[rows.length - 1].label, 'final IPA');
      const cell = rows[rows.length - 1].sub[2];
      assert.equal(cell.kind, 'invalid');
      assert.equal(cell.faulted, true);
      assert.equal(w.fault!.cell, cell.id);
    });
  });

  describe('a chain of IOMMUs', () => {
    const tl = new ScenarioTimeline(CHAIN);
    const m = tl.final.machine!;
    const hi = m.mappings.records.find((r) => r.device === 'ipu')!.dma;

    it('shows one band per IOMMU; the MMU\'s table reads each go through VT-d: 2 x (4 + 1) + 4 = 14', () => {
      const w = walkAt(tl, 7, 'ipu', hi);
      assert.equal(w.chained, true);
      assert.deepEqual(w.bands.map((b) => [b.iommu, b.format, b.mode]), [['ipu_mmu', 'generic', 'walk'], ['vtd0', 'vtd-first', 'walk']]);
      assert.equal(w.accesses, 14);
      const [mmu, vtd] = w.bands;
      assert.equal(mmu.accesses, 10);
      assert.deepEqual(mmu.rows.map((r) => r.sub.length), [4, 4]);
      assert.equal(mmu.rows[0].sub[0].iommu, 'vtd0');
      assert.equal(vtd.accesses, 4);
      assert.deepEqual(vtd.rows.map((r) => r.read?.level), [4, 3, 2, 1]);
      // What leaves the MMU is what enters VT-d; VT-d's leaf is read-only for a DMA_TO_DEVICE map (R/W clear).
      assert.equal(mmu.input, `0x${hi.toString(16)}`);
      assert.equal(mmu.output, vtd.input);
      const leaf = vtd.rows[3].read!;
      assert.equal(leaf.perms, 'r-');
      assert.equal(field(leaf, 'R/W'), '0 read-only');
      assert.equal(field(leaf, 'U/S'), '1 user accessible');
      assert.equal(vtd.output, w.phys);
    });
  });

  describe('descriptor bits per format', () => {
    const tl = new ScenarioTimeline(FORMATS);
    const line = 18;

    it('AMD v1: an 8K page is a NextLevel-7 leaf whose size is encoded in the address bits', () => {
      const w = walkAt(tl, line, 'a', 0x2000_1234n);
      assert.equal(w.phys, '0x81001234');
      const rows = w.bands[0].rows;
      assert.deepEqual(rows.map((r) => r.read!.level), [3, 2, 1]);
      const leaf = rows[2].read!;
      assert.equal(leaf.desc, '0x3000000081000e01');
      assert.equal(leaf.kind, 'block');
      assert.equal(leaf.size, '0x2000');
      assert.equal(leaf.perms, 'r-');
      assert.equal(field(leaf, 'NextLevel'), '7 leaf, size encoded in the address bits');
      assert.equal(field(leaf, 'IW'), '0 no write');
      assert.equal(field(rows[0].read!, 'NextLevel'), '2 table of level 2');
    });

    it('VT-d second stage: a 2M superpage at level 2 (PS set), R and W', () => {
      const w = walkAt(tl, line, 'v', 0x21_2345n);
      assert.equal(w.phys, '0x100012345');
      const leaf = w.bands[0].rows[2].read!;
      assert.equal(leaf.desc, '0x100000083');
      assert.equal(leaf.kind, 'block');
      assert.equal(leaf.size, '0x200000');
      assert.equal(field(leaf, 'PS'), '1 superpage (DMA_PTE_LARGE_PAGE)');
      assert.equal(leaf.perms, 'rw');
    });

    it('generic: a write-only page (READ clear, WRITE set)', () => {
      const w = walkAt(tl, line, 'g', 0x5000n, 'read');
      const leaf = w.bands[0].rows[1].read!;
      assert.equal(leaf.kind, 'page');
      assert.equal(leaf.perms, '-w');
      assert.equal(field(leaf, 'READ'), '0 no read');
      assert.match(w.fault!.reason, /^gen0: permission fault: read of 0x5000 which is mapped without read access$/);
      assert.equal(w.fault!.kernelLine, 'generic-iommu: [DMA Read NO_PASID] Request device [gen-dev] fault addr 0x5000: ' + w.fault!.reason);
    });

    it('Apple DART: NO_WRITE on a read-only page, subpage range the whole page', () => {
      const dt = new ScenarioTimeline(DART);
      const w = walkAt(dt, 8, 'd', 0x4010n, 'write');
      const leaf = w.bands[0].rows[1].read!;
      assert.equal(leaf.desc, '0xfff0081000083');
      assert.equal(field(leaf, 'NO_WRITE'), '1 no write');
      assert.equal(field(leaf, 'SP_DIS'), '1 subpage protection disabled');
      assert.equal(field(leaf, 'subpage end'), '0xfff last subpage: the end of the page');
      assert.equal(leaf.faulted, true);
      assert.equal(w.bands[0].output, null, 'a refused access leaves the IOMMU with nothing');
    });

    it('an identity domain passes the address through with no read', () => {
      const w = walkAt(tl, 5 + 4, 'a', 0x1234n);
      assert.equal(w.bands[0].mode, 'identity');
      assert.equal(w.phys, '0x1234');
      assert.equal(w.accesses, 0);
    });
  });

  describe('without the debugger: the walk of a lens\'s line', () => {
    const tl = walkTimeline(NESTED);

    it('finds the device, address and access of each walk site from the call log', () => {
      const st = walkStateForLine(tl, 'file:///n.dmas', 11)!;
      assert.deepEqual(st.target, { device: 'gpu', addr: '0x1000', pasid: null, access: 'read', line: 11 });
      assert.deepEqual(st.targets.map((t) => [t.line, t.device, t.addr, t.access]), [
        [10, 'gpu', '0x1000', null], [11, 'gpu', '0x1000', 'read'], [12, 'gpu', '0x1000', null], [20, 'nic', '0x2000', 'write'], [21, 'nic', '0x3000', null], [23, 'nic', '0x2000', null],
      ]);
      // Right before dev_read ran: the walk it made missed the IOTLB and read 24 descriptors.
      assert.equal(tl.trace.eventAt(st.position.event + 1).name, 'device_read');
      assert.equal(st.model!.accesses, 24);
      assert.equal(st.model!.iotlbHit, false);
      assert.equal(st.position.line, 11);
    });

    it('the translate after the access shows the IOTLB hit the access left', () => {
      const st = walkStateForLine(tl, 'file:///n.dmas', 12)!;
      assert.equal(st.model!.iotlbHit, true);
      assert.equal(walkEventFor(tl, st.target), st.position.event);
    });

    it('a device the machine does not have yet is a clear error, not a crash', () => {
      const st = walkStateAt(tl, 'file:///n.dmas', { device: 'nic', addr: '0x2000', pasid: null, access: null, line: 0 }, 5);
      assert.equal(st.model, null);
      assert.match(st.error!, /^No device nic at this point of the run \(devices: gpu\)\.$/);
    });

    it('validates what the webview asks for and what the debug adapter is asked', () => {
      assert.equal(parseFromWebviewMessage({ type: 'walk/probe', target: { device: 'gpu', addr: '0x1000', pasid: null, access: 'read', line: 0 } }).ok, true);
      const bad = parseFromWebviewMessage({ type: 'walk/probe', target: { device: 'gpu', addr: '4096', pasid: null, access: 'read', line: 0 } });
      assert.deepEqual(bad, { ok: false, error: 'walk/probe: target.addr must be a hex address (0x...)' });
      assert.equal(parseFromWebviewMessage({ type: 'walk/probe', target: { device: 'gpu', addr: '0x1', pasid: 1 << 20, access: null, line: 0 } }).ok, false);
      const m = tl.stateAt(walkEventFor(tl, { device: 'gpu', addr: '0x1000', pasid: null, access: null, line: 10 })!).machine!;
      const r = answerInspectRequest(m, { kind: 'walk', target: { device: 'gpu', addr: '0x1000', pasid: null, access: null, line: 10 } }, 7) as WalkInspectResponse;
      assert.equal(r.event, 7);
      assert.equal(r.model!.bands[0].grid!.actual, 24);
      assert.throws(() => answerInspectRequest(m, { kind: 'walk', target: { device: 'gpu' } }, 7), /dmascope\/inspect: target.addr must be a hex address/);
    });
  });

  it('puts a "Show walk" lens on every translate/dev_read/dev_write the run walked, with its line for the command', () => {
    const lenses = codeLenses(new DocumentModel(NESTED), runScenario(NESTED, 'n.dmas', { editorInfo: true })).filter((l) => l.kind === 'walk-panel');
    assert.deepEqual(lenses.map((l) => [l.range.start.line + 1, l.title, l.command?.id, l.command?.args]), [
      [10, 'Show walk', 'dmascope.showWalk', [10]], [11, 'Show walk', 'dmascope.showWalk', [11]], [12, 'Show walk', 'dmascope.showWalk', [12]],
      [20, 'Show walk', 'dmascope.showWalk', [20]], [21, 'Show walk', 'dmascope.showWalk', [21]], [23, 'Show walk', 'dmascope.showWalk', [23]],
    ]);
  });
});

describe('walk panel: a stale IOTLB hit in the sanitizer finding\'s words', () => {
  const source = readFileSync(join(__dirname, '..', 'fixtures', 'sanitizer', 'stale-iotlb.dmas'), 'utf8');

  it('labels the hit after the deferred unmap with the unmap line, and a live hit not at all', () => {
    const tl = new ScenarioTimeline(source);
    const stale = walkAt(tl, 12, 'nic', 0xfffff000n, 'read');
    assert.equal(stale.staleIotlb, true);
    assert.equal(stale.summary, '0xfffff000 → 0x81001000 (IOTLB hit): stale IOTLB entry, after it was unmapped at line 11 (mapped at line 8): a stale IOTLB entry still translates it until the flush queue is flushed');
    assert.deepEqual(stale.bands.map((b) => [b.mode, b.note, b.output]), [['iotlb-hit', 'stale IOTLB hit: the cached translation still answers although the page table no longer maps the address (no table is read)', '0x81001000']]);
    const live = walkAt(tl, 11, 'nic', 0xfffff000n, 'read');
    assert.equal(live.staleIotlb, false);
    assert.doesNotMatch(live.summary, /stale/);
    assert.deepEqual(live.bands.map((b) => [b.mode, b.note]), [['iotlb-hit', 'IOTLB hit: the cached translation answers, no table is read']]);
  });
});
