import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sanitizerFindings } from '../../src/engine/sanitizer';
import { handleInspectRequest } from '../../src/debug/inspect-request';
import { inspectMachine } from '../../src/engine/inspect';
import { ScenarioTimeline } from '../../src/lang/timeline';
import { buildIovaMapModel, diffDomains, domainChoices, halves, hexOfHalves, protKey, rangeAt, rangesOf } from '../../src/panels/iova-map-model';
import { parseFromWebviewMessage, parseInspectAnswer, parseInspectArguments } from '../../src/protocol';
import { runScenario } from '../../src/lang/run';
import { codeLenses } from '../../src/lang/services/code-lenses';
import { DocumentModel } from '../../src/lang/services/document-model';
import fc from 'fast-check';
import type { DomainView, MachineView, MappedRangeView } from '../../src/engine/inspect/types';
import { SANITIZER_STRIP, drawIovaMap, drawPhys, firstEndingAfter, hexAt, indexModel, physNear, sizeText, spanNear, svgPainter, type Colours, type Painter } from '../../webview/iova-map/draw';

const SRC = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }
device eth0 : pci "0000:02:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }
b = kmalloc(100)
t = dma_map_single(eth0, b, 100, DMA_TO_DEVICE)
dma_unmap_single(eth0, t, 100, DMA_TO_DEVICE)
`;
const DOMAIN = 'default domain of eth0';

/** Event index of the last event of the statement on `line`. */
function endOfLine(tl: ScenarioTimeline, line: number): number {
  let last = -1;
  for (let i = 0; i < tl.trace.length; i++) if (tl.trace.eventAt(i).line === line) last = i;
  return last;
}

describe('IOVA map view model', () => {
  const tl = new ScenarioTimeline(SRC);
  const afterMap = inspectMachine(tl.stateAt(endOfLine(tl, 5)).machine!);
  const beforeMap = inspectMachine(tl.stateAt(endOfLine(tl, 4)).machine!);
  const afterUnmap = inspectMachine(tl.stateAt(endOfLine(tl, 6)).machine!);

  it('draws the mapping as 32-bit halves with its permission key and line', () => {
    const m = buildIovaMapModel(afterMap, DOMAIN)!;
    assert.equal(m.ranges.count, 1);
    assert.deepEqual([...m.ranges.start], [0, 0xfffff000]);
    assert.deepEqual([...m.ranges.end], [1, 0]);
    const r = rangeAt(m.ranges, 0);
    assert.equal(r.iova, '0xfffff000');
    assert.equal(r.phys, '0x81001000');
    assert.equal(r.size, '0x1000');
    assert.equal(r.prot, 'r,cache');
    assert.equal(r.key, 'r');
    assert.equal(r.line, 5);
    assert.equal(r.exposed, true);
    assert.deepEqual(m.boundary32, { hi: 1, lo: 0 });
    assert.equal(m.apertureBits, 48);
    // Holes on both sides of the one mapping, up to the aperture end 0xffffffffffff; the largest first.
    assert.equal(m.holeCount, 2);
    assert.deepEqual(m.largestHoles.map((h) => h.size), ['0xffff00000000', '0xfffff000']);
    // dma-iommu allocated the IOVA below 4 GiB: one allocation of one granule.
    assert.equal(m.allocations.count, 1);
    assert.deepEqual([...m.allocations.start], [0, 0xfffff000]);
    assert.equal(m.allocations.pages[0], 1);
    assert.deepEqual(domainChoices(afterMap), [{ label: DOMAIN, mappings: 1 }]);
  });

  it('marks the bytes of the granule beyond the 100-byte buffer as a finding', () => {
    const m = buildIovaMapModel(afterMap, DOMAIN)!;
    assert.equal(m.findings.length, 1);
    assert.equal(m.findingCount, 1);
    assert.equal(m.findings[0].start, '0x81001064');
    assert.equal(m.findings[0].end, '0x81002000');
    assert.equal(m.findings[0].bytes, '0xf9c');
    assert.equal(m.findings[0].buffer, 'b');
    assert.equal(m.findings[0].line, 5);
    assert.equal(m.exposedBytes, '0xf9c');
    assert.deepEqual(m.physSpan, { start: { hi: 0, lo: 0x81001000 }, end: { hi: 0, lo: 0x81002000 } });
  });

  it('packs many mappings sorted by IOVA and orders them by physical address', () => {
    const d = afterMap.domains[0];
    const mappings = [0x5000n, 0x1000n, 0x3000n].map((iova, i) => ({ iova: `0x${iova.toString(16)}`, phys: `0x${(0x9000_0000n - BigInt(i) * 0x1000n).toString(16)}`, size: '0x1000', prot: i === 1 ? 'rw' : 'w,mmio', line: 10 + i }));
    const machine = { ...afterMap, buffers: [], domains: [{ ...d, mappings }] };
    const m = buildIovaMapModel(machine, DOMAIN)!;
    assert.deepEqual(rangesOf(m.ranges).map((r) => [r.iova, r.phys, r.key, r.line]), [
      ['0x1000', '0x8ffff000', 'rw', 11], ['0x3000', '0x8fffe000', 'mmio', 12], ['0x5000', '0x90000000', 'mmio', 10]]);
    // Physical order: 0x8fffe000 (range 1), 0x8ffff000 (range 0), 0x90000000 (range 2).
    assert.deepEqual([...m.ranges.physOrder], [1, 0, 2]);
    assert.deepEqual(m.ranges.protNames, ['rw', 'w,mmio']);
    assert.equal(m.findingCount, 0);
    assert.equal(m.holeCount, 4);
  });

  it('reports the change made by the current event and diffs two positions', () => {
    const m = buildIovaMapModel(afterMap, DOMAIN, beforeMap)!;
    assert.deepEqual(m.change.map((c) => [c.kind, c.iova]), [['mapped', '0xfffff000']]);
    const d = diffDomains(afterMap.domains[0], afterUnmap.domains[0]);
    assert.deepEqual(d.map((c) => [c.kind, c.iova, c.before]), [['unmapped', '0xfffff000', '0x81001000 0x1000 r,cache']]);
  });

  it('diffs any two lists of ranges as a map by IOVA would, the unchanged head and tail passed over', () => {
    const range = (n: number, prot: string): MappedRangeView => ({ iova: `0x${(n * 0x1000).toString(16)}`, phys: `0x${(0x80000 + n).toString(16)}000`, size: '0x1000', prot, line: 3 });
    const rows = fc.uniqueArray(fc.tuple(fc.nat(200), fc.constantFrom('r', 'w', 'rw')), { selector: (t) => t[0], maxLength: 40 })
      .map((ts) => ts.sort((x, y) => x[0] - y[0]).map(([n, prot]) => range(n, prot)));
    fc.assert(fc.property(rows, rows, fc.boolean(), (was, now, shared) => {
      // While debugging, unchanged rows are the very objects of the view before (view patches share them).
      const after = shared ? now.map((r) => was.find((w) => w.iova === r.iova && w.prot === r.prot) ?? r) : now;
      const domain = (mappings: MappedRangeView[]): DomainView => ({ ...afterMap.domains[0], mappings });
      const byIova = new Map(was.map((r) => [r.iova, r]));
      const expected: string[] = [];
      for (const r of after) {
        const old = byIova.get(r.iova);
        byIova.delete(r.iova);
        if (!old) expected.push(`mapped ${r.iova}`);
        else if (old.prot !== r.prot) expected.push(`changed ${r.iova}`);
      }
      for (const r of byIova.values()) expected.push(`unmapped ${r.iova}`);
      const got = diffDomains(domain(was), domain(after)).map((c) => `${c.kind} ${c.iova}`);
      assert.deepEqual([...got].sort(), expected.sort());
    }), { numRuns: 300 });
  });

  it('gives undefined for an unknown domain and keys prot strings', () => {
    assert.equal(buildIovaMapModel(afterMap, 'nope'), undefined);
    assert.equal(protKey('rw,cache'), 'rw');
    assert.equal(protKey('w,mmio'), 'mmio');
    assert.equal(protKey('-'), 'none');
    assert.deepEqual(halves(0x1_2345_6789_abcdn), { hi: 0x12345, lo: 0x6789abcd });
    assert.equal(hexOfHalves(0x12345, 0x0789abcd), '0x123450789abcd');
    assert.equal(hexOfHalves(0, 0x1000), '0x1000');
  });
});

describe('protocol validation', () => {
  it('accepts good webview messages and refuses bad ones', () => {
    assert.equal(parseFromWebviewMessage({ type: 'iovaMap/revealLine', line: 5 }).ok, true);
    const bad = parseFromWebviewMessage({ type: 'iovaMap/revealLine', line: 0 });
    assert.deepEqual(bad, { ok: false, error: 'iovaMap/revealLine: line must be a positive integer' });
    assert.equal(parseFromWebviewMessage({ type: 'toString' }).ok, false);
    assert.equal(parseFromWebviewMessage('x').ok, false);
    assert.equal(parseFromWebviewMessage({ type: 'iovaMap/export', requestId: 1, format: 'gif', data: '' }).ok, false);
    assert.equal(parseFromWebviewMessage({ type: 'iovaMap/revealLine', line: 5, iova: '0xfffff000' }).ok, true);
    assert.deepEqual(parseFromWebviewMessage({ type: 'iovaMap/revealLine', line: 5, iova: 'x<script>' }), { ok: false, error: 'iovaMap/revealLine: iova must be a hex address (0x...)' });
    assert.equal(parseFromWebviewMessage({ type: 'iovaMap/domain', domain: DOMAIN }).ok, true);
    assert.equal(parseFromWebviewMessage({ type: 'iovaMap/domain', domain: '' }).ok, false);
    assert.equal(parseFromWebviewMessage({ type: 'iovaMap/compare', event: null }).ok, true);
    assert.equal(parseFromWebviewMessage({ type: 'iovaMap/compare', event: 1.5 }).ok, false);
    assert.deepEqual(parseInspectArguments({ event: 3 }), { ok: true, message: { event: 3, withPrevious: undefined, domains: undefined, stream: undefined, have: undefined } });
    assert.equal(parseInspectArguments({ event: 'x' }).ok, false);
  });
});

describe('dmascope/inspect request', () => {
  it('answers with the machine view and refuses bad arguments', () => {
    const tl = new ScenarioTimeline(SRC);
    const k = endOfLine(tl, 5);
    const r = handleInspectRequest(tl.stateAt(k).machine!, { withPrevious: true, domains: [DOMAIN] }, k, tl.stateAt(k - 1).machine!);
    assert.equal(r.machine?.domains[0].mappings[0].iova, '0xfffff000');
    assert.equal(r.event, k);
    assert.ok(r.previous);
    assert.throws(() => handleInspectRequest(tl.stateAt(k).machine!, { event: 'x' }, k), /event must be an integer/);
  });
});

describe('IOVA map lens', () => {
  it('puts "Show IOVA map" on the map and unmap lines, with the line as argument', () => {
    const lenses = codeLenses(new DocumentModel(SRC), runScenario(SRC, 'm.dmas', { editorInfo: true })).filter((l) => l.kind === 'iova-map');
    assert.deepEqual(lenses.map((l) => [l.range.start.line + 1, l.title, l.command?.id, l.command?.args]), [[5, 'Show IOVA map', 'dmascope.showIovaMap', [5]], [6, 'Show IOVA map', 'dmascope.showIovaMap', [6]]]);
  });

  it('puts none where the run has no IOMMU domain (dma-direct)', () => {
    const direct = SRC.replace('iommu = smmu0; ', '');
    assert.deepEqual(codeLenses(new DocumentModel(direct), runScenario(direct, 'm.dmas', { editorInfo: true })).filter((l) => l.kind === 'iova-map'), []);
  });
});

/** A painter that records what it is asked to paint. */
function recorder(): Painter & { rects: { x: number; y: number; w: number; h: number; colour: string; alpha: number }[]; frames: number; texts: string[] } {
  const out = { rects: [] as { x: number; y: number; w: number; h: number; colour: string; alpha: number }[], frames: 0, texts: [] as string[] };
  return {
    ...out,
    rect(x, y, w, h, colour, alpha = 1) { out.rects.push({ x, y, w, h, colour, alpha }); },
    frame() { out.frames++; },
    text(_x, _y, t) { out.texts.push(t); },
    get rects() { return out.rects; },
    get frames() { return out.frames; },
    get texts() { return out.texts; },
  };
}

const COLOURS: Colours = {
  r: 'R', w: 'W', rw: 'RW', none: 'NONE', mmio: 'MMIO', mixed: 'MIX', background: 'BG', band: 'BAND', boundary: 'B32', change: 'CHG', alloc: 'ALLOC', cached: 'CACHED',
  fq: 'FQ', exposed: 'EXP', sanitizer: 'SAN', mapped: 'MAPPED', unmapped: 'UNMAPPED', changed: 'CHANGED', selected: 'SEL', text: 'TEXT', muted: 'MUTED',
};

/** A machine with `n` 4K mappings of one domain, every 8K from 0x1_0000_0000 (rw, every third one read-only), in a 57-bit aperture. */
function manyMappings(n: number, base: MachineView): MachineView {
  const d = base.domains[0];
  const mappings = [];
  for (let i = 0; i < n; i++) {
    const iova = 0x1_0000_0000n + BigInt(i) * 0x2000n;
    mappings.push({ iova: `0x${iova.toString(16)}`, phys: `0x${(0x8000_0000n + BigInt(i) * 0x1000n).toString(16)}`, size: '0x1000', prot: i % 3 === 0 ? 'r' : 'rw', line: 7 });
  }
  return { ...base, buffers: [], domains: [{ ...d, aperture: ['0x0', `0x${((1n << 57n) - 1n).toString(16)}`], iova: null, flushQueue: null, mappings }] };
}

describe('IOVA map drawing (level of detail)', () => {
  const tl = new ScenarioTimeline(SRC);
  const base = inspectMachine(tl.stateAt(endOfLine(tl, 5)).machine!);

  it('draws 100,000 mappings across the 57-bit aperture with a few rectangles per pixel column, not one per mapping', () => {
    const m = buildIovaMapModel(manyMappings(100_000, base), DOMAIN)!;
    assert.equal(m.apertureBits, 57);
    const ix = indexModel(m);
    const width = 1000;
    const p = recorder();
    drawIovaMap(p, width, m, ix, { start: 0, bytesPerPixel: 2 ** 57 / width }, COLOURS, null, -1);
    const mapRects = p.rects.filter((r) => ['R', 'RW', 'MIX'].includes(r.colour));
    // All 100,000 land in pixel column 0 (the first 800 MiB of 128 PiB): one aggregated rectangle, mixed permissions.
    assert.equal(mapRects.length, 1);
    assert.deepEqual([mapRects[0].x, mapRects[0].w, mapRects[0].colour], [0, 1, 'MIX']);
    assert.ok(p.rects.length < 20, `${p.rects.length} rectangles`);
    assert.ok(p.texts.includes('4 GiB'));
  });

  it('zoomed to 1 GiB the mappings are aggregated per column, coloured by density', () => {
    const m = buildIovaMapModel(manyMappings(100_000, base), DOMAIN)!;
    const ix = indexModel(m);
    const p = recorder();
    // 1000 columns of 1 MiB each from 4 GiB: 128 mappings per column, half the bytes mapped.
    drawIovaMap(p, 1000, m, ix, { start: 2 ** 32, bytesPerPixel: 2 ** 20 }, COLOURS, null, -1);
    const mapRects = p.rects.filter((r) => ['R', 'RW', 'MIX'].includes(r.colour));
    assert.ok(mapRects.length <= 1000, `${mapRects.length} rectangles`);
    assert.equal(mapRects.reduce((s, r) => s + r.w, 0), 782);
    // Half of each full column is mapped (opacity 5/8); the last, column 781, a quarter (3/8).
    assert.deepEqual(mapRects.map((r) => [r.x, r.w, r.colour, r.alpha]), [[0, 781, 'MIX', 0.625], [781, 1, 'MIX', 0.375]]);
  });

  it('zoomed to granules each mapping is its own rectangle in its permission colour', () => {
    const m = buildIovaMapModel(manyMappings(100_000, base), DOMAIN)!;
    const ix = indexModel(m);
    const p = recorder();
    // 64 pixels per 4K granule: mappings 0 (r) and 1 (rw) at 0x1_0000_0000 and 0x1_0000_2000.
    drawIovaMap(p, 256, m, ix, { start: 2 ** 32, bytesPerPixel: 64 }, COLOURS, null, -1);
    const mapRects = p.rects.filter((r) => ['R', 'RW', 'MIX'].includes(r.colour));
    assert.deepEqual(mapRects.map((r) => [r.x, r.w, r.colour]), [[0, 64, 'R'], [128, 64, 'RW']]);
  });

  it('finds the range under the pointer by binary search, with a few pixels of slack', () => {
    const m = buildIovaMapModel(manyMappings(1000, base), DOMAIN)!;
    const ix = indexModel(m);
    assert.equal(firstEndingAfter(ix.ranges.ends, 2 ** 32 + 0x2000), 1);
    assert.equal(spanNear(ix.ranges, 2 ** 32 + 0x2000 * 500 + 5, 0), 500);
    // In the hole after mapping 500: nothing without slack, mapping 501 when its start is nearer.
    assert.equal(spanNear(ix.ranges, 2 ** 32 + 0x2000 * 500 + 0x1800, 0), -1);
    assert.equal(spanNear(ix.ranges, 2 ** 32 + 0x2000 * 500 + 0x1c00, 0x800), 501);
    assert.equal(spanNear(ix.ranges, 2 ** 32 + 0x2000 * 500 + 0x1100, 0x800), 500);
    // Physical order: mapping k sits at 0x8000_0000 + k * 4K.
    assert.equal(m.ranges.physOrder[physNear(ix, 0x8000_0000 + 0x1000 * 42 + 1, 0)], 42);
    assert.equal(physNear(ix, 0x7000_0000, 0), -1);
  });

  it('marks the granule exposure in the physical view and exports the same picture as SVG', () => {
    const m = buildIovaMapModel(base, DOMAIN)!;
    const ix = indexModel(m);
    const p = recorder();
    drawPhys(p, 512, m, ix, { start: 0x8100_1000, bytesPerPixel: 8 }, COLOURS, -1);
    // The exposed bytes 0x81001064..0x81002000 in the lower half of the band.
    const exposed = p.rects.filter((r) => r.colour === 'EXP');
    // Zoomed in, the mapping is drawn as mapped and the exposed bytes 0x81001064..0x81002000 (pixels 12.5..512) in the lower half of the band.
    assert.deepEqual(exposed.map((r) => [r.x, r.y, r.x + r.w]), [[12.5, 24, 512]]);
    assert.ok(p.rects.some((r) => r.colour === 'MAPPED' && r.x === 0 && r.w === 512));
    const svg = svgPainter();
    drawPhys(svg, 512, m, ix, { start: 0x8100_1000, bytesPerPixel: 8 }, COLOURS, -1);
    const doc = svg.svg(512, 64, 'BG', 'phys <b>');
    assert.match(doc, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="512" height="64"/);
    assert.match(doc, /<title>phys &lt;b&gt;<\/title>/);
    assert.match(doc, /fill="EXP"/);
    assert.equal(hexAt(2 ** 56 + 4096), '0x100000000001000');
    assert.equal(sizeText(2 ** 57), '128 PiB');
  });
});

describe('IOVA map model: DMA sanitizer findings', () => {
  const source = readFileSync(join(__dirname, '..', 'fixtures', 'sanitizer', 'dma-beyond-mapping.dmas'), 'utf8');
  const domain = 'default domain of nic';

  it('marks a write past the mapping at the IOVA bytes it used, with the message and line', () => {
    const tl = new ScenarioTimeline(source);
    const m = tl.stateAt(tl.trace.length - 1).machine!;
    const found = sanitizerFindings(m.trace.checks);
    const model = buildIovaMapModel(inspectMachine(m), domain, null, found)!;
    assert.equal(model.sanitizerCount, 2);
    const [write, read] = model.sanitizer;
    // h is the top 4K of the 32-bit IOVA space; the write starts 60 bytes in and is 8 long.
    assert.equal(write.iova, '0xfffff03c');
    assert.deepEqual(write.start, halves(0xfffff03cn));
    assert.deepEqual(write.end, halves(0xfffff044n));
    assert.equal(write.line, 12);
    assert.equal(write.device, '0000:05:00.0');
    assert.equal(write.id, 'dmascope-dma-beyond-mapping');
    assert.match(write.message, /past its mapping/);
    assert.equal(read.iova, '0xfffff040');
    assert.equal(read.line, 13);
    // A row click moves the debugger to each finding's own event (engine:check, on its line): the first state that lists it.
    assert.deepEqual([write.event, read.event].map((e) => [tl.trace.nameAt(e), tl.trace.lineAt(e)]), [['engine:check', 12], ['engine:check', 13]]);
    assert.deepEqual([write.event, read.event], found.map((f) => f.seq));
    assert.equal(sanitizerFindings(tl.stateAt(write.event).machine!.trace.checks).length, 1);
    assert.equal(sanitizerFindings(tl.stateAt(write.event - 1).machine!.trace.checks).length, 0);
    assert.match(read.message, /belong to `other`/);
    // Drawn at 1 byte per pixel from 0xfffff000: the write's 8 bytes at x 60..68 in the sanitizer colour, along the band's bottom.
    const p = recorder();
    drawIovaMap(p, 256, model, indexModel(model), { start: 0xfffff000, bytesPerPixel: 1 }, COLOURS, null, -1);
    const marks = p.rects.filter((r) => r.colour === 'SAN');
    assert.deepEqual(marks.map((r) => [r.x, r.w, r.y]), [[60, 8, SANITIZER_STRIP.y], [64, 8, SANITIZER_STRIP.y]]);
  });

  it('leaves another domain unmarked, and the debugger answer carries the findings', () => {
    const tl = new ScenarioTimeline(source);
    const m = tl.stateAt(tl.trace.length - 1).machine!;
    const view = inspectMachine(m);
    const other = { ...view, devices: view.devices.filter((d) => d.name !== 'nic') };
    assert.equal(buildIovaMapModel(other, domain, null, sanitizerFindings(m.trace.checks))!.sanitizerCount, 0);
    const answer = handleInspectRequest(m, {}, tl.trace.length - 1);
    assert.deepEqual(answer.findings?.map((f) => [f.iova, f.line]), [['0xfffff03c', 12], ['0xfffff040', 13]]);
    const ok = parseInspectAnswer({ ...answer, position: { event: 0, total: 1, line: 1, backwards: false, statements: [] } });
    assert.ok(ok.ok, ok.ok ? '' : ok.error);
    const bad = parseInspectAnswer({ ...answer, findings: [{ ...answer.findings![0], iova: 'here' }], position: { event: 0, total: 1, line: 1, backwards: false, statements: [] } });
    assert.ok(!bad.ok && /iova/.test(bad.error));
    const noSeq = parseInspectAnswer({ ...answer, findings: [{ ...answer.findings![0], seq: -3 }], position: { event: 0, total: 1, line: 1, backwards: false, statements: [] } });
    assert.ok(!noSeq.ok && /seq/.test(noSeq.error));
  });

  it('takes a sanitizer row\'s event from the webview only as an event index', () => {
    const uri = 'file:///s.dmas';
    assert.deepEqual(parseFromWebviewMessage({ type: 'iovaMap/revealFinding', uri, line: 12, event: 40 }), { ok: true, message: { type: 'iovaMap/revealFinding', uri, line: 12, event: 40 } });
    assert.equal(parseFromWebviewMessage({ type: 'iovaMap/revealFinding', uri, line: 12 }).ok, true);
    for (const event of [-1, 1.5, '40', null, Number.MAX_VALUE, {}]) {
      assert.deepEqual(parseFromWebviewMessage({ type: 'iovaMap/revealFinding', uri, line: 12, event }), { ok: false, error: 'iovaMap/revealFinding: event must be an integer >= 0' }, String(event));
    }
  });
});
