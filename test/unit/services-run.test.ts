// Inlay hints, code lenses, semantic tokens and quick fixes, from real runs.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from '../../src/lang/run';
import { quickFixes } from '../../src/lang/services/code-actions';
import { codeLenses } from '../../src/lang/services/code-lenses';
import { DocumentModel } from '../../src/lang/services/document-model';
import { inlayHints } from '../../src/lang/services/inlay-hints';
import { semanticTokens } from '../../src/lang/services/semantic-tokens';
import type { RunResult } from '../../src/lang/run-result';

function setup(lines: string[]): { model: DocumentModel; run: RunResult; text: string } {
  const text = lines.join('\n');
  return { model: new DocumentModel(text), run: runScenario(text, 'test.dmas', { editorInfo: true }), text };
}

/** Applies quick-fix edits (0-based ranges) to a text. */
function apply(model: DocumentModel, edits: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }[]): string {
  let text = model.text;
  const sorted = [...edits].sort((a, b) => model.offsetAt(b.range.start) - model.offsetAt(a.range.start));
  for (const e of sorted) text = text.slice(0, model.offsetAt(e.range.start)) + e.newText + text.slice(model.offsetAt(e.range.end));
  return text;
}

const HEAD = [
  'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }',
  'iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48 }',
  'iommu vio0 : virtio-iommu { granule = 4K }',
  'device eth0 : pci "0000:02:00.0" { iommu = smmu0; dma_mask = 64 }',
  'device vblk0 : pci "0000:03:00.0" { iommu = vio0; dma_mask = 64 }',
  'a = alloc_pages(1)',
];

describe('services: run results in the editor', () => {
  it('records each call site with its value, errno and count (RunResult.calls)', () => {
    const { run } = setup([...HEAD, 'h = dma_map_page(eth0, a, 0, 4K, DMA_TO_DEVICE)', 'expect error EIO dma_iova_link(eth0, dma_iova_try_alloc(eth0, 0, 8K), 0x8020_0800, 4K, 0x800, DMA_TO_DEVICE)', 'for i in 0 .. 3 { x = kmalloc(64) }']);
    const calls = run.calls ?? [];
    const map = calls.find((c) => c.callee === 'dma_map_page');
    assert.equal(map?.value, '0xfffff000');
    assert.equal(map?.line, 7);
    const link = calls.find((c) => c.callee === 'dma_iova_link');
    assert.equal(link?.errno, 'EIO');
    assert.equal(calls.find((c) => c.callee === 'kmalloc')?.count, 3);
    assert.ok(run.machine, 'machine summary');
    assert.equal(run.machine.devices.find((d) => d.name === 'eth0')?.coherent, true);
  });

  it('puts an inlay hint with the result at the end of each call', () => {
    const { model, run } = setup([...HEAD, 'h = dma_map_page(eth0, a, 0, 4K, DMA_TO_DEVICE)', 'expect dev_read(eth0, h, 2) == hex"00 00"', 'expect error EINVAL iommu_map(iommu_paging_domain_alloc(eth0), 0x1001, a, 4K, IOMMU_READ)']);
    const hints = inlayHints(model, run);
    const byLine = new Map(hints.map((h) => [`${h.position.line}:${h.label}`, h]));
    assert.ok(byLine.has('6:→ 0xfffff000'), JSON.stringify(hints));
    const map = hints.find((h) => h.label === '→ 0xfffff000')!;
    assert.equal(map.position.character, 'h = dma_map_page(eth0, a, 0, 4K, DMA_TO_DEVICE)'.length);
    assert.ok(hints.some((h) => h.label === '→ -EINVAL'), JSON.stringify(hints));
    assert.ok(hints.some((h) => h.label === '→ hex"00 00"'), JSON.stringify(hints));
    // Only the requested range.
    const head = inlayHints(model, run, { start: { line: 0, character: 0 }, end: { line: 5, character: 0 } });
    assert.deepEqual(head.map((h) => h.position.line), [5]);
    assert.ok(head[0]!.label.startsWith('→ 0x'), head[0]!.label);
  });

  it('shows no hint where the source changed since the run', () => {
    const { run } = setup([...HEAD, 'h = dma_map_page(eth0, a, 0, 4K, DMA_TO_DEVICE)']);
    const edited = new DocumentModel([...HEAD, 'h =  dma_map_single(eth0, a, 4K, DMA_TO_DEVICE)'].join('\n'));
    assert.ok(!inlayHints(edited, run).some((h) => h.position.line === 6));
  });

  it('puts pass/fail lenses on expect lines and walk lenses on device accesses', () => {
    const { model, run } = setup([
      ...HEAD,
      'h = dma_map_page(eth0, a, 0, 4K, DMA_TO_DEVICE)',
      'expect h == 0xfffff000',
      'expect h == 0x1234',
      'x = dev_read(eth0, h, 4)',
      'w = translate(eth0, h)',
      'expect fault dev_write(eth0, h, "x")',
    ]);
    const lenses = codeLenses(model, run);
    const at = (line1: number, kind: string) => lenses.filter((l) => l.range.start.line === line1 - 1 && l.kind === kind);
    assert.equal(at(8, 'expect')[0]?.title, '✓ passed');
    assert.ok(at(9, 'expect')[0]?.title.startsWith('✗ failed'));
    assert.ok(at(9, 'expect')[0]?.tooltip?.includes('0x1234'));
    const read = at(10, 'walk')[0];
    assert.ok(read?.title.includes('→ 0x81000000') || read?.title.includes('→ 0x8'), read?.title);
    assert.ok(read?.title.includes('IOTLB miss'), read?.title);
    assert.ok(at(11, 'walk')[0]?.title.includes('IOTLB hit'), at(11, 'walk')[0]?.title);
    assert.ok(at(12, 'walk')[0]?.title.includes('permission fault'), at(12, 'walk')[0]?.title);
    // The walk summary carries what the lens needs.
    const w = run.walks?.find((x) => x.line === 10);
    assert.equal(w?.callee, 'dev_read');
    assert.equal(w?.iotlbHit, false);
    assert.ok((w?.accesses ?? 0) > 0);
  });

  it('colours declared names and variables by kind', () => {
    const { model, text } = setup([...HEAD, 'd = iommu_paging_domain_alloc(eth0)', 'st = dma_iova_try_alloc(eth0, 0, 4K)', 'for i in 0 .. 2 { x = kmalloc(64) }', 'n = 5']);
    const toks = semanticTokens(model);
    const lines = text.split('\n');
    const show = toks.map((t) => `${lines[t.line]!.slice(t.character, t.character + t.length)}:${t.type}${t.modifiers.includes('declaration') ? '+decl' : ''}`);
    for (const want of ['smmu0:iommu+decl', 'eth0:device+decl', 'smmu0:iommu', 'a:buffer+decl', 'd:domain+decl', 'eth0:device', 'st:handle+decl', 'i:parameter+decl', 'x:buffer+decl', 'n:variable+decl']) {
      assert.ok(show.includes(want), `${want} in ${show.join(' ')}`);
    }
    // Sorted in document order.
    for (let i = 1; i < toks.length; i++) assert.ok(toks[i - 1]!.line < toks[i]!.line || (toks[i - 1]!.line === toks[i]!.line && toks[i - 1]!.character < toks[i]!.character));
  });

  it('fixes a missing dma_iova_sync after the link the device accessed unsynced', () => {
    const { model, run } = setup([...HEAD, 's = dma_iova_try_alloc(vblk0, 0, 4K)', '  expect dma_iova_link(vblk0, s, a, 0, 4K, DMA_TO_DEVICE) == 0', 'x = dev_read(vblk0, s.addr, 4)']);
    assert.ok(run.checks.some((c) => c.id === 'iova-not-synced'));
    const fixes = quickFixes(model, run, { start: { line: 8, character: 0 }, end: { line: 8, character: 0 } });
    const fix = fixes.find((f) => f.fixes.code === 'iova-not-synced');
    assert.ok(fix, JSON.stringify(fixes));
    const fixed = apply(model, fix.edits);
    assert.ok(fixed.includes('== 0\n  dma_iova_sync(vblk0, s, 0, 4K)\nx = dev_read'), fixed);
    assert.ok(!runScenario(fixed, 'x.dmas', { editorInfo: true }).checks.some((c) => c.id === 'iova-not-synced'));
  });

  it('fixes the size and direction at unmap, and adds the map error check', () => {
    const { model, run } = setup([...HEAD, 'h = dma_map_page(eth0, a, 0, 0x800, DMA_TO_DEVICE)', 'dma_unmap_page(eth0, h, 0x400, DMA_FROM_DEVICE)']);
    const fixes = quickFixes(model, run, { start: { line: 7, character: 0 }, end: { line: 7, character: 10 } });
    const size = fixes.find((f) => f.fixes.code === 'dma-debug-different-size');
    assert.equal(size?.edits[0]?.newText, '0x800');
    const dir = fixes.find((f) => f.fixes.code === 'dma-debug-different-direction');
    assert.equal(dir?.edits[0]?.newText, 'DMA_TO_DEVICE');
    const check = fixes.find((f) => f.fixes.code === 'dma-debug-map-error-not-checked');
    assert.ok(check);
    const fixed = apply(model, [...size!.edits, ...dir!.edits]);
    const rerun = runScenario(fixed, 'x.dmas', { editorInfo: true });
    assert.ok(!rerun.checks.some((c) => c.id === 'dma-debug-different-size' || c.id === 'dma-debug-different-direction'), JSON.stringify(rerun.checks));
    const withCheck = apply(model, check.edits);
    assert.ok(withCheck.includes('DMA_TO_DEVICE)\nexpect !dma_mapping_error(eth0, h)\ndma_unmap_page'), withCheck);
    assert.ok(!runScenario(withCheck, 'x.dmas', { editorInfo: true }).checks.some((c) => c.id === 'dma-debug-map-error-not-checked'));
  });

  it('offers no fix for a check an expect asked for', () => {
    const { model, run } = setup([...HEAD, 'h = dma_map_page(eth0, a, 0, 0x800, DMA_TO_DEVICE)', 'expect !dma_mapping_error(eth0, h)', 'expect violation "different size" dma_unmap_page(eth0, h, 0x400, DMA_TO_DEVICE)']);
    assert.deepEqual(quickFixes(model, run, { start: { line: 8, character: 0 }, end: { line: 8, character: 0 } }), []);
  });

  it('fixes unknown names with the spelling the checker suggests', () => {
    const { model, run } = setup([...HEAD, 'h = dma_mapp_page(eth0, a, 0, 4K, DMA_TO_DEVIC)', 'device z : pci "0000:09:00.0" { iommu = smmu0; coherant = true }']);
    const fixes = quickFixes(model, run, { start: { line: 6, character: 0 }, end: { line: 7, character: 60 } });
    const titles = fixes.map((f) => f.title);
    assert.ok(titles.includes("Change 'dma_mapp_page' to 'dma_map_page'"), titles.join(' | '));
    assert.ok(titles.includes("Change 'DMA_TO_DEVIC' to 'DMA_TO_DEVICE'"), titles.join(' | '));
    assert.ok(titles.includes("Change 'coherant' to 'coherent'"), titles.join(' | '));
  });

  it('follows the text between runs through a line mapper', () => {
    const { run } = setup([...HEAD, 'h = dma_map_page(eth0, a, 0, 4K, DMA_TO_DEVICE)', 'expect h == 0xfffff000']);
    // Two comment lines inserted at the top since the run: every result line moved down by 2.
    const model = new DocumentModel(['# one', '# two', ...HEAD, 'h = dma_map_page(eth0, a, 0, 4K, DMA_TO_DEVICE)', 'expect h == 0xfffff000'].join('\n'));
    const lines = { key: 'v2', map: (l: number) => l + 2 };
    assert.ok(inlayHints(model, run, undefined, lines).some((h) => h.position.line === 8 && h.label === '→ 0xfffff000'));
    assert.ok(codeLenses(model, run, { lines }).some((l) => l.range.start.line === 9 && l.title === '✓ passed'));
    // Unmapped, the stale lines match nothing.
    assert.ok(!inlayHints(model, run).some((h) => h.label === '→ 0xfffff000'));
    // Lines edited away are dropped.
    assert.deepEqual(codeLenses(model, run, { lines: { key: 'v3', map: () => undefined } }), []);
  });

  it('leaves the editor fields out unless asked (the CLI does not print them)', () => {
    const text = [...HEAD, 'x = dev_read(eth0, 0x1000, 4)'].join('\n');
    const plain = runScenario(text, 'x.dmas');
    assert.equal(plain.calls, undefined);
    assert.equal(plain.walks, undefined);
    assert.equal(plain.machine, undefined);
    const rich = runScenario(text, 'x.dmas', { editorInfo: true });
    assert.ok(rich.calls && rich.walks && rich.machine);
    assert.equal(rich.ok, plain.ok);
    assert.deepEqual(rich.checks, plain.checks);
    assert.deepEqual(rich.faults, plain.faults);
  });

  it('probes a bounded number of walks per call site in a loop', () => {
    const { run } = setup([...HEAD, 'h = dma_map_page(eth0, a, 0, 4K, DMA_TO_DEVICE)', 'for i in 0 .. 100 { x = dev_read(eth0, h, 4) }']);
    const w = run.walks?.find((x) => x.callee === 'dev_read');
    assert.ok(w && w.count === 16 && w.iotlbHit, JSON.stringify(w));
    assert.equal(run.calls?.find((c) => c.callee === 'dev_read')?.count, 100);
  });
  it('says "stale IOTLB hit" on the walk lens of an access through a stale IOTLB entry, "IOTLB miss" and a fault around it', () => {
    const text = readFileSync(join(__dirname, '..', 'fixtures', 'sanitizer', 'stale-iotlb.dmas'), 'utf8');
    const model = new DocumentModel(text);
    const run = runScenario(text, 'stale-iotlb.dmas', { editorInfo: true });
    const walk = (line1: number) => codeLenses(model, run).find((l) => l.range.start.line === line1 - 1 && l.kind === 'walk');
    assert.equal(walk(10)?.title, 'walk 0xfffff000 → 0x81001000 · IOTLB miss, 4 reads');
    // Line 12 reads through the entry the deferred unmap of line 11 left in the IOTLB.
    assert.equal(walk(12)?.title, 'walk 0xfffff000 → 0x81001000 · stale IOTLB hit');
    assert.equal(walk(12)?.tooltip, 'nic: walk of 0xfffff000 → phys 0x81001000 (stale IOTLB hit)\nthrough default domain of nic');
    assert.equal(run.walks?.find((w) => w.line === 12)?.staleIotlb, true);
    // After the flush queue drained: a table walk that faults, no hit at all.
    assert.match(walk(14)?.title ?? '', /^walk 0xfffff000: 4 reads, fault: smmu0: translation fault at level 3/);
    assert.equal(run.walks?.find((w) => w.line === 10)?.staleIotlb, false);
  });
});
