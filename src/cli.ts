// `dmascope` command line: check and run scenarios (docs/run-output.md).
// Bundled as dist/cli.js with a shebang; `main` is exported for tests.

import * as fs from 'node:fs';
import { MAX_SOURCE_BYTES, USAGE, checkSourceSize, decodeSource, parseCliArgs } from './cli-args';
import { MAX_SCENARIO_TEXT } from './lang/limits';
import { checkScenario, runScenario } from './lang/run';
import { normalizeBudget } from './lang/interp/run-budget';
import { ProgressLine } from './cli-progress';
import { EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK } from './lang/run-result';
import type { Diagnostic, RunResult } from './lang/run-result';
import { formatCheckReport, formatRunReport } from './report/format-report';
import { importCommand } from './traceimport/import-command';
import { version } from '../package.json';

/** Exit code for a bug in dmascope itself (an exception escaped the language). */
export const EXIT_INTERNAL = 3;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Standard error is a terminal: a long run shows its progress there. */
  stderrIsTTY?: boolean;
}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
};

type Loaded =
  | { ok: true; source: string }
  /** `call`: the file cannot be read at all; `input`: it was read but is not a text scenario. */
  | { ok: false; kind: 'call' | 'input'; code: string; message: string };

function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

function describeFsError(err: unknown): { code: string; message: string } {
  switch (errnoCode(err)) {
    case 'ENOENT':
      return { code: 'file-not-found', message: 'no such file' };
    case 'EACCES':
    case 'EPERM':
      return { code: 'file-unreadable', message: 'permission denied' };
    case 'EISDIR':
      return { code: 'file-is-directory', message: 'is a directory, not a scenario file' };
    case 'ENOTDIR':
      return { code: 'file-not-found', message: 'no such file (a parent is not a directory)' };
    default:
      return { code: 'file-unreadable', message: `cannot read: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * Reads at most MAX_SOURCE_BYTES + 1 bytes from a descriptor (a pipe, a
 * terminal, a character device), so an endless source such as /dev/zero
 * ends as "too large" rather than exhausting memory.
 */
function readBounded(fd: number): { bytes: Buffer; tooLarge: boolean } {
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (err) {
      if (errnoCode(err) === 'EAGAIN') {
        // Non-blocking stdin (a terminal): wait a little for data, do not spin.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        continue;
      }
      if (errnoCode(err) === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
    total += n;
    if (total > MAX_SOURCE_BYTES) return { bytes: Buffer.alloc(0), tooLarge: true };
  }
  return { bytes: Buffer.concat(chunks), tooLarge: false };
}

/** The name `-` stands for standard input. */
export const STDIN_NAME = '-';

/**
 * Reads a scenario file, screening out directories, huge and binary files.
 * `-` reads standard input; pipes and devices are read up to the size limit.
 */
export function loadScenarioFile(file: string): Loaded {
  let bytes: Buffer;
  const streamTooLarge: Loaded = {
    ok: false,
    kind: 'input',
    code: 'file-too-large',
    message: `input is too large (more than ${MAX_SOURCE_BYTES} bytes; a scenario may be at most ${MAX_SCENARIO_TEXT})`,
  };
  try {
    if (file === STDIN_NAME) {
      const read = readBounded(0);
      if (read.tooLarge) return streamTooLarge;
      bytes = read.bytes;
    } else {
      const stat = fs.statSync(file);
      if (stat.isDirectory()) {
        return { ok: false, kind: 'call', code: 'file-is-directory', message: 'is a directory, not a scenario file' };
      }
      if (stat.isFile()) {
        const tooLarge = checkSourceSize(stat.size);
        if (tooLarge !== undefined) return { ok: false, kind: 'input', code: 'file-too-large', message: tooLarge };
        bytes = fs.readFileSync(file);
      } else {
        const fd = fs.openSync(file, 'r');
        let read: { bytes: Buffer; tooLarge: boolean };
        try {
          read = readBounded(fd);
        } finally {
          fs.closeSync(fd);
        }
        if (read.tooLarge) return streamTooLarge;
        bytes = read.bytes;
      }
    }
  } catch (err) {
    return { ok: false, kind: 'call', ...describeFsError(err) };
  }
  const decoded = decodeSource(bytes);
  if (!decoded.ok) {
    const code = decoded.message.startsWith('binary') ? 'file-binary' : 'file-too-large';
    return { ok: false, kind: 'input', code, message: decoded.message };
  }
  return { ok: true, source: decoded.source };
}

function fileDiagnostic(code: string, message: string): Diagnostic {
  return { line: 1, column: 1, endLine: 1, endColumn: 1, severity: 'error', code, message };
}

function emptyResult(diagnostics: Diagnostic[]): RunResult {
  return {
    ok: false,
    diagnostics,
    expectations: [],
    checks: [],
    faults: [],
    values: {},
    events: [],
    log: [],
    statements: [],
  };
}

function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Exit code of a run result: 2 on any error diagnostic, else 0 when ok, 1 when not. */
export function exitCodeOf(result: RunResult): number {
  if (hasErrors(result.diagnostics)) return EXIT_BAD_INPUT;
  return result.ok ? EXIT_OK : EXIT_FAILED;
}

/** The run result as one JSON object, the section 7 keys first. */
export function runResultToJson(result: RunResult): string {
  const { ok, diagnostics, expectations, checks, faults, values, events, ...rest } = result;
  const ordered = { ok, diagnostics, expectations, checks, faults, values, events, ...rest };
  // Addresses are hex strings already; a stray bigint must not crash the output.
  return JSON.stringify(ordered, (_key, value: unknown) => (typeof value === 'bigint' ? `0x${value.toString(16)}` : value));
}

function internalError(io: CliIo, file: string, err: unknown): number {
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr(`dmascope: internal error while processing ${file} (please report it):\n${detail}\n`);
  return EXIT_INTERNAL;
}

/** How reports name a file: standard input shows as `<stdin>`. */
function displayName(file: string): string {
  return file === STDIN_NAME ? '<stdin>' : file;
}

function runCommand(io: CliIo, path: string, json: boolean, verbose: boolean, budget: { timeSeconds?: number; memoryMb?: number } = {}): number {
  const loaded = loadScenarioFile(path);
  const file = displayName(path);
  let result: RunResult;
  if (!loaded.ok) {
    if (loaded.kind === 'call') io.stderr(`dmascope: ${file}: ${loaded.message}\n`);
    result = emptyResult([fileDiagnostic(loaded.code, loaded.message)]);
    if (loaded.kind === 'call' && !json) return EXIT_BAD_INPUT;
  } else {
    const progress = io.stderrIsTTY === true ? new ProgressLine((t) => io.stderr(t)) : undefined;
    try {
      result = runScenario(loaded.source, file, { events: json ? 'all' : 'none', budget: normalizeBudget(budget), onProgress: progress && ((p) => progress.update(p)) });
    } catch (err) {
      progress?.done();
      return internalError(io, file, err);
    }
    progress?.done();
  }
  io.stdout(json ? runResultToJson(result) + '\n' : formatRunReport(result, file, { verbose }));
  return exitCodeOf(result);
}

function checkCommand(io: CliIo, files: readonly string[]): number {
  let exit = EXIT_OK;
  let errors = 0;
  let warnings = 0;
  for (const path of files) {
    const loaded = loadScenarioFile(path);
    const file = displayName(path);
    let diagnostics: Diagnostic[];
    if (!loaded.ok) {
      diagnostics = [fileDiagnostic(loaded.code, loaded.message)];
    } else {
      try {
        diagnostics = checkScenario(loaded.source);
      } catch (err) {
        return internalError(io, file, err);
      }
    }
    errors += diagnostics.filter((d) => d.severity === 'error').length;
    warnings += diagnostics.filter((d) => d.severity === 'warning').length;
    if (hasErrors(diagnostics)) exit = EXIT_BAD_INPUT;
    io.stdout(formatCheckReport(diagnostics, file));
  }
  const n = files.length;
  io.stdout(
    `${n} file${n === 1 ? '' : 's'} checked: ${errors} error${errors === 1 ? '' : 's'}, ` +
      `${warnings} warning${warnings === 1 ? '' : 's'}\n`,
  );
  return exit;
}

/** Runs the command line; returns the exit code. */
export function main(argv: readonly string[], io: CliIo = processIo): number {
  const cmd = parseCliArgs(argv);
  switch (cmd.kind) {
    case 'help':
      io.stdout(USAGE);
      return EXIT_OK;
    case 'version':
      io.stdout(`dmascope ${version}\n`);
      return EXIT_OK;
    case 'usage-error':
      io.stderr(`dmascope: ${cmd.message}\n\n${USAGE}`);
      return EXIT_BAD_INPUT;
    case 'check':
      return checkCommand(io, cmd.files);
    case 'run':
      return runCommand(io, cmd.file, cmd.json, cmd.verbose, cmd.budget);
    case 'import':
      // Reading a capture is a stream: only runCli can wait for it.
      io.stderr('dmascope: import runs through runCli (it reads the capture as a stream)\n');
      return EXIT_INTERNAL;
  }
}

/** Runs the command line, `import` included; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const cmd = parseCliArgs(argv);
  if (cmd.kind !== 'import') return main(argv, io);
  try {
    return await importCommand(io, cmd.file, { json: cmd.json, format: cmd.format, toScenario: cmd.toScenario });
  } catch (err) {
    return internalError(io, displayName(cmd.file), err);
  }
}

if (require.main === module) {
  // A closed pipe (`dmascope run x | head`) is not an error of ours.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  void runCli(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
