// The run worker (run-worker.ts, bundled here with esbuild) and the pool
// that runs it: checks and runs off-thread, time limits, cancellation, crash
// recovery and a 10,000-line scenario.

import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { JobError, nodeWorkerFactory, type WorkerLike, WorkerPool } from '../../src/extension/worker-pool';
import type { WorkerProgress, WorkerRequest, WorkerResponse } from '../../src/extension/worker-protocol';
import type { RunResult } from '../../src/lang/run-result';

const root = path.resolve(__dirname, '..', '..');

const GOOD = [
  'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }',
  'iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }',
  'device eth0 : pci "0000:02:00.0" { iommu = smmu0; coherent = true; dma_mask = 64 }',
  'tx = alloc_pages(0)',
  't = dma_map_page(eth0, tx, 0, 4K, DMA_TO_DEVICE)',
  'expect t == 0xfffff000',
  'dma_unmap_page(eth0, t, 4K, DMA_TO_DEVICE)',
].join('\n');

/** Runs for minutes unless stopped. */
const ENDLESS = [
  'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }',
  'device old : pci "0000:07:00.0" { dma_mask = 64 }',
  'b = alloc_pages(0)',
  'for i in 0 .. 1000000 {',
  '  h = dma_map_page(old, b, 0, 4K, DMA_TO_DEVICE)',
  '  dma_unmap_page(old, h, 4K, DMA_TO_DEVICE)',
  '}',
].join('\n');

function bigScenario(lines: number): string {
  const out = [
    'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }',
    'iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }',
    'device eth0 : pci "0000:02:00.0" { iommu = smmu0; coherent = true; dma_mask = 64 }',
    'buf = alloc_pages(0)',
  ];
  for (let i = 0; out.length < lines; i++) {
    out.push(`h${i} = dma_map_page(eth0, buf, 0, 4K, DMA_TO_DEVICE)`, `expect !dma_mapping_error(eth0, h${i})`,
      `dma_unmap_page(eth0, h${i}, 4K, DMA_TO_DEVICE)`, `# step ${i}`);
  }
  return out.join('\n') + '\n';
}

describe('ext: run worker and pool (real worker threads)', function () {
  this.timeout(120_000);
  let dir: string;
  let script: string;
  let pool: WorkerPool;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dmascope-worker-'));
    script = path.join(dir, 'run-worker.js');
    await esbuild.build({
      entryPoints: [path.join(root, 'src/extension/run-worker.ts')], outfile: script,
      bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'silent',
    });
  });
  beforeEach(() => {
    pool = new WorkerPool(nodeWorkerFactory(script), { maxWorkers: 2, maxIdle: 1 });
  });
  afterEach(() => pool.dispose());
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a scenario: the result, the check diagnostics and the summary', async () => {
    const msg = await pool.submit({ kind: 'run', source: GOOD, fileName: 'good.dmas', kernelVersion: '6.18' }, 20_000).promise;
    assert.equal(msg.kind, 'run');
    if (msg.kind !== 'run') return;
    const r = JSON.parse(msg.resultJson) as RunResult;
    assert.equal(r.ok, true);
    assert.equal(r.expectations.length, 1);
    assert.ok(r.events.every((e) => e.depth === 0), 'API-level events only');
    assert.equal(msg.ran, true);
    assert.deepEqual(msg.checkDiagnostics, []);
    assert.equal(msg.summary.status, 'pass');
    assert.equal(msg.omitted, 0);
    assert.equal(msg.reportText, undefined);
  });

  it('does not run a scenario with errors, and says so', async () => {
    const msg = await pool.submit({ kind: 'run', source: 'x = (1 +\n', fileName: 'bad.dmas', kernelVersion: '6.18' }).promise;
    assert.equal(msg.kind, 'run');
    if (msg.kind !== 'run') return;
    assert.equal(msg.ran, false);
    assert.ok(msg.checkDiagnostics.length > 0);
    assert.equal(msg.summary.status, 'error');
  });

  it('checks off-thread', async () => {
    const msg = await pool.submit({ kind: 'check', source: 'x = (1\n' }).promise;
    assert.equal(msg.kind, 'check');
    if (msg.kind === 'check') assert.ok(msg.diagnostics.some((d) => d.severity === 'error'));
  });

  it('stops a run at its time limit, and the next job gets a fresh worker', async () => {
    const t0 = Date.now();
    await assert.rejects(pool.submit({ kind: 'run', source: ENDLESS, fileName: 'loop.dmas', kernelVersion: '6.18' }, 300).promise,
      (e: unknown) => e instanceof JobError && e.reason === 'timeout');
    assert.ok(Date.now() - t0 < 5000, 'stopped promptly');
    const msg = await pool.submit({ kind: 'check', source: GOOD }).promise;
    assert.equal(msg.kind, 'check');
  });

  it('checks a document again incrementally by its key: an edited line gets the same diagnostics as a full check', async () => {
    const big = bigScenario(10_000);
    const first = await pool.submit({ kind: 'check', source: big, key: 'file:///big.dmas' }).promise;
    assert.equal(first.kind, 'check');
    const lines = big.split('\n');
    const at = lines.findIndex((l, i) => i > 5000 && l.trim() !== '' && !l.startsWith(' ') && !l.startsWith('#') && !l.startsWith('}'));
    lines[at] = 'cpu_write(nosuchbuffer, 0, "x")';
    const msg = await pool.submit({ kind: 'check', source: lines.join('\n'), key: 'file:///big.dmas' }).promise;
    assert.equal(msg.kind, 'check');
    if (msg.kind === 'check') {
      assert.deepEqual(msg.diagnostics.map((d) => [d.line, d.code]), [[at + 1, 'unknown-name']]);
      assert.ok(msg.durationMs < (first.kind === 'check' ? first.durationMs : Infinity), `${msg.durationMs} ms after ${first.kind === 'check' ? first.durationMs : 0} ms`);
    }
  });

  it('a long run reports where it stands while it runs, then answers once', async () => {
    const progress: WorkerProgress[] = [];
    const msg = await pool.submit({ kind: 'run', source: ENDLESS, fileName: 'loop.dmas', kernelVersion: '6.18', budget: { timeSeconds: 1.8, memoryMb: 1024 } }, 20_000, (p) => progress.push(p)).promise;
    assert.equal(msg.kind, 'run');
    assert.ok(progress.length >= 1, 'at least one progress message after the first second');
    for (const p of progress) {
      assert.ok(p.elapsedMs >= 1000 && p.elapsedMs <= 1900, `${p.elapsedMs} ms`);
      assert.ok([5, 6].includes(p.line), `line ${p.line}`);
      assert.ok(p.statements > 0 && p.events > p.statements, `${p.statements} statements, ${p.events} events`);
    }
    assert.ok(progress.every((p, i) => i === 0 || p.statements > progress[i - 1].statements), 'progress moves forward');
  });

  it('a run stops itself at its time budget and keeps what it did, before the worker deadline', async () => {
    const msg = await pool.submit({ kind: 'run', source: ENDLESS, fileName: 'loop.dmas', kernelVersion: '6.18', budget: { timeSeconds: 0.5, memoryMb: 1024 } }, 20_000).promise;
    assert.equal(msg.kind, 'run');
    if (msg.kind !== 'run') return;
    const result = JSON.parse(msg.resultJson) as RunResult;
    const stop = result.diagnostics.find((d) => d.code === 'time-budget');
    assert.ok(stop, msg.resultJson.slice(0, 400));
    assert.ok(stop.line === 5 || stop.line === 6, `line ${stop.line}`);
    assert.match(stop.message, /its time budget of 0\.5 s ran out .*dmascope\.run\.timeBudgetSeconds/);
    assert.equal(result.statements.find((s) => s.line === 3)?.value?.startsWith('alloc_pages 0x'), true);
  });

  it('cancels a run in flight and a queued one', async () => {
    const a = pool.submit({ kind: 'run', source: ENDLESS, fileName: 'a.dmas', kernelVersion: '6.18' });
    const b = pool.submit({ kind: 'run', source: ENDLESS, fileName: 'b.dmas', kernelVersion: '6.18' });
    const c = pool.submit({ kind: 'run', source: GOOD, fileName: 'c.dmas', kernelVersion: '6.18' });
    await new Promise((r) => setTimeout(r, 100));
    a.cancel();
    await assert.rejects(a.promise, (e: unknown) => e instanceof JobError && e.reason === 'cancelled');
    b.cancel();
    await assert.rejects(b.promise, (e: unknown) => e instanceof JobError && e.reason === 'cancelled');
    const msg = await c.promise;
    assert.equal(msg.kind, 'run');
    assert.ok(pool.workerCount <= 2);
  });

  it('runs a 10,000-line scenario off-thread while this thread stays responsive', async () => {
    const source = bigScenario(10_000);
    let ticks = 0;
    let worstGap = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
      ticks++;
    }, 10);
    try {
      const msg = await pool.submit({ kind: 'run', source, fileName: 'big.dmas', kernelVersion: '6.18' }, 60_000).promise;
      assert.equal(msg.kind, 'run');
      if (msg.kind === 'run') {
        const t = Date.now();
        const r = JSON.parse(msg.resultJson) as RunResult;
        const parseMs = Date.now() - t;
        assert.equal(r.ok, true);
        assert.equal(r.expectations.length, 2499);
        assert.ok(parseMs < 1000, `parsing the result on this thread took ${parseMs} ms`);
      }
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 0);
    assert.ok(worstGap < 1500, `this thread was blocked for ${worstGap} ms`);
  });
});

describe('ext: worker pool (fake workers)', () => {
  class FakeWorker extends EventEmitter implements WorkerLike {
    posted: WorkerRequest[] = [];
    terminated = false;
    postMessage(m: WorkerRequest): void { this.posted.push(m); }
    terminate(): void { this.terminated = true; }
    reply(r: WorkerResponse extends infer R ? (R extends WorkerResponse ? Omit<R, 'id'> : never) : never): void { this.emit('message', { ...r, id: this.posted[this.posted.length - 1]!.id }); }
  }

  it('reuses an idle worker, keeps at most maxIdle, queues past maxWorkers', async () => {
    const workers: FakeWorker[] = [];
    const pool = new WorkerPool(() => { const w = new FakeWorker(); workers.push(w); return w; }, { maxWorkers: 2, maxIdle: 1 });
    const a = pool.submit({ kind: 'check', source: 'a' });
    const b = pool.submit({ kind: 'check', source: 'b' });
    const c = pool.submit({ kind: 'check', source: 'c' });
    assert.equal(workers.length, 2);
    workers[0]!.reply({ kind: 'check', diagnostics: [], durationMs: 1 });
    await a.promise;
    assert.equal(workers[0]!.posted.length, 2, 'the queued job goes to the freed worker');
    workers[1]!.reply({ kind: 'check', diagnostics: [], durationMs: 1 });
    await b.promise;
    assert.ok(!workers[1]!.terminated, 'one idle worker is kept');
    workers[0]!.reply({ kind: 'check', diagnostics: [], durationMs: 1 });
    await c.promise;
    assert.ok(workers[0]!.terminated, 'a second idle worker is not');
    assert.equal(pool.workerCount, 1);
    pool.dispose();
    assert.ok(workers[1]!.terminated);
    await assert.rejects(pool.submit({ kind: 'check', source: 'd' }).promise, (e: unknown) => e instanceof JobError && e.reason === 'disposed');
  });

  it('fails the job of a crashed worker and carries on with a new one', async () => {
    const workers: FakeWorker[] = [];
    const pool = new WorkerPool(() => { const w = new FakeWorker(); workers.push(w); return w; }, { maxWorkers: 1 });
    const a = pool.submit({ kind: 'check', source: 'a' });
    const b = pool.submit({ kind: 'check', source: 'b' });
    workers[0]!.emit('error', new Error('out of memory'));
    await assert.rejects(a.promise, (e: unknown) => e instanceof JobError && e.reason === 'crashed' && /out of memory/.test(e.message));
    assert.equal(workers.length, 2);
    workers[1]!.reply({ kind: 'check', diagnostics: [], durationMs: 1 });
    assert.equal((await b.promise).kind, 'check');
    pool.dispose();
  });

  it('ignores answers to jobs it no longer waits for', async () => {
    const workers: FakeWorker[] = [];
    const pool = new WorkerPool(() => { const w = new FakeWorker(); workers.push(w); return w; });
    const a = pool.submit({ kind: 'check', source: 'a' });
    a.cancel();
    await assert.rejects(a.promise);
    workers[0]!.reply({ kind: 'check', diagnostics: [], durationMs: 1 });
    assert.ok(workers[0]!.terminated);
    pool.dispose();
  });
});
