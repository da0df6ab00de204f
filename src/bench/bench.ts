// `npm run bench`: throughput of the engine's hot paths and of the language
// front end, printed as one JSON object on the last line. BENCH_QUICK=1
// shortens every measurement so the whole run stays well under 30 s.

import { DMA_TO_DEVICE } from '../engine/dma-mapping/dma-direction';
import { dmaMapPhys, dmaMappingError, dmaUnmapPhys } from '../engine/dma-mapping/dma-mapping';
import { IovaDomain } from '../engine/iova/iova';
import { Machine } from '../engine/machine';
import { DEFAULT_PLATFORM } from '../engine/platform';
import { checkScenario, runScenario } from '../lang/run';
import { IncrementalChecker } from '../lang/incremental';
import { DebugRuntime } from '../debug/runtime';
import { IMPORT_CHILD_FLAG, importFigures, runImportChild } from './import-bench';
import { LOOP_CHILD_FLAG, loopFigures, runLoopChild } from './loop-bench';
import { panelFigures } from './panel-bench';
import path from 'node:path';

const QUICK = process.env.BENCH_QUICK === '1';

/**
 * Runs `body` repeatedly for about `ms` milliseconds after a warm-up of a
 * tenth of that; returns operations per second in the steady state. The
 * warm-up is timed, not counted: a thousand calls left the optimizing
 * compiler's work (and the slower code before it) inside the measurement.
 */
function rate(ms: number, opsPerCall: number, body: () => void): number {
  const warm = process.hrtime.bigint() + BigInt(Math.ceil(ms / 10)) * 1_000_000n;
  do for (let i = 0; i < 1000; i++) body();
  while (process.hrtime.bigint() < warm);
  let calls = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 1000; i++) body();
    calls += 1000;
    elapsed = process.hrtime.bigint() - start;
  }
  return Math.round((calls * opsPerCall) / (Number(elapsed) / 1e9));
}

function timeMs(body: () => void, repeat: number): number {
  body();
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = process.hrtime.bigint();
    body();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)] * 10) / 10;
}

/** dma_map_page + dma_unmap_page on a strict DMA domain, as a driver's hot path runs them (trace kept at API level). */
function mapUnmapPairs(ms: number): number {
  const m = new Machine({ ...DEFAULT_PLATFORM, swiotlb: 0n });
  m.trace.detailed = false;
  m.addIommu({ name: 'smmu0', kind: 'arm-smmu-v3' }, 1);
  const dev = m.addDevice({ name: 'nvme0', bus: 'pci', busId: '0000:01:00.0', iommus: ['smmu0'], coherent: true, dmaMask: 64, defaultDomain: ['dma'] }, 2);
  const buf = m.allocPages(0, 'buf');
  if (!buf) throw new Error('no memory');
  return rate(ms, 1, () => {
    const h = dmaMapPhys(m, dev, buf.phys, 4096n, DMA_TO_DEVICE, 0);
    dmaMappingError(m, dev, h);
    dmaUnmapPhys(m, dev, h, 4096n, DMA_TO_DEVICE, 0);
    if (m.trace.length > 100_000) m.trace.truncate(0); // a long benchmark must not measure trace growth
  });
}

function iovaAllocs(ms: number): number {
  const iovad = new IovaDomain(4096n, 1, 1);
  return rate(ms, 1, () => {
    const pfn = iovad.allocIovaFast(1, 0xfffff, true, 0);
    iovad.freeIovaFast(pfn, 1, 0);
  });
}

const HEADER = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }
device nvme0 : pci "0000:01:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }
`;

/** A 10,000-line scenario of the kinds of statements users write. */
function tenThousandLines(): string {
  const lines = [HEADER];
  for (let i = 0; lines.length < 10_000; i++) {
    lines.push(`b${i} = alloc_pages(0)`);
    lines.push(`cpu_write(b${i}, 0, "data ${i}")`);
    lines.push(`h${i} = dma_map_page(nvme0, b${i}, 0, 4K, DMA_TO_DEVICE)`);
    lines.push(`expect dev_read(nvme0, h${i}, 4) == "data"   # the device sees the buffer`);
    lines.push(`dma_unmap_page(nvme0, h${i}, 4K, DMA_TO_DEVICE)`);
  }
  return lines.join('\n');
}

/** A scenario whose loop makes `ops` DMA API calls (map, mapping_error, unmap), as a correct driver does. */
function opsScenario(ops: number): string {
  return `${HEADER}b = alloc_pages(0)
for i in 0 .. ${Math.round(ops / 3)} {
  h = dma_map_page(nvme0, b, 0, 4K, DMA_TO_DEVICE)
  dma_mapping_error(nvme0, h)
  dma_unmap_page(nvme0, h, 4K, DMA_TO_DEVICE)
}
`;
}

/** The editor's path after a keystroke: one line in the middle of the 10,000 changed, the document checked again (incrementally). */
function editRecheck(source: string): number {
  const lines = source.split('\n');
  const at = lines.findIndex((l, i) => i > 5000 && l.startsWith('cpu_write('));
  const original = lines[at];
  const checker = new IncrementalChecker();
  checker.update(source);
  let n = 0;
  return timeMs(() => {
    lines[at] = original.replace(', 0, "', `, ${n++ % 7}, "edited `);
    const r = checker.update(lines.join('\n'));
    if (!r.incremental || r.diagnostics.length > 0) throw new Error('bench: the one-line edit was not re-checked alone');
  }, QUICK ? 5 : 21);
}

/** The debugger on a long run: launch to the first stop, step back and reverse continue at the end of about `events` events. */
function debugFigures(): { debug_trace_events: number; debug_launch_to_first_stop_ms: number; debug_step_back_ms: number; debug_reverse_continue_ms: number } {
  // Launch: the 100,000-operation scenario, parsed, stopped on entry with the state there (the run goes forward on demand).
  const launchSource = opsScenario(100_000);
  const t0 = process.hrtime.bigint();
  const launched = new DebugRuntime(launchSource);
  launched.start(true);
  launched.state();
  const launchMs = Number(process.hrtime.bigint() - t0) / 1e6;
  // Step back / reverse continue: a run of about 1,000,000 events, at its end.
  const pairs = QUICK ? 10_000 : 42_000;
  const rt = new DebugRuntime(opsScenario(pairs * 3));
  rt.setLineBreakpoints([{ line: 5 }]); // the first statement of the loop body: reverse continue crosses one iteration
  let lastStop = -1;
  rt.on('stop', (e: { event: number }) => (lastStop = e.event));
  const end = rt.complete() - 1;
  const back = timeMs(() => {
    rt.goTo(end);
    rt.state();
    rt.stepBack();
    rt.state();
  }, QUICK ? 3 : 7);
  const reverse = timeMs(() => {
    rt.goTo(end);
    rt.setLineBreakpoints([{ line: 4 }]); // the map statement: the previous iteration's
    rt.reverseContinue();
    rt.state();
  }, QUICK ? 3 : 7);
  if (lastStop < 0 || lastStop >= end) throw new Error('bench: reverse continue did not stop behind the end');
  return { debug_trace_events: rt.eventCount, debug_launch_to_first_stop_ms: Math.round(launchMs), debug_step_back_ms: back, debug_reverse_continue_ms: reverse };
}

async function main(): Promise<void> {
  const ms = QUICK ? 300 : 2000;
  const source10k = tenThousandLines();
  const result = {
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    quick: QUICK,
    map_unmap_pairs_per_s: mapUnmapPairs(ms),
    iova_allocs_per_s: iovaAllocs(ms),
    parse_check_10k_lines_ms: timeMs(() => checkScenario(source10k), QUICK ? 3 : 10),
    edit_recheck_10k_lines_ms: editRecheck(source10k),
    run_10k_lines_ms: timeMs(() => runScenario(source10k, 'bench-10k.dmas', { events: 'none' }), QUICK ? 1 : 3),
    run_100k_ops_ms: timeMs(() => {
      const r = runScenario(opsScenario(100_000), 'bench-100k.dmas', { events: 'none' });
      if (r.diagnostics.some((d) => d.severity === 'error')) throw new Error(r.diagnostics[0].message);
    }, QUICK ? 1 : 3),
    run_100k_ops_json_ms: timeMs(() => {
      runScenario(opsScenario(100_000), 'bench-100k.dmas', { events: 'all' });
    }, 1),
    ...debugFigures(),
    ...importFigures(QUICK),
    ...loopFigures(QUICK),
    // The IOVA map webview in headless chromium (dist/bench.js sits in dist/: the repository is its parent).
    ...await panelFigures(QUICK, path.resolve(__dirname, '..')),
  };
  console.log(`map/unmap pairs per second: ${result.map_unmap_pairs_per_s}`);
  console.log(`IOVA alloc+free per second (rcache warm): ${result.iova_allocs_per_s}`);
  console.log(`parse + check 10,000 lines: ${result.parse_check_10k_lines_ms} ms`);
  console.log(`run a 10,000-line scenario: ${result.run_10k_lines_ms} ms`);
  console.log(`run 100,000 DMA API calls: ${result.run_100k_ops_ms} ms (with every trace event in the result, as --json: ${result.run_100k_ops_json_ms} ms)`);
  console.log(`debugger on ${result.debug_trace_events} events: launch to first stop (100,000 operations) ${result.debug_launch_to_first_stop_ms} ms, step back ${result.debug_step_back_ms} ms, reverse continue ${result.debug_reverse_continue_ms} ms`);
  console.log(`import a mixed ${result.import_lines}-line capture: ${result.import_lines_per_s} lines/s, ${result.import_1m_lines_rss_mb} MiB resident`);
  console.log(`edit one line of 10,000 and check again: ${result.edit_recheck_10k_lines_ms} ms`);
  console.log(`run a loop of ${result.run_1m_map_unmap_loop_pairs} map/unmap pairs (${result.run_1m_map_unmap_loop_events} events kept): ${result.run_1m_map_unmap_loop_s} s, ${result.run_1m_map_unmap_loop_rss_mb} MiB resident, ${result.trace_bytes_per_event} trace bytes an event`);
  console.log(`IOVA map panel, ${result.panel_iova_map_mappings} mappings: model ${result.panel_iova_map_100k_model_ms} ms (host), first paint ${result.panel_iova_map_100k_first_paint_ms} ms, zoom step ${result.panel_iova_map_100k_zoom_ms} ms (slowest ${result.panel_iova_map_100k_zoom_max_ms} ms); first paint parts ${JSON.stringify(result.panel_iova_map_100k_first_paint_parts_ms)}`);
  console.log(JSON.stringify(result));
}

if (process.argv[2] === IMPORT_CHILD_FLAG) void runImportChild(process.argv[3]);
else if (process.argv[2] === LOOP_CHILD_FLAG) runLoopChild(Number(process.argv[3]));
else main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
