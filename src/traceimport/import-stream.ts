// Imports a capture from a byte stream: readline over a guard that stops at
// binary data (a NUL byte, a gzip or trace-cmd trace.dat header), cuts
// endless lines, and notes whether the last line ended with a newline. The
// whole file is never held in one string.

import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { CaptureImporter, MAX_LINE_CHARS, type ImporterOptions } from './importer';
import { replayCapture } from './replay';
import { severityOf } from './severity';
import type { ImportError, ImportResult } from './types';

export interface ImportOptions extends ImporterOptions {
  /** Called every few thousand lines with the bytes and lines read so far. */
  onProgress?: (bytes: number, lines: number) => void;
  /** Stops the import; the promise then rejects with an Error named AbortError. */
  signal?: AbortSignal;
  /** Run the replay checks and add their findings (default true). */
  replay?: boolean;
}

const GZIP = [0x1f, 0x8b];
const TRACE_DAT = [0x17, 0x08, 0x44];

/** Watches the bytes on their way to readline. */
class CaptureGuard extends Transform {
  bytes = 0;
  /** Newlines passed so far: the line number of a problem is newlines + 1. */
  newlines = 0;
  lastByte = -1;
  private lineBytes = 0;
  private skipping = false;
  binary: { offset: number; line: number; what: string } | undefined;
  /** Newline counts (lines before) at which a line was cut for being too long. */
  readonly cuts: number[] = [];

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.binary !== undefined) return done();
    if (this.bytes === 0) {
      const what = startsWith(chunk, GZIP) ? 'gzip-compressed data (decompress it first, e.g. zcat)' : startsWith(chunk, TRACE_DAT) ? 'a trace-cmd trace.dat file (import the output of `trace-cmd report` instead)' : undefined;
      if (what !== undefined) {
        this.binary = { offset: 0, line: 1, what };
        this.push(null);
        return done();
      }
    }
    let start = 0;
    const out: Buffer[] = [];
    // Native searches, not a loop over bytes: a NUL ends the text; newlines bound each line's length.
    const nul = chunk.indexOf(0);
    const end = nul < 0 ? chunk.length : nul;
    let pos = 0;
    while (pos < end) {
      let nl = chunk.indexOf(10, pos);
      if (nl < 0 || nl >= end) nl = end;
      const len = nl - pos;
      if (!this.skipping && this.lineBytes + len > MAX_LINE_CHARS * 4) {
        // A line this long is no log line: keep its head, drop the rest, so readline never holds it whole.
        const keep = pos + (MAX_LINE_CHARS * 4 - this.lineBytes);
        out.push(chunk.subarray(start, keep));
        this.skipping = true;
        this.cuts.push(this.newlines);
      }
      if (nl === end) {
        this.lineBytes += len;
        break;
      }
      if (this.skipping) {
        // The rest of an endless line was dropped; go on from its newline so line numbers stay right.
        this.skipping = false;
        start = nl;
      }
      this.newlines++;
      this.lineBytes = 0;
      pos = nl + 1;
    }
    if (nul >= 0) {
      if (!this.skipping && nul > start) out.push(chunk.subarray(start, nul));
      this.binary = { offset: this.bytes + nul, line: this.newlines + 1, what: 'binary data (a NUL byte)' };
      // What came before the NUL goes on as a complete line; nothing after it.
      out.push(Buffer.from('\n'));
      for (const piece of out) this.push(piece);
      this.bytes += nul;
      this.push(null);
      return done();
    }
    if (!this.skipping) out.push(start === 0 ? chunk : chunk.subarray(start));
    this.bytes += chunk.length;
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1];
    for (const b of out) this.push(b);
    done();
  }
}

function startsWith(chunk: Buffer, magic: number[]): boolean {
  return chunk.length >= magic.length && magic.every((m, i) => chunk[i] === m);
}

function abortError(): Error {
  const e = new Error('import cancelled');
  e.name = 'AbortError';
  return e;
}

/** Imports a capture from `input`, line by line. Resolves with what was read, `error` set on binary or truncated input. */
export function importCaptureStream(input: Readable, opts: ImportOptions = {}): Promise<ImportResult> {
  return new Promise<ImportResult>((resolve, reject) => {
    const importer = new CaptureImporter(opts);
    const guard = new CaptureGuard();
    let failed: ImportError | undefined;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      input.destroy();
      guard.destroy();
      reject(err);
    };
    if (opts.signal?.aborted) return fail(abortError());
    const onAbort = (): void => fail(abortError());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    input.on('error', (err: NodeJS.ErrnoException) => {
      failed = { code: 'unreadable', message: `cannot read: ${err.message}`, line: importer.linesRead + 1 };
      guard.end();
    });
    input.pipe(guard);
    const rl = readline.createInterface({ input: guard, crlfDelay: Infinity });
    let nextCut = 0;
    rl.on('line', (line) => {
      if (settled) return;
      while (nextCut < guard.cuts.length && guard.cuts[nextCut] < importer.linesRead) nextCut++;
      if (nextCut < guard.cuts.length && guard.cuts[nextCut] === importer.linesRead) importer.markNextLineCut();
      importer.push(line);
      if (opts.onProgress !== undefined && (importer.linesRead & 0x3fff) === 0) opts.onProgress(guard.bytes, importer.linesRead);
    });
    rl.on('close', () => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      const bin = guard.binary;
      const unterminated = bin === undefined && guard.lastByte !== -1 && guard.lastByte !== 10;
      const { incomplete } = importer.end(unterminated);
      let error: ImportError | undefined = failed;
      if (bin !== undefined) {
        const read = Math.max(0, bin.line - 1);
        error = { code: 'binary', line: bin.line, message: `${bin.what} at byte offset ${bin.offset} (line ${bin.line}): not a text capture; the ${read} line${read === 1 ? '' : 's'} before it were read` };
      } else if (incomplete !== undefined && error === undefined) {
        error = { code: 'truncated', line: incomplete.line, message: `truncated: ${incomplete.reason}; the ${importer.linesRead} lines read are in the result` };
      }
      const result = importer.result(error);
      if (opts.replay !== false) replayCapture(result, importer.allEvents);
      for (const f of result.findings) f.severity ??= severityOf(f.kind);
      opts.onProgress?.(guard.bytes, importer.linesRead);
      resolve(result);
    });
  });
}

/** Imports a capture file (see importCaptureStream). Rejects only when the file cannot be opened. */
export async function importCaptureFile(file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const st = await fs.promises.stat(file);
  if (st.isDirectory()) throw Object.assign(new Error(`${file}: is a directory, not a capture`), { code: 'EISDIR' });
  const input = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  await new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  return importCaptureStream(input, opts);
}
