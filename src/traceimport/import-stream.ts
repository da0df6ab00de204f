// Imports a capture from a byte stream: the line splitter cuts each chunk
// into lines (stopping at binary data, cutting endless lines, noting whether
// the last line ended with a newline) and the importer reads them one by
// one. The whole file is never held in one string.

import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { CaptureImporter, type ImporterOptions } from './importer';
import { CaptureLineSplitter } from './line-splitter';
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

function abortError(): Error {
  const e = new Error('import cancelled');
  e.name = 'AbortError';
  return e;
}

/**
 * One import in progress: chunks of bytes in, the result out. The stream
 * and the file readers below feed it; `cancelled` stops it taking lines
 * (set from an abort, even in the middle of a chunk).
 */
class ImportRun {
  readonly importer: CaptureImporter;
  readonly splitter: CaptureLineSplitter;
  cancelled = false;

  constructor(private readonly opts: ImportOptions) {
    const importer = new CaptureImporter(opts);
    const onProgress = opts.onProgress;
    this.importer = importer;
    const splitter = new CaptureLineSplitter((line, cut) => {
      // Cancelled from a progress report: the rest of the chunk is not read.
      if (this.cancelled) return;
      if (cut) importer.markNextLineCut();
      importer.push(line);
      if (onProgress !== undefined && (importer.linesRead & 0x3fff) === 0) onProgress(splitter.bytes, importer.linesRead);
    });
    this.splitter = splitter;
  }

  /** The next chunk (its bytes are decoded before this returns: the caller may reuse it); false once binary data stopped the input. */
  push(chunk: Buffer): boolean {
    return this.splitter.push(chunk);
  }

  /** End of input (or of what could be read: `failed`). */
  finish(failed: ImportError | undefined): ImportResult {
    const { importer, splitter, opts } = this;
    splitter.end();
    const bin = splitter.binary;
    const unterminated = bin === undefined && splitter.lastByte !== -1 && splitter.lastByte !== 10;
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
    opts.onProgress?.(splitter.bytes, importer.linesRead);
    return result;
  }

  unreadable(err: Error): ImportError {
    return { code: 'unreadable', message: `cannot read: ${err.message}`, line: this.importer.linesRead + 1 };
  }
}

/** Imports a capture from `input`, line by line. Resolves with what was read, `error` set on binary or truncated input. */
export function importCaptureStream(input: Readable, opts: ImportOptions = {}): Promise<ImportResult> {
  return new Promise<ImportResult>((resolve, reject) => {
    const run = new ImportRun(opts);
    let settled = false;
    let failed: ImportError | undefined;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      run.cancelled = true;
      input.destroy();
      reject(err);
    };
    if (opts.signal?.aborted) return fail(abortError());
    const onAbort = (): void => fail(abortError());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(run.finish(failed));
    };
    input.on('error', (err: NodeJS.ErrnoException) => {
      failed ??= run.unreadable(err);
      finish();
    });
    input.on('data', (chunk: Buffer | string) => {
      if (settled) return;
      if (!run.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) {
        // Binary data: nothing after it is read.
        input.destroy();
        finish();
      }
    });
    input.on('end', finish);
  });
}

/** Bytes read from a file at a time, into one buffer used again for every read (fresh memory for each chunk costs more than the reading). */
const FILE_CHUNK = 256 * 1024;

/** Imports a capture file (see importCaptureStream). Rejects only when the file cannot be opened. */
export async function importCaptureFile(file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const st = await fs.promises.stat(file);
  if (st.isDirectory()) throw Object.assign(new Error(`${file}: is a directory, not a capture`), { code: 'EISDIR' });
  const handle = await fs.promises.open(file, 'r');
  const run = new ImportRun(opts);
  const signal = opts.signal;
  const onAbort = (): void => {
    run.cancelled = true;
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  // A function, not the property: an abort can come during any await or progress report.
  const aborted = (): boolean => signal?.aborted === true;
  // Two buffers: the next chunk is read into one while the lines of the other are taken (the disk and the parsing overlap).
  const bufs = [Buffer.allocUnsafe(FILE_CHUNK), Buffer.allocUnsafe(FILE_CHUNK)];
  let next: Promise<{ bytesRead: number }> | undefined;
  try {
    let failed: ImportError | undefined;
    let which = 0;
    next = handle.read(bufs[which], 0, FILE_CHUNK, null);
    for (;;) {
      if (aborted()) throw abortError();
      let n: number;
      try {
        const reading = next;
        next = undefined;
        n = (await reading).bytesRead;
      } catch (err) {
        failed = run.unreadable(err instanceof Error ? err : new Error(String(err)));
        break;
      }
      if (aborted()) throw abortError();
      if (n === 0) break;
      const buf = bufs[which];
      which ^= 1;
      next = handle.read(bufs[which], 0, FILE_CHUNK, null);
      const more = run.push(buf.subarray(0, n));
      if (aborted()) throw abortError();
      // Binary data: nothing after it is read.
      if (!more) break;
    }
    return run.finish(failed);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // A read still under way ends before the file closes (its result, or its error, is not wanted).
    if (next !== undefined) await next.catch(() => undefined);
    await handle.close();
  }
}
