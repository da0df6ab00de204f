// `dmascope import FILE [--json] [--format F] [--to-scenario DEVICE]`: reads
// the capture as a stream, prints the report, the JSON result (written piece
// by piece, so a million events never become one string) or a scenario.

import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { importCaptureFile, importCaptureStream } from './import-stream';
import { formatImportReport } from './report';
import { severityOf } from './severity';
import { captureToScenario } from './to-scenario';
import type { FormatChoice, ImportResult } from './types';

export interface ImportCommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface ImportCommandOptions {
  json: boolean;
  format: FormatChoice;
  toScenario?: string;
  /** Standard input, for FILE `-`. */
  stdin?: Readable;
}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_BAD_INPUT = 2;

function fsMessage(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a capture';
  return `cannot read: ${err instanceof Error ? err.message : String(err)}`;
}

/** Writes the result as one JSON object, the contract's keys first, events and findings a chunk at a time. */
export function writeResultJson(r: ImportResult, write: (text: string) => void): void {
  write(`{"format":${JSON.stringify(r.format)},"lines":${r.lines},"events":[`);
  // Events are made into objects a chunk at a time and written as they are made.
  const CHUNK = 2000;
  for (let i = 0; i < r.events.length; i += CHUNK) write((i > 0 ? ',' : '') + r.events.slice(i, i + CHUNK).map((x) => JSON.stringify(x)).join(','));
  write('],"findings":[');
  writeArray(r.findings, write);
  write(`],"unknown":${JSON.stringify(r.unknown)},"malformed":${JSON.stringify(r.malformed)},"accounting":${JSON.stringify(r.accounting)}`);
  if (r.replay !== undefined) write(`,"replay":${JSON.stringify(r.replay)}`);
  if (r.error !== undefined) write(`,"error":${JSON.stringify(r.error)}`);
  write('}\n');
}

function writeArray(items: readonly unknown[], write: (text: string) => void): void {
  const CHUNK = 2000;
  for (let i = 0; i < items.length; i += CHUNK) {
    const part = items.slice(i, i + CHUNK).map((x) => JSON.stringify(x));
    write((i > 0 ? ',' : '') + part.join(','));
  }
}

/** Exit status of an import: 2 for input that could not be read whole, 1 for error-level findings, else 0. */
export function importExitCode(r: ImportResult): number {
  if (r.error !== undefined) return EXIT_BAD_INPUT;
  return r.findings.some((f) => (f.severity ?? severityOf(f.kind)) === 'error') ? EXIT_FINDINGS : EXIT_OK;
}

export async function importCommand(io: ImportCommandIo, file: string, opts: ImportCommandOptions): Promise<number> {
  const shown = file === '-' ? '<stdin>' : file;
  let result: ImportResult;
  try {
    const importOpts = { format: opts.format, keepEvents: opts.json || opts.toScenario !== undefined };
    if (file === '-') result = await importCaptureStream(opts.stdin ?? process.stdin, importOpts);
    else {
      const st = await fs.promises.stat(file);
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      result = await importCaptureFile(file, importOpts);
    }
  } catch (err) {
    io.stderr(`dmascope: ${shown}: ${fsMessage(err)}\n`);
    return EXIT_BAD_INPUT;
  }
  if (opts.toScenario !== undefined) {
    try {
      const s = captureToScenario(result, result.events, opts.toScenario, { captureName: shown });
      io.stdout(s.source);
      if (s.skipped.length > 0) io.stderr(`dmascope: ${s.skipped.length} event(s) of ${s.device} left out of the scenario (see its comments), first: ${s.skipped[0]}\n`);
      if (result.error !== undefined) io.stderr(`dmascope: ${shown}:${result.error.line}: ${result.error.message}\n`);
      return result.error !== undefined ? EXIT_BAD_INPUT : EXIT_OK;
    } catch (err) {
      io.stderr(`dmascope: ${shown}: ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT_BAD_INPUT;
    }
  }
  if (opts.json) writeResultJson(result, (t) => io.stdout(t));
  else io.stdout(formatImportReport(result, shown));
  if (result.error !== undefined && opts.json) io.stderr(`dmascope: ${shown}:${result.error.line}: ${result.error.message}\n`);
  return importExitCode(result);
}
