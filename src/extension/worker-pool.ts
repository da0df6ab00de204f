// A small pool of worker threads running run-worker.ts. Each job runs on
// its own worker; a job that is cancelled or overruns its time limit has its
// worker terminated (the only way to stop a scenario mid-run), and a fresh
// worker is started for the next job. Idle workers are kept warm and
// unref'ed so they never keep a process alive. No vscode import.

import { Worker } from 'node:worker_threads';
import type { WorkerProgress, WorkerRequest, WorkerResponse } from './worker-protocol';

type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

/** What the pool needs of a worker (node's Worker; a fake in tests). */
export interface WorkerLike {
  postMessage(message: WorkerRequest): void;
  on(event: 'message', listener: (message: WorkerResponse) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<number> | void;
  ref?(): void;
  unref?(): void;
}

export type WorkerFactory = () => WorkerLike;

export type JobFailure = 'cancelled' | 'timeout' | 'crashed' | 'disposed';

export class JobError extends Error {
  constructor(readonly reason: JobFailure, message: string) {
    super(message);
    this.name = 'JobError';
  }
}

export interface JobHandle {
  readonly promise: Promise<WorkerResponse>;
  /** Stops the job: dequeued, or its worker terminated. The promise rejects with JobError('cancelled'). */
  cancel(): void;
}

export interface PoolOptions {
  /** Jobs running at once (one worker each); more wait in a queue. */
  maxWorkers?: number;
  /** Workers kept alive without a job. */
  maxIdle?: number;
}

interface Job {
  id: number;
  request: RequestBody;
  timeoutMs: number | undefined;
  resolve: (r: WorkerResponse) => void;
  reject: (e: JobError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  slot: Slot | undefined;
  settled: boolean;
  onProgress: ((p: WorkerProgress) => void) | undefined;
}

interface Slot {
  worker: WorkerLike;
  job: Job | undefined;
  dead: boolean;
}

export function nodeWorkerFactory(scriptPath: string): WorkerFactory {
  return () => new Worker(scriptPath, { name: 'dmascope-run' });
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private disposed = false;
  private readonly maxWorkers: number;
  private readonly maxIdle: number;

  constructor(private readonly factory: WorkerFactory, options: PoolOptions = {}) {
    this.maxWorkers = Math.max(1, options.maxWorkers ?? 3);
    this.maxIdle = Math.max(0, options.maxIdle ?? 1);
  }

  /** Workers alive (busy or idle); for tests. */
  get workerCount(): number {
    return this.slots.length;
  }

  submit(request: RequestBody, timeoutMs?: number, onProgress?: (p: WorkerProgress) => void): JobHandle {
    let resolve!: (r: WorkerResponse) => void;
    let reject!: (e: JobError) => void;
    const promise = new Promise<WorkerResponse>((res, rej) => { resolve = res; reject = rej; });
    const job: Job = { id: this.nextId++, request, timeoutMs, resolve, reject, timer: undefined, slot: undefined, settled: false, onProgress };
    if (this.disposed) {
      job.settled = true;
      reject(new JobError('disposed', 'the worker pool is disposed'));
    } else {
      this.queue.push(job);
      this.pump();
    }
    return { promise, cancel: () => this.fail(job, 'cancelled', 'the job was cancelled') };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const job of [...this.queue]) this.fail(job, 'disposed', 'the worker pool is disposed');
    for (const slot of [...this.slots]) {
      if (slot.job) this.fail(slot.job, 'disposed', 'the worker pool is disposed');
      else this.kill(slot);
    }
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.disposed) {
      let slot = this.slots.find((s) => s.job === undefined && !s.dead);
      if (!slot) {
        if (this.slots.length >= this.maxWorkers) return;
        slot = this.spawn();
      }
      const job = this.queue.shift()!;
      this.start(slot, job);
    }
  }

  private spawn(): Slot {
    const worker = this.factory();
    const slot: Slot = { worker, job: undefined, dead: false };
    worker.on('message', (msg: WorkerResponse) => this.onMessage(slot, msg));
    worker.on('error', (err: Error) => this.onCrash(slot, `the run worker failed: ${err.message}`));
    worker.on('exit', (code: number) => this.onCrash(slot, `the run worker exited (code ${code})`));
    this.slots.push(slot);
    return slot;
  }

  private start(slot: Slot, job: Job): void {
    slot.job = job;
    job.slot = slot;
    slot.worker.ref?.();
    if (job.timeoutMs !== undefined) {
      const ms = job.timeoutMs;
      job.timer = setTimeout(() => this.fail(job, 'timeout', `the run took longer than ${ms / 1000} s and was stopped`), ms);
    }
    slot.worker.postMessage({ ...job.request, id: job.id } as WorkerRequest);
  }

  private onMessage(slot: Slot, msg: WorkerResponse): void {
    const job = slot.job;
    if (!job || msg.id !== job.id) return;
    if (msg.kind === 'progress') {
      job.onProgress?.(msg);
      return;
    }
    this.settle(job);
    slot.job = undefined;
    const idle = this.slots.filter((s) => s.job === undefined && !s.dead).length;
    if (idle > this.maxIdle || this.disposed) this.kill(slot);
    else slot.worker.unref?.();
    job.resolve(msg);
    this.pump();
  }

  private onCrash(slot: Slot, message: string): void {
    if (slot.dead) return;
    this.remove(slot);
    const job = slot.job;
    slot.job = undefined;
    if (job && !job.settled) {
      this.settle(job);
      job.reject(new JobError('crashed', message));
    }
    this.pump();
  }

  private fail(job: Job, reason: JobFailure, message: string): void {
    if (job.settled) return;
    this.settle(job);
    const qi = this.queue.indexOf(job);
    if (qi >= 0) this.queue.splice(qi, 1);
    const slot = job.slot;
    if (slot && slot.job === job) {
      slot.job = undefined;
      this.kill(slot);
    }
    job.reject(new JobError(reason, message));
    this.pump();
  }

  private settle(job: Job): void {
    job.settled = true;
    if (job.timer !== undefined) clearTimeout(job.timer);
    job.timer = undefined;
  }

  private kill(slot: Slot): void {
    this.remove(slot);
    void Promise.resolve(slot.worker.terminate()).catch(() => undefined);
  }

  private remove(slot: Slot): void {
    slot.dead = true;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }
}
