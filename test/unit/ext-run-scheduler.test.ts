// Debounce, cancellation and coalescing of checks and runs (run-scheduler.ts),
// with a fake clock and fake runners.

import * as assert from 'node:assert/strict';
import type { Diagnostic, RunResult } from '../../src/lang/run-result';
import {
  type Cancellable, CheckScheduler, type Clock, type DocSource, type RunnerOutcome, type RunOutcome, type RunRequest, RunScheduler,
} from '../../src/extension/run-scheduler';

class FakeClock implements Clock {
  now = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.now + ms, fn, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > until) break;
      this.timers.shift();
      this.now = t.at;
      t.fn();
    }
    this.now = until;
  }
}

class FakeDoc implements DocSource {
  constructor(readonly uri: string, private v: number, private t: string, readonly fileName = 'a.dmas') {}
  version(): number { return this.v; }
  text(): string { return this.t; }
  edit(text: string): this {
    this.v++;
    this.t = text;
    return this;
  }
}

interface FakeJob {
  req: RunRequest;
  cancelled: boolean;
  finish(o?: Partial<RunnerOutcome>): void;
}

function emptyResult(): RunResult {
  return { ok: true, diagnostics: [], expectations: [], checks: [], faults: [], values: {}, events: [], log: [], statements: [] };
}

class FakeRunner {
  jobs: FakeJob[] = [];
  readonly run = (req: RunRequest): Cancellable<RunnerOutcome> => {
    let resolve!: (o: RunnerOutcome) => void;
    const promise = new Promise<RunnerOutcome>((r) => { resolve = r; });
    const job: FakeJob = {
      req,
      cancelled: false,
      finish: (o) => resolve({ kind: 'result', result: emptyResult(), checkDiagnostics: [], ran: true, durationMs: 1, ...o } as RunnerOutcome),
    };
    this.jobs.push(job);
    return { promise, cancel: () => { job.cancelled = true; resolve({ kind: 'cancelled' }); } };
  };
  get live(): FakeJob[] {
    return this.jobs.filter((j) => !j.cancelled);
  }
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(opts: { debounceMs?: number; runOnType?: boolean } = {}) {
  const clock = new FakeClock();
  const runner = new FakeRunner();
  const outcomes: RunOutcome[] = [];
  const busy: [string, boolean][] = [];
  const sched = new RunScheduler({
    clock, runner: runner.run, debounceMs: opts.debounceMs ?? 300, runOnType: opts.runOnType ?? true,
    onOutcome: (o) => outcomes.push(o), onBusyChange: (u, b) => busy.push([u, b]),
  });
  return { clock, runner, outcomes, busy, sched };
}

describe('ext: run scheduler', () => {
  it('runs once, debounceMs after the last of a burst of edits, with the latest text', async () => {
    const { clock, runner, outcomes, sched } = setup();
    const doc = new FakeDoc('file:///a.dmas', 1, 'a');
    sched.edited(doc);
    clock.advance(100);
    sched.edited(doc.edit('ab'));
    clock.advance(200);
    sched.edited(doc.edit('abc'));
    clock.advance(299);
    assert.equal(runner.jobs.length, 0);
    clock.advance(1);
    assert.equal(runner.jobs.length, 1);
    assert.deepEqual(runner.jobs[0]!.req, { uri: 'file:///a.dmas', version: 3, source: 'abc', fileName: 'a.dmas' });
    runner.jobs[0]!.finish();
    await flush();
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0]!.version, 3);
    assert.equal(outcomes[0]!.kind, 'result');
  });

  it('cancels an automatic run of an older version when the text changes, and runs the new one', async () => {
    const { clock, runner, outcomes, sched, busy } = setup();
    const doc = new FakeDoc('u', 1, 'one');
    sched.edited(doc);
    clock.advance(300);
    assert.equal(runner.live.length, 1);
    assert.ok(sched.isRunning('u'));
    sched.edited(doc.edit('two'));
    assert.equal(runner.jobs[0]!.cancelled, true, 'the outdated run is cancelled at once');
    assert.ok(!sched.isRunning('u'));
    clock.advance(300);
    assert.equal(runner.live.length, 1);
    assert.equal(runner.live[0]!.req.version, 2);
    runner.live[0]!.finish();
    await flush();
    assert.deepEqual(outcomes.map((o) => o.version), [2], 'the cancelled run reports nothing');
    assert.deepEqual(busy, [['u', true], ['u', false], ['u', true], ['u', false]]);
  });

  it('keeps one run in flight per document', async () => {
    const { clock, runner, sched } = setup({ debounceMs: 10 });
    const doc = new FakeDoc('u', 1, 'x');
    for (let i = 0; i < 20; i++) {
      sched.edited(doc.edit(`x${i}`));
      clock.advance(15);
      assert.ok(runner.live.length <= 1);
    }
    assert.equal(runner.live.length, 1);
    assert.equal(runner.live[0]!.req.version, 21);
  });

  it('runs documents independently', () => {
    const { clock, runner, sched } = setup();
    sched.edited(new FakeDoc('a', 1, 'a'));
    sched.edited(new FakeDoc('b', 1, 'b'));
    clock.advance(300);
    assert.deepEqual(runner.live.map((j) => j.req.uri).sort(), ['a', 'b']);
  });

  it('runNow runs at once, joins a run of the same version, and is not cancelled by typing', async () => {
    const { clock, runner, outcomes, sched } = setup();
    const doc = new FakeDoc('u', 1, 'v1');
    sched.edited(doc);
    const p = sched.runNow(doc);
    assert.equal(runner.jobs.length, 1, 'no wait for the debounce');
    assert.equal(clock.pending, 0, 'the debounce timer is dropped');
    const p2 = sched.runNow(doc);
    assert.equal(runner.jobs.length, 1, 'the same version joins the run in flight');
    sched.edited(doc.edit('v2'));
    assert.equal(runner.jobs[0]!.cancelled, false, 'a pinned run survives edits');
    clock.advance(300);
    assert.equal(runner.jobs.length, 1, 'the automatic run waits for the pinned one');
    runner.jobs[0]!.finish();
    const [o1, o2] = await Promise.all([p, p2]);
    assert.equal(o1.kind, 'result');
    assert.equal(o1.version, 1);
    assert.equal(o2, o1);
    await flush();
    assert.equal(runner.jobs.length, 2, 'then the due automatic run starts');
    assert.equal(runner.jobs[1]!.req.version, 2);
    runner.jobs[1]!.finish();
    await flush();
    assert.deepEqual(outcomes.map((o) => o.version), [1, 2]);
  });

  it('runNow of a newer version replaces the run in flight', async () => {
    const { clock, runner, sched } = setup();
    const doc = new FakeDoc('u', 1, 'v1');
    sched.edited(doc);
    clock.advance(300);
    doc.edit('v2');
    const p = sched.runNow(doc);
    assert.equal(runner.jobs[0]!.cancelled, true);
    assert.equal(runner.jobs[1]!.req.version, 2);
    runner.jobs[1]!.finish();
    assert.equal((await p).version, 2);
  });

  it('cancel stops the run in flight (the Run notification\'s Cancel): its waiter gets cancelled, nothing is reported', async () => {
    const { runner, outcomes, sched, busy } = setup();
    const doc = new FakeDoc('u', 1, 'v1');
    assert.equal(sched.cancel('u'), false, 'nothing runs yet');
    const p = sched.runNow(doc);
    assert.equal(sched.cancel('u'), true);
    assert.equal(runner.jobs[0]!.cancelled, true);
    assert.deepEqual(await p, { kind: 'cancelled', version: 1, uri: 'u' });
    assert.equal(sched.isRunning('u'), false);
    assert.deepEqual(busy.at(-1), ['u', false]);
    await flush();
    assert.equal(outcomes.length, 0);
    assert.equal(sched.cancel('u'), false);
  });

  it('with run-on-type off, edits schedule nothing and do not cancel a run', async () => {
    const { clock, runner, outcomes, sched } = setup({ runOnType: false });
    const doc = new FakeDoc('u', 1, 'v1');
    sched.edited(doc);
    clock.advance(1000);
    assert.equal(runner.jobs.length, 0);
    const p = sched.runNow(doc);
    sched.edited(doc.edit('v2'));
    assert.equal(runner.jobs[0]!.cancelled, false);
    runner.jobs[0]!.finish();
    assert.equal((await p).version, 1);
    clock.advance(1000);
    await flush();
    assert.equal(runner.jobs.length, 1);
    assert.equal(outcomes.length, 1);
  });

  it('turning run-on-type off drops pending timers; the debounce can change', () => {
    const { clock, runner, sched } = setup();
    const doc = new FakeDoc('u', 1, 'v1');
    sched.edited(doc);
    sched.setRunOnType(false);
    clock.advance(1000);
    assert.equal(runner.jobs.length, 0);
    sched.setRunOnType(true);
    sched.setDebounce(50);
    sched.edited(doc.edit('v2'));
    clock.advance(50);
    assert.equal(runner.jobs.length, 1);
  });

  it('reports timeouts and failures as outcomes', async () => {
    const { clock, runner, outcomes, sched } = setup();
    const doc = new FakeDoc('u', 1, 'v1');
    sched.edited(doc);
    clock.advance(300);
    runner.jobs[0]!.finish({ kind: 'timeout', limitMs: 20000 } as Partial<RunnerOutcome>);
    await flush();
    assert.equal(outcomes[0]!.kind, 'timeout');
    sched.edited(doc.edit('v2'));
    clock.advance(300);
    runner.jobs[1]!.finish({ kind: 'failed', message: 'boom' } as Partial<RunnerOutcome>);
    await flush();
    assert.equal(outcomes[1]!.kind, 'failed');
  });

  it('closing a document cancels its timer and run; its late result is dropped', async () => {
    const { clock, runner, outcomes, sched } = setup();
    const doc = new FakeDoc('u', 1, 'v1');
    sched.edited(doc);
    clock.advance(300);
    const p = sched.runNow(doc);
    sched.closed('u');
    assert.equal(runner.jobs[0]!.cancelled, true);
    assert.equal((await p).kind, 'cancelled');
    sched.edited(new FakeDoc('w', 1, 'w'));
    sched.closed('w');
    clock.advance(1000);
    assert.equal(runner.jobs.length, 1);
    await flush();
    assert.equal(outcomes.length, 0);
  });
});

describe('ext: check scheduler', () => {
  const diag = (message: string): Diagnostic => ({ line: 1, column: 1, endLine: 1, endColumn: 2, severity: 'error', code: 'parse', message });

  function setupChecks() {
    const asyncJobs: { source: string; resolve: (d: Diagnostic[] | undefined) => void; cancelled: boolean }[] = [];
    const checks: { uri: string; version: number; diagnostics: Diagnostic[] }[] = [];
    const sched = new CheckScheduler({
      syncMaxChars: 10,
      checkSync: (source) => [diag(`sync ${source}`)],
      checkAsync: (source) => {
        let resolve!: (d: Diagnostic[] | undefined) => void;
        const promise = new Promise<Diagnostic[] | undefined>((r) => { resolve = r; });
        const job = { source, resolve, cancelled: false };
        asyncJobs.push(job);
        return { promise, cancel: () => { job.cancelled = true; } };
      },
      onCheck: (uri, version, diagnostics) => checks.push({ uri, version, diagnostics }),
    });
    return { sched, asyncJobs, checks };
  }

  it('checks short texts synchronously, at every edit', () => {
    const { sched, checks, asyncJobs } = setupChecks();
    const doc = new FakeDoc('u', 1, 'short');
    sched.check(doc);
    sched.check(doc.edit('short2'));
    assert.deepEqual(checks.map((c) => [c.version, c.diagnostics[0]!.message]), [[1, 'sync short'], [2, 'sync short2']]);
    assert.equal(asyncJobs.length, 0);
  });

  it('checks long texts off-thread, one at a time, coalescing edits to the latest', async () => {
    const { sched, checks, asyncJobs } = setupChecks();
    const doc = new FakeDoc('u', 1, 'a long text 1');
    sched.check(doc);
    sched.check(doc.edit('a long text 2'));
    sched.check(doc.edit('a long text 3'));
    assert.equal(asyncJobs.length, 1);
    asyncJobs[0]!.resolve([diag('one')]);
    await flush();
    assert.deepEqual(checks.map((c) => c.version), [1], 'the older result is still delivered (it is moved with the text)');
    assert.equal(asyncJobs.length, 2, 'then only the latest text is checked');
    assert.equal(asyncJobs[1]!.source, 'a long text 3');
    asyncJobs[1]!.resolve([]);
    await flush();
    assert.deepEqual(checks.map((c) => c.version), [1, 3]);
  });

  it('drops a failed async check and a closed document', async () => {
    const { sched, checks, asyncJobs } = setupChecks();
    const doc = new FakeDoc('u', 1, 'a long text 1');
    sched.check(doc);
    asyncJobs[0]!.resolve(undefined);
    await flush();
    assert.equal(checks.length, 0);
    sched.check(doc.edit('a long text 2'));
    sched.closed('u');
    assert.equal(asyncJobs[1]!.cancelled, true);
    asyncJobs[1]!.resolve([]);
    await flush();
    assert.equal(checks.length, 0);
  });
});
