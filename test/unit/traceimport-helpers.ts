// Shared by the traceimport-*.test.ts suites: import a capture from text or
// bytes (as a stream, the way the CLI reads files), and the fixture folders.

import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { importCaptureFile, importCaptureStream, type ImportOptions } from '../../src/traceimport/import-stream';
import type { Finding, ImportResult } from '../../src/traceimport/types';
import { REPO_ROOT } from './fixtures';

export const REAL_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'captures', 'real');
export const SYNTHETIC_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'captures', 'synthetic');

/** The capture files of a fixture folder (not its README); throws when there is none. */
export function captureFiles(dir: string): string[] {
  const names = readdirSync(dir).filter((f) => f !== 'README.md').sort();
  if (names.length === 0) throw new Error(`no captures in ${path.relative(REPO_ROOT, dir)}`);
  return names;
}

export function importBytes(bytes: Uint8Array | string, opts: ImportOptions = {}): Promise<ImportResult> {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
  // Several chunks, so the reader meets lines split across them.
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 7) chunks.push(buf.subarray(i, i + 7));
  return importCaptureStream(Readable.from(chunks, { objectMode: false }), opts);
}

export function importFixture(dir: string, name: string, opts: ImportOptions = {}): Promise<ImportResult> {
  return importCaptureFile(path.join(dir, name), opts);
}

/** Every line is accounted for exactly once. */
export function assertAccounted(r: ImportResult): void {
  const a = r.accounting;
  assert.equal(a.event + a.finding + a.part + a.ignored + a.unknown + a.malformed, r.lines, `accounting ${JSON.stringify(a)} vs ${r.lines} lines`);
  assert.equal(a.unknown, r.unknown.count);
  assert.equal(a.malformed, r.malformed.length);
}

export function findingsOf(r: ImportResult, kind: string): Finding[] {
  return r.findings.filter((f) => f.kind === kind);
}
