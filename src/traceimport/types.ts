// The result of importing a kernel capture (`dmascope import FILE --json`).
// This shape is a contract (issue 12, docs/import.md): tests and users rely
// on it. Keys are added, never renamed.

import type { CaptureEvents } from './event-store';
import type { ReplaySummary } from './replay';

/** Which reader a line belongs to; `format` of the result is the one that read most lines. */
export type CaptureFormat = 'ftrace' | 'trace-cmd' | 'dmesg' | 'journal' | 'syslog';

/** What `--format` may force; `auto` tries every reader on every line. */
export type FormatChoice = 'auto' | 'ftrace' | 'trace-cmd' | 'dmesg';

export const FORMAT_CHOICES: readonly FormatChoice[] = ['auto', 'ftrace', 'trace-cmd', 'dmesg'];

/** Data access of a fault, from the driver's own read/write bit. */
export type Access = 'read' | 'write';

/**
 * The fields every event and finding may carry. Driver- or event-specific
 * fields (an AMD-Vi `domain`, an arm-smmu `fsr`, a dma-debug `map_size`)
 * sit beside these in the same object, under the kernel's own names.
 */
export interface CommonFields {
  /** 1-based line in the file where the record's main text is. */
  line: number;
  kind: string;
  /** dev_name: a PCI device always with its domain (`0000:00:02.0`), a platform device by name (`38200000.dwc3`). */
  device?: string;
  /** Faulting IOVA / device address, lowercase `0x` hex without leading zeros. */
  addr?: string;
  /** Bytes. */
  size?: number;
  access?: Access;
  pasid?: number;
  reason?: string;
  /** The kernel's text of the record (prefixes stripped, lines of a multi-line record joined). */
  message?: string;
  /** Repeats folded into this record, or messages the kernel suppressed (ratelimit). */
  count?: number;
  /** Seconds since boot (dmesg/ftrace timestamps), or the wall-clock text of a journal/syslog prefix. */
  ts?: number | string;
  cpu?: number;
  /** Last line of a multi-line record, when it spans more than one line. */
  endLine?: number;
}

/** A fact worth a user's attention: a fault, a full swiotlb, a dma-debug report, a replay check. */
export interface Finding extends CommonFields {
  [field: string]: unknown;
}

/** One tracepoint record (ftrace / trace-cmd), `kind` the tracepoint's name (`map`, `dma_map_phys`). */
export interface CaptureEvent extends CommonFields {
  /** Trace system: `dma`, `iommu`, `swiotlb`. */
  system: string;
  [field: string]: unknown;
}

export interface Malformed {
  line: number;
  text: string;
  reason: string;
}

export interface UnknownLines {
  count: number;
  /** The first few unknown lines, with their line numbers. */
  samples: { line: number; text: string }[];
}

/** A fatal condition of the input: what was read before it is still in the result. */
export interface ImportError {
  code: 'binary' | 'truncated' | 'unreadable' | 'too-long-line';
  message: string;
  /** Line number (1-based) at which the problem was found. */
  line: number;
}

export interface ImportResult {
  format: CaptureFormat;
  /** Lines read (a file's last line without a newline counts). */
  lines: number;
  /** The tracepoint events in columns, made into objects when read (at, slice, iteration). */
  events: CaptureEvents;
  findings: Finding[];
  unknown: UnknownLines;
  malformed: Malformed[];
  /** How every line was accounted for: events + findings + record parts + blank + comments + unknown + malformed lines = lines. */
  accounting: LineAccounting;
  /** Per device: mappings, IOVA space and swiotlb use over time (absent when the replay was not asked for). */
  replay?: ReplaySummary;
  /** Set when the input is binary or ends inside a record; the rest of the result holds what was read up to it. */
  error?: ImportError;
}

export interface LineAccounting {
  /** Lines that are a tracepoint event. */
  event: number;
  /** Lines that carry a finding's main text. */
  finding: number;
  /** Other lines of a multi-line record (decode lines, call traces, a wrapped tail). */
  part: number;
  /** Empty lines and trace header comments (`# tracer: nop`). */
  ignored: number;
  unknown: number;
  malformed: number;
}

export const UNKNOWN_SAMPLES = 20;
