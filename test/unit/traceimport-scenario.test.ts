// "Convert to scenario": a device's captured sequence becomes a .dmas
// scenario that parses, checks and runs on the emulator (runScenario), and
// reproduces the captured faults.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { captureDevices, captureToScenario } from '../../src/traceimport/to-scenario';
import { REAL_DIR, SYNTHETIC_DIR, importFixture } from './traceimport-helpers';

function run(source: string): ReturnType<typeof runScenario> {
  const r = runScenario(source, 'converted.dmas');
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
    source,
  );
  return r;
}

describe('traceimport: convert to scenario', () => {
  it('capture 28: the freed coherent buffer and the fault on it reproduce on the emulator', async () => {
    const r = await importFixture(REAL_DIR, '28-ftrace-iommu-dma-events-ath12k-6.12.log');
    const s = captureToScenario(r, r.events, '0000:c2:00.0', { captureName: '28.log' });
    assert.equal(s.ops, 3);
    assert.match(s.source, /iommu iommu0 : amd-vi/);
    assert.match(s.source, /device dev0 : pci "0000:c2:00.0" \{ iommu = iommu0; coherent = true; dma_mask = 64; default_domain = dma \}/);
    assert.match(s.source, /c6 = dma_alloc_coherent\(dev0, 524288\)\n/);
    assert.match(s.source, /dma_free_coherent\(dev0, 524288, c6\)\n/);
    assert.match(s.source, /expect fault dev_write\(dev0, c6\.dma, 4\)\n/);
    const result = run(s.source);
    assert.equal(result.ok, true, JSON.stringify(result.expectations));
    assert.equal(result.faults.length, 1);
    assert.equal(result.faults[0].access, 'write');
  });

  it('v6.18 trace: maps at the captured phys, syncs inside them, sg tables, coherent memory, the fault after unmap', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'ftrace-dma-6.18.trace');
    const s = captureToScenario(r, r.events, '01:00.0');
    assert.equal(s.device, '0000:01:00.0');
    assert.match(s.source, /b16 = phys_buffer\(0x1_076a_2000, 0x1000\)\nh16 = dma_map_page\(dev0, b16, 0x0, 4096, DMA_FROM_DEVICE\)/);
    assert.match(s.source, /dma_sync_single_for_device\(dev0, h16 \+ 0x200, 512, DMA_FROM_DEVICE\)/);
    assert.match(s.source, /sg21 = sg_table\(sb21_0 \+ 0x0 : 0x1000, sb21_1 \+ 0x0 : 0x1000, sb21_2 \+ 0x0 : 0x1000\)\nn21 = dma_map_sg\(dev0, sg21, DMA_TO_DEVICE\)/);
    assert.match(s.source, /dma_unmap_sg\(dev0, sg21, DMA_TO_DEVICE\)/);
    assert.match(s.source, /expect fault dev_write\(dev0, h16 \+ 0x10, 4\)/);
    const result = run(s.source);
    assert.equal(result.ok, true, JSON.stringify({ e: result.expectations, c: result.checks, f: result.faults }));
  });

  it('keeps the driver bugs it converts: the emulator reports the same size mismatch and double unmap', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'replay-checks.trace');
    const s = captureToScenario(r, r.events, '0000:05:00.0');
    assert.match(s.source, /dma_unmap_page\(dev0, h3, 4096, DMA_TO_DEVICE\)/);
    assert.ok(s.skipped.some((x) => x.startsWith('line 7: dma_unmap_phys')), s.skipped.join('\n'));
    assert.ok(s.skipped.some((x) => x.startsWith('line 10: dma_sync_single_for_cpu')), s.skipped.join('\n'));
    const result = run(s.source);
    const messages = result.checks.map((c) => c.message).join('\n');
    assert.match(messages, /frees DMA memory with different size/);
    assert.match(messages, /with different direction/);
  });

  it('a platform device behind an SMMUv3, with no DMA events, gets its faults as accesses', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'dmesg-arm-smmu.log');
    const s = captureToScenario(r, r.events, '38200000.dwc3');
    assert.match(s.source, /iommu iommu0 : arm-smmu-v3/);
    assert.match(s.source, /device dev0 : platform "38200000.dwc3"/);
    assert.match(s.source, /expect fault dev_read\(dev0, 0xfe_e000, 4\)/);
    const result = run(s.source);
    assert.equal(result.ok, true, JSON.stringify(result.expectations));
  });

  it('lists the capture devices, and names them when asked for one it lacks', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'ftrace-dma-6.18.trace');
    assert.deepEqual(captureDevices(r), [
      { device: '0000:01:00.0', events: 16, faults: 1 },
      { device: '0000:02:00.0', events: 1, faults: 0 },
    ]);
    assert.throws(() => captureToScenario(r, r.events, '0000:99:00.0'), /no DMA events or faults of device 0000:99:00.0 in the capture; devices: 0000:01:00.0 \(16 events, 1 faults\)/);
  });

  it('stops at the operation limit with a comment saying how much is left', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'ftrace-dma-6.12.trace');
    const s = captureToScenario(r, r.events, '0000:c2:00.0', { maxOps: 2 });
    assert.equal(s.ops, 2);
    assert.match(s.source, /# Stopped at line 7: at most 2 operations are converted; \d+ more left out\./);
    run(s.source);
  });
});
