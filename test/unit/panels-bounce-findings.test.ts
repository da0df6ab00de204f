// The DMA sanitizer's findings in the bounce buffers panel's model: each is
// placed on the swiotlb slot runs (or VDUSE bounce pages) its access touched,
// named in their hover text and counted in the summary; the webview draws
// the model as it is.

import { strict as assert } from 'node:assert';
import { inspectBounceDiffs, inspectSwiotlb, inspectVduse } from '../../src/engine/inspect';
import { sanitizerFindings, type SanitizerFindingView } from '../../src/engine/sanitizer';
import { ScenarioTimeline } from '../../src/lang/timeline';
import { MAX_BOUNCE_FINDINGS, buildBounceModel, type BounceModel } from '../../src/panels/bounce-model';
import { bounceStateAt, eventAfterLine } from '../../src/panels/bounce-source';
import { layoutFor, segments, slotMapSvg } from '../../webview/bounce/slot-map';
import { EXAMPLES_DIR, dmasFiles } from './fixtures';

// A 32-bit device behind dma-direct bounces through a 4M swiotlb (2048 slots of 2K): the device reads past
// its 5000-byte mapping into the third slot's tail, then writes a slot after the unmap freed it.
const SWIOTLB = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 4M; cpus = 4 }
device old : pci "0000:07:00.0" { dma_mask = 32 }
hi = phys_buffer(0x1_8000_0000, 8K)
h = dma_map_page(old, hi, 0, 5000, DMA_BIDIRECTIONAL)
expect violation "runs past its mapping" dev_read(old, h + 4996, 16)
dma_unmap_page(old, h, 5000, DMA_BIDIRECTIONAL)
expect violation "which no live mapping of the device covers" dev_write(old, h, "late")
done = 1
`;

function modelAfter(tl: ScenarioTimeline, line: number): BounceModel {
  return bounceStateAt(tl, 'file:///b.dmas', eventAfterLine(tl, line)).model;
}

describe('bounce panel model: DMA sanitizer findings', () => {
  const tl = new ScenarioTimeline(SWIOTLB);

  it('places a read past a bounced mapping on the slot run it bounces through', () => {
    const m = modelAfter(tl, 5);
    assert.equal(m.findings.length, 1);
    const f = m.findings[0];
    assert.equal(f.id, 'dmascope-dma-unmapped');
    assert.equal(f.rule, 'sanitize_dma_direct');
    assert.equal(f.line, 5);
    assert.equal(f.relatedLine, 4);
    assert.equal(f.device, '0000:07:00.0');
    assert.deepEqual([f.iova, f.phys, f.end], ['0xffc01384', '0xffc01384', '0xffc01394']);
    assert.deepEqual(f.where, ['p0.s0']);
    const run = m.swiotlb?.pools[0].runs.find((r) => r.id === 'p0.s0');
    assert.equal(run?.state, 'in-sync');
    assert.equal(run?.count, 3);
    assert.deepEqual(run?.findings?.map((x) => x.message), [f.message]);
    assert.match(run?.label ?? '', /; DMA sanitizer: 1 finding \(line 5\)$/);
    assert.match(m.summary, / · 1 DMA sanitizer finding on bounce memory$/);
    // The other runs carry none.
    assert.equal(m.swiotlb?.pools[0].runs.filter((r) => r.findings).length, 1);
  });

  it('places a write after the unmap on the slot run the unmap freed, and keeps the earlier finding', () => {
    const m = modelAfter(tl, 8);
    assert.deepEqual(m.findings.map((f) => [f.line, f.id, f.phys, f.where.join()]), [
      [5, 'dmascope-dma-unmapped', '0xffc01384', 'p0.s0'],
      [7, 'dmascope-dma-unmapped', '0xffc00000', 'p0.s0'],
    ]);
    const run = m.swiotlb?.pools[0].runs.find((r) => r.id === 'p0.s0');
    assert.equal(run?.state, 'free');
    assert.match(run?.label ?? '', /; DMA sanitizer: 2 findings \(line 5, 7\)$/);
    assert.match(m.findings[1].message, /^dmascope: 0000:07:00\.0 writes 0xffc00000\+4, which no live mapping of the device covers/);
    // The finding names what the bytes are: the slot, free since the unmap; the earlier one the slot still in use.
    assert.match(m.findings[1].message, /; those bytes are swiotlb slot 0 of the pool at 0xffc00000 \(free\)$/);
    assert.match(m.findings[0].message, /; those bytes are swiotlb slot 2 of the pool at 0xffc00000 \(in use, bouncing orig_addr 0x180001000\)$/);
  });

  it('outlines the slot run a finding touched in the SVG export, and no other run', () => {
    const pool = modelAfter(tl, 5).swiotlb?.pools[0];
    assert.ok(pool);
    const k = { free: 'FREE', 'in-sync': 'SYNC', 'out-of-sync': 'DIFF', 'in-use': 'USE', pad: 'PAD', area: 'AREA', selected: 'SEL', background: 'BG', finding: 'FIND', text: 'TXT' };
    const l = layoutFor(pool.nslabs, 800);
    const svg = slotMapSvg(pool, l, k, 'swiotlb').svg;
    // Slots 0..2 (the run p0.s0) as row segments, each outlined once.
    const outlines = [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="none" stroke="FIND" stroke-width="2"\/>/g)].map((m) => m.slice(1).map(Number));
    assert.deepEqual(outlines, segments(l, 0, 3).map((g) => [g.x + 1, g.y + 28 + 1, Math.max(1, g.w - 2), Math.max(1, g.h - 2)]));
    assert.ok(outlines.length > 0);
    const before = modelAfter(tl, 4).swiotlb?.pools[0];
    assert.ok(before);
    assert.ok(!slotMapSvg(before, l, k, 'swiotlb').svg.includes('FIND'));
  });

  it('shows nothing before the finding happened (the state at the map)', () => {
    const m = modelAfter(tl, 4);
    assert.deepEqual(m.findings, []);
    assert.ok(!m.summary.includes('sanitizer'));
  });

  it('places a finding on the VDUSE bounce page it touched', () => {
    const ex = dmasFiles(EXAMPLES_DIR).find((f) => f.name === '05-vduse.dmas');
    assert.ok(ex);
    const vt = new ScenarioTimeline(ex.source);
    const machine = vt.stateAt(eventAfterLine(vt, 38)).machine;
    assert.ok(machine);
    const vduse = inspectVduse(machine);
    const page = vduse[0].bounceMaps.find((b) => b.iova === '0x3fff000')?.bouncePage;
    assert.ok(page, 'the map of h has a bounce page');
    const finding: SanitizerFindingView = {
      id: 'dmascope-dma-beyond-mapping', rule: 'sanitize_dma_bounds', line: 38, relatedLine: 34, message: 'a test finding',
      phys: `0x${(BigInt(page) + 0xff0n).toString(16)}`, end: `0x${(BigInt(page) + 0x1008n).toString(16)}`, device: 'vduse-blk0', iova: '0x3ffff0', seq: 1,
    };
    const m = buildBounceModel(inspectSwiotlb(machine), vduse, inspectBounceDiffs(machine), [finding]);
    assert.deepEqual(m.findings.map((f) => f.where), [['vd0 map 16383']]);
    const map = m.vduse[0].maps.find((x) => x.index === 16383);
    assert.equal(map?.findings?.[0].message, 'a test finding');
    assert.match(map?.label ?? '', /; DMA sanitizer: 1 finding \(line 38\)$/);
  });

  it('keeps the latest findings that touched bounce memory, at most MAX_BOUNCE_FINDINGS', () => {
    const m0 = tl.stateAt(eventAfterLine(tl, 8)).machine;
    assert.ok(m0);
    const [real] = sanitizerFindings(m0.trace.checks);
    const elsewhere: SanitizerFindingView = { ...real, phys: '0x100000000', end: '0x100000010', line: 99 };
    const many = [...Array.from({ length: MAX_BOUNCE_FINDINGS + 10 }, (_, i) => ({ ...real, seq: i, line: 100 + i })), ...Array.from({ length: 500 }, () => elsewhere)];
    const m = buildBounceModel(inspectSwiotlb(m0), inspectVduse(m0), inspectBounceDiffs(m0), many);
    assert.equal(m.findings.length, MAX_BOUNCE_FINDINGS);
    assert.equal(m.findings[0].line, 110, 'the oldest ten are dropped');
    assert.equal(m.findings.at(-1)?.line, 100 + MAX_BOUNCE_FINDINGS + 9);
  });
});
