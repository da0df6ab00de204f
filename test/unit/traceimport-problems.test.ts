// The import result as editor problems (what the Problems view shows for a
// capture), and recognising a capture by its first lines.

import { strict as assert } from 'node:assert';
import { captureProblems, looksLikeCapture } from '../../src/traceimport/problems';
import { REAL_DIR, SYNTHETIC_DIR, importFixture } from './traceimport-helpers';

describe('traceimport: problems', () => {
  it('one problem per finding at its lines, each repeat of a folded one, malformed lines as information', async () => {
    const r = await importFixture(REAL_DIR, '11-arm-smmu-context-fault-5.15-acpi.log');
    const p = captureProblems(r);
    assert.equal(p.length, 11);
    assert.deepEqual([p[0].line, p[0].endLine, p[0].severity, p[0].code], [4, 4, 'error', 'io_page_fault']);
    assert.equal(p[0].message, 'io_page_fault (arm-smmu.0.auto sid 0x4000) read 0x23e0000100: translation fault [arm-smmu] (x10)');
    assert.deepEqual(p.slice(1, 10).map((x) => x.line), [5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert.deepEqual([p[10].line, p[10].severity, p[10].code], [14, 'info', 'callbacks_suppressed']);
    const m = captureProblems(await importFixture(SYNTHETIC_DIR, 'malformed-mixed.log'));
    assert.deepEqual(m.map((x) => [x.line, x.severity, x.code]).slice(0, 2), [[1, 'info', 'malformed'], [2, 'info', 'malformed']]);
    const splat = captureProblems(await importFixture(REAL_DIR, '24-dma-debug-not-allocated-and-eexist-5.19.log'));
    assert.deepEqual(splat.map((x) => [x.line, x.endLine]), [[4, 17], [18, 33]], 'a splat spans its WARNING line to its last frame');
  });

  it('a truncated capture has its error as a problem at the line', async () => {
    const p = captureProblems(await importFixture(SYNTHETIC_DIR, 'truncated-amd.log'));
    const last = p[p.length - 1];
    assert.deepEqual([last.line, last.severity, last.code], [2, 'error', 'truncated']);
  });

  it('recognises ftrace, trace-cmd, dmesg and journal captures by their first lines, and not a scenario', () => {
    assert.ok(looksLikeCapture(['# tracer: nop', '#']));
    assert.ok(looksLikeCapture(['cpus=4', '  kworker-1 [000] 1.0: dma_map_phys: x']));
    assert.ok(looksLikeCapture(['   (udev-worker)-532     [010] .....     4.878076: map: IOMMU: iova=0x1']));
    assert.ok(looksLikeCapture(['[    0.000000] Linux version 6.8.0', '[    0.000000] Command line: ro', '[    0.000001] KERNEL supported cpus:']));
    assert.ok(looksLikeCapture(['Jan 04 23:12:54 host kernel: Linux version 6.8.0', 'Jan 04 23:12:54 host kernel: x', 'Jan 04 23:12:54 host kernel: y']));
    assert.ok(!looksLikeCapture(['platform { page_size = 4K }', 'iommu smmu0 : arm-smmu-v3 { }']));
    assert.ok(!looksLikeCapture(['[    0.000000] one timestamped line', 'then prose', 'and more prose']));
  });
});
