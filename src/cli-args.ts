// Command-line argument parsing and input-file screening for `dmascope`.
// Pure functions (no I/O) so they are unit-tested without spawning processes.

import { MAX_SCENARIO_BYTES, scenarioTooLarge } from './lang/limits';

export const USAGE = `Usage:
  dmascope check FILE...         report diagnostics of scenario files (does not run them)
  dmascope run FILE [--json]     run a scenario and report expectations, checks and faults
  dmascope import FILE [--json]  read a kernel capture (dmesg, journal, syslog, ftrace,
                                 trace-cmd report) and report its DMA/IOMMU findings
  dmascope --help                show this help
  dmascope --version             show the version

FILE may be - to read the scenario from standard input.

Options of run:
  --json       print one JSON object instead of the report (docs/run-output.md)
  --verbose    also list checks and faults consumed by an expect, and the kernel log
               (what the scenario prints with \`print\` always shows)
  --time-budget SECONDS   stop the run after this long (default 120); the run
               keeps what it did and says at which line it stopped
  --memory-budget MIB     stop the run when it has added this much to the heap
               (default 2048)
  On a terminal, a run longer than a second shows its progress on standard error.

Options of import (docs/import.md):
  --json                 print one JSON object: format, lines, events, findings, unknown, malformed
  --format F             read FILE as F: auto (default), ftrace, trace-cmd or dmesg
  --to-scenario DEVICE   print the captured DMA sequence of DEVICE as a .dmas scenario
  import exits 1 when the capture has an error-level finding (a fault, a dma-debug
  report, a replay check), 2 when FILE is unreadable, binary or truncated

Exit codes:
  0  ok
  1  the run failed: an expectation failed, an error-level check fired, or an
     IO page fault happened that no \`expect fault\` asked for
  2  the file does not parse (any error diagnostic), or the call is wrong
     (unknown command or option, missing, unreadable, binary or oversized file)
  3  internal error of dmascope (please report it)

Documentation (in the repository and in the installed extension's folder):
  docs/language.md     the scenario language
  docs/run-output.md   the --json output, every key, and the trace events
`;

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'check'; files: string[] }
  | { kind: 'run'; file: string; json: boolean; verbose: boolean; budget?: { timeSeconds?: number; memoryMb?: number } }
  | { kind: 'import'; file: string; json: boolean; format: ImportFormat; toScenario?: string }
  /** The call is wrong: print `message` and the usage, exit 2. */
  | { kind: 'usage-error'; message: string };

const COMMANDS = ['check', 'run', 'import'] as const;

/** `--format` of import (src/traceimport/types.ts FormatChoice). */
export type ImportFormat = 'auto' | 'ftrace' | 'trace-cmd' | 'dmesg';
const IMPORT_FORMATS: readonly ImportFormat[] = ['auto', 'ftrace', 'trace-cmd', 'dmesg'];

/** The arguments after `import`. */
function parseImportArgs(rest: readonly string[]): CliCommand {
  const files: string[] = [];
  let json = false;
  let format: ImportFormat = 'auto';
  let toScenario: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--json' && inline === undefined) {
      json = true;
    } else if (name === '--format' || name === '--to-scenario') {
      const value = inline ?? rest[++i];
      if (value === undefined || value === '') return usageError(`'${name}' needs a value`);
      if (name === '--format') {
        if (!(IMPORT_FORMATS as readonly string[]).includes(value)) return usageError(`unknown format '${value}' (one of ${IMPORT_FORMATS.join(', ')})`);
        format = value as ImportFormat;
      } else {
        toScenario = value;
      }
    } else if (arg.startsWith('-') && arg !== '-') {
      return usageError(`unknown option '${arg}' for 'import'`);
    } else if (arg === '') {
      return usageError('empty file name');
    } else {
      files.push(arg);
    }
  }
  if (files.length === 0) return usageError("'import' needs a FILE");
  if (files.length > 1) return usageError(`'import' takes one FILE, got ${files.length}`);
  return { kind: 'import', file: files[0], json, format, ...(toScenario !== undefined ? { toScenario } : {}) };
}

function usageError(message: string): CliCommand {
  return { kind: 'usage-error', message };
}

/** Parses the arguments after `node cli.js` (i.e. `process.argv.slice(2)`). */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  // --help / --version win wherever they stand before a `--`.
  const endOfOptions = argv.indexOf('--');
  const optionPart = endOfOptions === -1 ? argv : argv.slice(0, endOfOptions);
  if (optionPart.includes('--help') || optionPart.includes('-h')) return { kind: 'help' };
  if (optionPart.includes('--version') || optionPart.includes('-V')) return { kind: 'version' };

  if (argv.length === 0) return usageError('missing command');
  const [command, ...rest] = argv;
  if (command === 'help') return { kind: 'help' };
  if (command === 'version') return { kind: 'version' };
  if (command.startsWith('-')) return usageError(`unknown option '${command}'`);
  if (!(COMMANDS as readonly string[]).includes(command)) return usageError(`unknown command '${command}'`);
  if (command === 'import') return parseImportArgs(rest);

  const files: string[] = [];
  let json = false;
  let verbose = false;
  let onlyFiles = false;
  const budget: { timeSeconds?: number; memoryMb?: number } = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!onlyFiles && command === 'run' && (name === '--time-budget' || name === '--memory-budget')) {
      const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
      const n = value === undefined || value.trim() === '' ? NaN : Number(value);
      if (!Number.isFinite(n) || n <= 0) return usageError(`'${name}' needs a positive number${name === '--time-budget' ? ' of seconds' : ' of MiB'}${value === undefined ? '' : `, got '${value}'`}`);
      if (name === '--time-budget') budget.timeSeconds = n;
      else budget.memoryMb = n;
      continue;
    }
    if (onlyFiles) {
      files.push(arg);
    } else if (arg === '--') {
      onlyFiles = true;
    } else if (arg === '--json' && command === 'run') {
      json = true;
    } else if (arg === '--verbose' && command === 'run') {
      verbose = true;
    } else if (arg.startsWith('-') && arg !== '-') {
      return usageError(`unknown option '${arg}' for '${command}'`);
    } else if (arg === '') {
      return usageError('empty file name');
    } else {
      files.push(arg);
    }
  }
  if (files.includes('')) return usageError('empty file name');

  if (command === 'check') {
    if (files.length === 0) return usageError("'check' needs at least one FILE");
    return { kind: 'check', files };
  }
  if (files.length === 0) return usageError("'run' needs a FILE");
  if (files.length > 1) return usageError(`'run' takes one FILE, got ${files.length}`);
  return { kind: 'run', file: files[0], json, verbose, ...(Object.keys(budget).length > 0 ? { budget } : {}) };
}

/** Largest scenario file accepted: the language's one limit (src/lang/limits.ts). */
export const MAX_SOURCE_BYTES = MAX_SCENARIO_BYTES;

/**
 * Screens a file's size before reading it. Returns a message when the file
 * must not be read, undefined when it may.
 */
export function checkSourceSize(size: number): string | undefined {
  return scenarioTooLarge(size, 'file');
}

export type DecodedSource = { ok: true; source: string } | { ok: false; message: string };

/**
 * Turns a file's bytes into scenario text: rejects oversized and binary input
 * (a NUL byte never occurs in a text scenario), strips a UTF-8 byte-order mark.
 * Invalid UTF-8 sequences become U+FFFD and are left to the lexer to report.
 */
export function decodeSource(bytes: Uint8Array): DecodedSource {
  const tooLarge = checkSourceSize(bytes.length);
  if (tooLarge !== undefined) return { ok: false, message: tooLarge };
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    let count = 0;
    for (let i = nul; i < bytes.length; i++) if (bytes[i] === 0) count++;
    return {
      ok: false,
      message: `binary file: ${count} NUL byte${count === 1 ? '' : 's'} (first at byte offset ${nul}); a scenario must be UTF-8 text`,
    };
  }
  let source = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(bytes);
  if (source.charCodeAt(0) === 0xfeff) source = source.slice(1);
  return { ok: true, source };
}
