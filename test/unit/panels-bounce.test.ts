import { strict as assert } from 'node:assert';
import { inspectBounceDiffs, inspectSwiotlb, inspectVduse } from '../../src/engine/inspect';
import { runScenario } from '../../src/lang/run';
import { codeLenses } from '../../src/lang/services/code-lenses';
import { DocumentModel } from '../../src/lang/services/document-model';
import { ScenarioTimeline } from '../../src/lang/timeline';
import { answerInspectRequest } from '../../src/debug/inspect-request';
import { buildBounceModel, type BounceModel } from '../../src/panels/bounce-model';
import { bounceStateAt, eventAfterLine } from '../../src/panels/bounce-source';
import { parseFromWebviewMessage, type BounceInspectResponse } from '../../src/protocol';
import { layoutFor, runAt, segments, slotAt, slotMapSvg } from '../../webview/bounce/slot-map';

/** Event index of the `engine:statement` that starts `line`: the state before that line ran. */
function beforeLine(tl: ScenarioTimeline, line: number): number {
  for (let i = 0; i < tl.trace.length; i++) {
    const e = tl.trace.eventAt(i);
    if (e.name === 'engine:statement' && e.line === line) return i;
  }
  throw new Error(`no statement on line ${line}`);
}

function modelAt(tl: ScenarioTimeline, line: number): BounceModel {
  const m = tl.stateAt(beforeLine(tl, line)).machine!;
  return buildBounceModel(inspectSwiotlb(m), inspectVduse(m), inspectBounceDiffs(m));
}

// A 32-bit device behind dma-direct with memory above 4G: every map bounces through a 4M swiotlb (2048 slots, 4 areas).
const SWIOTLB = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 4M; cpus = 4 }
device old : pci "0000:07:00.0" { dma_mask = 32 }
hi = phys_buffer(0x1_8000_0000, 8K)
cpu_write(hi, 0, "far")
h = dma_map_page(old, hi, 0, 5000, DMA_BIDIRECTIONAL)
dev_write(old, h + 4, "back")
t = dma_map_page(old, hi, 0, 100, DMA_TO_DEVICE)
dma_sync_single_for_cpu(old, h, 5000, DMA_BIDIRECTIONAL)
dma_unmap_page(old, h, 5000, DMA_BIDIRECTIONAL)
dma_unmap_page(old, t, 100, DMA_TO_DEVICE)
done = 1
`;

// CONFIG_SWIOTLB_DYNAMIC with a 1M pool (512 slots, one area): the fifth 256K map gets a transient pool of its own.
const TRANSIENT = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 1M; swiotlb_dynamic = true; cpus = 1 }
device old : pci "0000:07:00.0" { dma_mask = 32 }
big = phys_buffer(0x1_9000_0000, 4M)
for i in 0 .. 5 {
  hs[i] = dma_map_page(old, big, i * 256K, 256K, DMA_TO_DEVICE)
}
done = 1
`;

// VDUSE always bounces: a TO_DEVICE header the CPU changes while the device owns it, then syncs.
const VDUSE = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu vd0 : vduse { bounce_size = 64M; iova_limit = 1G + 128M }
device vblk : virtio "vduse-blk0" { iommu = vd0 }
hdr = kmalloc(16)
cpu_write(hdr, 0, "WRITE sector 8")
h = dma_map_single(vblk, hdr, 16, DMA_TO_DEVICE)
cpu_write(hdr, 6, "SECTOR")
dma_sync_single_for_device(vblk, h, 16, DMA_TO_DEVICE)
dma_unmap_single(vblk, h, 16, DMA_TO_DEVICE)
done = 1
`;

describe('bounce buffers panel view model', () => {
  describe('swiotlb', () => {
    const tl = new ScenarioTimeline(SWIOTLB);

    it('exports the slot map as SVG: the runs in use in their state colours, the caption escaped', () => {
      const pool = modelAt(tl, 8).swiotlb!.pools[0];
      const k = { free: 'FREE', 'in-sync': 'SYNC', 'out-of-sync': 'DIFF', 'in-use': 'USE', pad: 'PAD', area: 'AREA', selected: 'SEL', background: 'BG', finding: 'FIND', text: 'TXT' };
      const pic = slotMapSvg(pool, layoutFor(pool.nslabs, 800), k, 'pool <0> & co');
      assert.match(pic.svg, /^<svg /);
      assert.ok(pic.svg.includes('pool &lt;0&gt; &amp; co'));
      assert.ok(pool.inUse.length > 0);
      for (const r of pool.inUse) assert.ok(pic.svg.includes(`<title>${r.label.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}</title>`), r.label);
      assert.ok(pic.width >= 256 && pic.height > 0);
    });

    it('shows the default pool, its 4 areas and the slots in use with orig_addr, size and direction', () => {
      const b = modelAt(tl, 8);
      const sw = b.swiotlb!;
      assert.equal(sw.nslabs, 2048);
      assert.equal(sw.used, 4);
      assert.equal(sw.usage, '4 of 2048 slots in use (0.2%), high water 4');
      const pool = sw.pools[0];
      assert.equal(pool.kind, 'default');
      assert.equal(pool.label, 'default pool');
      assert.equal(pool.start, '0xffc00000');
      assert.equal(pool.slotSize, 2048);
      assert.deepEqual(pool.areas.map((a) => [a.area, a.firstSlot, a.slots, a.used, a.start]), [
        [0, 0, 512, 4, '0xffc00000'], [1, 512, 512, 0, '0xffd00000'], [2, 1024, 512, 0, '0xffe00000'], [3, 1536, 512, 0, '0xfff00000'],
      ]);
      assert.equal(pool.inUse.length, 2);
      const [bidi, tod] = pool.inUse;
      // 5000 bytes take 3 slots of 2K; the 100-byte map one.
      assert.deepEqual([bidi.index, bidi.count, bidi.addr, bidi.end, bidi.origAddr, bidi.allocSize, bidi.dir], [0, 3, '0xffc00000', '0xffc01800', '0x180000000', 5000, 'DMA_BIDIRECTIONAL']);
      assert.deepEqual([tod.index, tod.count, tod.allocSize, tod.dir, tod.state], [3, 1, 100, 'DMA_TO_DEVICE', 'in-sync']);
      assert.deepEqual(bidi.mapping, { device: 'old', dma: '0xffc00000', size: '0x1388', line: 5 });
      // The free runs cover the rest: the canvas draws all 2048 slots from these.
      assert.equal(pool.runs.reduce((n, r) => n + r.count, 0), 2048);
    });

    it('lists the bytes the device wrote into the slot that the original does not have yet', () => {
      const bidi = modelAt(tl, 8).swiotlb!.pools[0].inUse[0];
      assert.equal(bidi.state, 'out-of-sync');
      assert.equal(bidi.inSync, false);
      assert.deepEqual(bidi.diff, {
        compared: 5000,
        differing: 4,
        // "back" at offset 4 in the slot; zeros in the original.
        bytes: [{ offset: 4, bounce: 0x62, orig: 0 }, { offset: 5, bounce: 0x61, orig: 0 }, { offset: 6, bounce: 0x63, orig: 0 }, { offset: 7, bounce: 0x6b, orig: 0 }],
        listedAll: true,
      });
      assert.match(bidi.label, /^slots 0\.\.2 at 0xffc00000: orig_addr 0x180000000, alloc_size 5000, DMA_BIDIRECTIONAL for old dma 0xffc00000 \(line 5\), 4 bytes differ$/);
    });

    it('after dma_sync_single_for_cpu the copies agree; after the unmaps every slot is free', () => {
      const synced = modelAt(tl, 9).swiotlb!.pools[0].inUse[0];
      assert.equal(synced.state, 'in-sync');
      assert.equal(synced.diff!.differing, 0);
      const end = modelAt(tl, 11);
      assert.equal(end.swiotlb!.used, 0);
      assert.equal(end.swiotlb!.pools[0].inUse.length, 0);
      assert.equal(end.mappings.length, 0);
    });
  });

  it('a transient pool (CONFIG_SWIOTLB_DYNAMIC) is its own pool, owned by the device', () => {
    const b = modelAt(new ScenarioTimeline(TRANSIENT), 7);
    const sw = b.swiotlb!;
    assert.equal(sw.transientNslabs, 128);
    assert.deepEqual(sw.pools.map((p) => [p.kind, p.label, p.nslabs, p.used]), [['default', 'default pool', 512, 512], ['transient', 'transient pool of 0000:07:00.0', 128, 128]]);
    assert.equal(sw.pools[1].inUse[0].mapping?.dma, sw.pools[1].start);
    assert.match(sw.usage, /640 of 512 slots in use .*, 128 in transient pools$/);
  });

  describe('VDUSE', () => {
    const tl = new ScenarioTimeline(VDUSE);

    it('shows each 4K bounce map with its bounce page and orig_phys', () => {
      const b = modelAt(tl, 7);
      assert.equal(b.swiotlb?.used, 0, "the platform's default swiotlb stays unused");
      const v = b.vduse[0];
      assert.equal(v.iommu, 'vd0');
      assert.equal(v.mapsTotal, 16384);
      assert.equal(v.maps.length, 1);
      const map = v.maps[0];
      assert.equal(map.iova, '0x3fff000');
      assert.equal(map.index, 0x3fff);
      assert.equal(map.hasBouncePage, true);
      assert.equal(map.mapping?.dir, 'DMA_TO_DEVICE');
      assert.equal(map.inSync, true);
      assert.match(map.label, /^IOVA 0x3fff000 \(map 16383\): bounce page 0x[0-9a-f]+, orig_phys 0x[0-9a-f]+, mapped by vblk at line 6, in sync$/);
    });

    it('a CPU write while the device owns the buffer leaves the bounce page stale until the sync', () => {
      const stale = modelAt(tl, 8);
      const d = stale.mappings[0];
      assert.equal(d.via, 'vduse');
      assert.equal(d.differing, 6);
      // "sector" in the bounce page, "SECTOR" in the buffer.
      assert.deepEqual(d.diffs[0], { offset: 6, bounce: 0x73, orig: 0x53 });
      assert.equal(stale.vduse[0].maps[0].inSync, false);
      assert.match(stale.summary, /1 with bounce and original differing$/);
      assert.equal(modelAt(tl, 9).vduse[0].maps[0].inSync, true);
    });

    it('after the unmap the bounce page stays, with no orig_phys', () => {
      const map = modelAt(tl, 10).vduse[0].maps[0];
      assert.equal(map.hasBouncePage, true);
      assert.equal(map.origPhys, null);
      assert.equal(map.mapping, null);
      assert.match(map.label, /orig_phys INVALID_PHYS_ADDR \(idle\)$/);
    });
  });

  describe('without the debugger and while debugging', () => {
    const tl = new ScenarioTimeline(SWIOTLB);

    it('shows the state after the lens\'s line: the slots the map on it took', () => {
      const st = bounceStateAt(tl, 'file:///s.dmas', eventAfterLine(tl, 5));
      assert.equal(st.position.line, 5);
      assert.equal(st.model.swiotlb!.used, 3);
      assert.deepEqual(st.model.swiotlb!.pools[0].inUse.map((r) => [r.index, r.count, r.state]), [[0, 3, 'in-sync']]);
      assert.ok(st.position.statements.some((s) => s.line === 11));
    });

    it('answers the debug adapter\'s inspect request of kind bounce, and checks the webview\'s messages', () => {
      const m = tl.stateAt(eventAfterLine(tl, 7)).machine!;
      const r = answerInspectRequest(m, { kind: 'bounce', event: 3 }, 3) as BounceInspectResponse;
      assert.equal(r.model.swiotlb!.used, 4);
      assert.throws(() => answerInspectRequest(m, { kind: 'bounce', event: 'x' }, 3), /event must be an integer >= -1/);
      assert.equal(parseFromWebviewMessage({ type: 'bounce/seek', event: 12 }).ok, true);
      assert.deepEqual(parseFromWebviewMessage({ type: 'bounce/export', requestId: 1, format: 'gif', data: '' }), { ok: false, error: 'bounce/export: format must be png, svg or json' });
    });
  });

  it('puts a "Show bounce buffers" lens on the lines whose map bounced', () => {
    for (const [src, lines] of [[SWIOTLB, [5, 7]], [VDUSE, [6]]] as const) {
      const lenses = codeLenses(new DocumentModel(src), runScenario(src, 'b.dmas', { editorInfo: true })).filter((l) => l.kind === 'bounce');
      assert.deepEqual(lenses.map((l) => [l.range.start.line + 1, l.title, l.command?.id, l.command?.args]), lines.map((n) => [n, 'Show bounce buffers', 'dmascope.showBounce', [n]]));
    }
  });

  it('lays a 64 MiB pool (32768 slots) out on the canvas within 400 pixels, and finds the run under a pixel', () => {
    const l = layoutFor(32768, 800);
    assert.deepEqual(l, { cols: 256, rows: 128, cellW: 3, cellH: 3, width: 768, height: 384 });
    // Narrow panel: 2-pixel cells, rows a pixel high, still within 400 pixels.
    assert.deepEqual(layoutFor(32768, 300), { cols: 128, rows: 256, cellW: 2, cellH: 1, width: 256, height: 256 });
    // A 4M pool (2048 slots) gets bigger, square cells.
    assert.deepEqual(layoutFor(2048, 310), { cols: 32, rows: 64, cellW: 9, cellH: 6, width: 288, height: 384 });
    assert.equal(slotAt(l, 32768, 3 * 10 + 1, 3 * 2 + 1), 2 * 256 + 10);
    assert.equal(slotAt(l, 32768, 800, 0), undefined);
    // A run from slot 250 over 300 slots: the rest of row 0, then the start of row 1 and row 2.
    assert.deepEqual(segments(l, 250, 300), [{ x: 750, y: 0, w: 18, h: 3 }, { x: 0, y: 3, w: 768, h: 3 }, { x: 0, y: 6, w: 114, h: 3 }]);
    const runs = modelAt(new ScenarioTimeline(SWIOTLB), 8).swiotlb!.pools[0].runs;
    assert.equal(runs[runAt(runs, 1)!].index, 0);
    assert.equal(runs[runAt(runs, 3)!].allocSize, 100);
    assert.equal(runs[runAt(runs, 2047)!].state, 'free');
  });
});
