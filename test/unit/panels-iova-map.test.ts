import { strict as assert } from 'node:assert';
import { handleInspectRequest } from '../../src/debug/inspect-request';
import { inspectMachine } from '../../src/engine/inspect';
import { ScenarioTimeline } from '../../src/lang/timeline';
import { buildIovaMapModel, diffDomains, halves, protKey } from '../../src/panels/iova-map-model';
import { parseFromWebviewMessage, parseInspectArguments } from '../../src/protocol';

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
    assert.equal(m.ranges.length, 1);
    assert.deepEqual(m.ranges[0].start, { hi: 0, lo: 0xfffff000 });
    assert.deepEqual(m.ranges[0].end, { hi: 1, lo: 0 });
    assert.equal(m.ranges[0].phys, '0x81001000');
    assert.equal(m.ranges[0].key, 'r');
    assert.equal(m.ranges[0].line, 5);
    assert.deepEqual(m.boundary32, { hi: 1, lo: 0 });
    assert.equal(m.apertureBits, 48);
    // Holes on both sides of the one mapping, up to the aperture end 0xffffffffffff.
    assert.deepEqual(m.holes.map((h) => h.size), ['0xfffff000', '0xffff00000000']);
  });

  it('marks the bytes of the granule beyond the 100-byte buffer as a finding', () => {
    const m = buildIovaMapModel(afterMap, DOMAIN)!;
    assert.equal(m.findings.length, 1);
    assert.equal(m.findings[0].start, '0x81001064');
    assert.equal(m.findings[0].end, '0x81002000');
    assert.equal(m.findings[0].bytes, '0xf9c');
    assert.equal(m.findings[0].buffer, 'b');
    assert.equal(m.phys[0].buffer, 'b');
  });

  it('reports the change made by the current event and diffs two positions', () => {
    const m = buildIovaMapModel(afterMap, DOMAIN, beforeMap)!;
    assert.deepEqual(m.change.map((c) => [c.kind, c.iova]), [['mapped', '0xfffff000']]);
    const d = diffDomains(afterMap.domains[0], afterUnmap.domains[0]);
    assert.deepEqual(d.map((c) => [c.kind, c.iova, c.before]), [['unmapped', '0xfffff000', '0x81001000 0x1000 r,cache']]);
  });

  it('gives undefined for an unknown domain and keys prot strings', () => {
    assert.equal(buildIovaMapModel(afterMap, 'nope'), undefined);
    assert.equal(protKey('rw,cache'), 'rw');
    assert.equal(protKey('w,mmio'), 'mmio');
    assert.equal(protKey('-'), 'none');
    assert.deepEqual(halves(0x1_2345_6789_abcdn), { hi: 0x12345, lo: 0x6789abcd });
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
    assert.deepEqual(parseInspectArguments({ event: 3 }), { ok: true, message: { event: 3, withPrevious: undefined, domains: undefined } });
    assert.equal(parseInspectArguments({ event: 'x' }).ok, false);
  });
});

describe('dmascope/inspect request', () => {
  it('answers with the machine view and refuses bad arguments', () => {
    const tl = new ScenarioTimeline(SRC);
    const k = endOfLine(tl, 5);
    const r = handleInspectRequest(tl.stateAt(k).machine!, { withPrevious: true, domains: [DOMAIN] }, k, tl.stateAt(k - 1).machine!);
    assert.equal(r.machine.domains[0].mappings[0].iova, '0xfffff000');
    assert.equal(r.event, k);
    assert.ok(r.previous);
    assert.throws(() => handleInspectRequest(tl.stateAt(k).machine!, { event: 'x' }, k), /event must be an integer/);
  });
});
