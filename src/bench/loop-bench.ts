// The long-loop figures of `npm run bench`: a scenario loop of 1,000,000
// dma_map_page / dma_mapping_error / dma_unmap_page iterations, run as
// `dmascope run` runs it (full trace kept in the recorder), in a fresh child
// process so its resident memory is the run's own. The trace's size is the
// heap it holds: measured after a full GC with the trace, then again after the
// trace is dropped.

import { spawnSync } from 'node:child_process';
import { parseAndCheck } from '../lang/frontend';
import { ScenarioTimeline } from '../lang/timeline';

export const LOOP_CHILD_FLAG = '--loop-bench-child';

const HEADER = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }
device nvme0 : pci "0000:01:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }
`;

/** A driver's map/unmap loop of `pairs` iterations, each checking the mapping as a correct driver does. */
export function mapUnmapLoopScenario(pairs: number): string {
  return `${HEADER}b = alloc_pages(0)
for i in 0 .. ${pairs} {
  h = dma_map_page(nvme0, b, 0, 4K, DMA_TO_DEVICE)
  dma_mapping_error(nvme0, h)
  dma_unmap_page(nvme0, h, 4K, DMA_TO_DEVICE)
}
`;
}

interface LoopChildResult {
  seconds: number;
  rss_mb: number;
  events: number;
  trace_bytes: number;
  completed: boolean;
  diagnostics: string[];
}

function heapBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('bench: the loop child needs --expose-gc');
  gc();
  gc();
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

/** In the child: runs the loop, prints seconds, resident MiB, events and trace bytes as JSON. */
export function runLoopChild(pairs: number): void {
  const source = mapUnmapLoopScenario(pairs);
  const start = process.hrtime.bigint();
  const checked = parseAndCheck(source);
  const tl = new ScenarioTimeline(source, Number.POSITIVE_INFINITY, { program: checked.program, diagnostics: checked.diagnostics });
  const result = tl.resultWith({ events: 'none' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = process.memoryUsage().rss / (1024 * 1024);
  const trace = tl.final.m.trace;
  const events = trace.length;
  const withTrace = heapBytes();
  trace.truncate(0);
  const withoutTrace = heapBytes();
  const out: LoopChildResult = {
    seconds,
    rss_mb: rss,
    events,
    trace_bytes: withTrace - withoutTrace,
    completed: result.diagnostics.length === 0 && result.statements.length > 0,
    diagnostics: result.diagnostics.map((d) => `${d.line}: ${d.message}`),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

export interface LoopFigures {
  run_1m_map_unmap_loop_pairs: number;
  run_1m_map_unmap_loop_s: number;
  run_1m_map_unmap_loop_rss_mb: number;
  run_1m_map_unmap_loop_events: number;
  trace_bytes_per_event: number;
}

/** The loop figures from a child process running this bundle (quick: 100,000 pairs). */
export function loopFigures(quick: boolean): LoopFigures {
  const pairs = Number(process.env.BENCH_LOOP_PAIRS ?? (quick ? 100_000 : 1_000_000));
  const child = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', process.argv[1], LOOP_CHILD_FLAG, String(pairs)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`bench: the loop child failed (${child.status ?? child.signal}): ${child.stderr.slice(-2000)}`);
  const out = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as LoopChildResult;
  if (!out.completed) throw new Error(`bench: the ${pairs}-pair loop did not complete: ${out.diagnostics.join('; ')}`);
  return {
    run_1m_map_unmap_loop_pairs: pairs,
    run_1m_map_unmap_loop_s: Math.round(out.seconds * 100) / 100,
    run_1m_map_unmap_loop_rss_mb: Math.round(out.rss_mb),
    run_1m_map_unmap_loop_events: out.events,
    trace_bytes_per_event: Math.round((out.trace_bytes / Math.max(1, out.events)) * 10) / 10,
  };
}
