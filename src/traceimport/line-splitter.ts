// Splits a capture's bytes into lines as they arrive, chunk by chunk: line
// breaks found by native byte searches (\n, \r\n, a lone \r, as readline
// splits), each line decoded from its own bytes only. Stops at binary data
// (a NUL byte, a gzip or trace-cmd trace.dat header) and cuts endless lines,
// so no line string longer than the cut is ever made.

import { isAscii } from 'node:buffer';
import { MAX_LINE_CHARS } from './importer';

/** A line longer than this many bytes is cut here: its head is kept, the rest dropped. */
export const CUT_LINE_BYTES = MAX_LINE_CHARS * 4;

const GZIP = [0x1f, 0x8b];
const TRACE_DAT = [0x17, 0x08, 0x44];
const LF = 10;
const CR = 13;

export interface BinaryStop {
  /** Byte offset of the NUL byte (0 for a compressed or trace.dat file). */
  offset: number;
  /** Line of it: the newlines before it + 1. */
  line: number;
  what: string;
}

export class CaptureLineSplitter {
  /** Bytes taken so far (up to the NUL byte when there is one). */
  bytes = 0;
  /** Newline bytes passed so far. */
  newlines = 0;
  lastByte = -1;
  binary: BinaryStop | undefined;
  /** Bytes of the line in progress from earlier chunks (at most CUT_LINE_BYTES). */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** The line in progress was cut: its remaining bytes are dropped up to its line break. */
  private cut = false;
  /** The last chunk ended with a \r: a \n starting the next chunk belongs to it. */
  private afterCr = false;
  /** The chunk in hand is all ASCII: its lines decode as latin1, the cheaper decoder giving the same text. */
  private ascii = false;

  constructor(private readonly onLine: (line: string, cut: boolean) => void) {}

  /** Takes the next chunk; false once binary data has stopped the input. */
  push(chunk: Buffer): boolean {
    if (this.binary !== undefined) return false;
    if (this.bytes === 0) {
      const what = startsWith(chunk, GZIP) ? 'gzip-compressed data (decompress it first, e.g. zcat)' : startsWith(chunk, TRACE_DAT) ? 'a trace-cmd trace.dat file (import the output of `trace-cmd report` instead)' : undefined;
      if (what !== undefined) {
        this.binary = { offset: 0, line: 1, what };
        return false;
      }
    }
    const nul = chunk.indexOf(0);
    const end = nul < 0 ? chunk.length : nul;
    this.ascii = isAscii(chunk.subarray(0, end));
    let pos = 0;
    if (this.afterCr && end > 0) {
      this.afterCr = false;
      if (chunk[0] === LF) {
        this.newlines++;
        pos = 1;
      }
    }
    // Native searches; a chunk without \r (the usual case) never looks for one again.
    let cr = chunk.indexOf(CR);
    if (cr < 0 || cr >= end) cr = end;
    while (pos < end) {
      let nl = chunk.indexOf(LF, pos);
      if (nl < 0 || nl >= end) nl = end;
      if (cr < pos) {
        cr = chunk.indexOf(CR, pos);
        if (cr < 0 || cr >= end) cr = end;
      }
      const brk = cr < nl ? cr : nl;
      if (brk === end) break;
      this.emit(chunk, pos, brk);
      if (brk === cr) {
        if (brk + 1 < end && chunk[brk + 1] === LF) {
          this.newlines++;
          pos = brk + 2;
        } else {
          pos = brk + 1;
          // A \r ending the chunk: a \n opening the next one is its pair.
          if (pos === chunk.length) this.afterCr = true;
        }
      } else {
        this.newlines++;
        pos = brk + 1;
      }
    }
    if (nul >= 0) {
      // What came before the NUL goes on as a complete line (unless a \r just ended it); nothing after it.
      const crBefore = pos === nul && (nul > 0 ? chunk[nul - 1] === CR : this.afterCr) && this.carryBytes === 0 && !this.cut;
      if (!crBefore) this.emit(chunk, pos, nul);
      this.carry = [];
      this.carryBytes = 0;
      this.binary = { offset: this.bytes + nul, line: this.newlines + 1, what: 'binary data (a NUL byte)' };
      this.bytes += nul;
      return false;
    }
    if (pos < end) this.keep(chunk, pos, end);
    this.bytes += chunk.length;
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1];
    return true;
  }

  /** End of input: the last line, if it has no line break. */
  end(): void {
    if (this.binary !== undefined) return;
    if (this.carryBytes > 0) this.emit(Buffer.alloc(0), 0, 0);
  }

  /** Keeps the start of an unfinished line for the next chunk, up to the cut. */
  private keep(chunk: Buffer, from: number, to: number): void {
    if (this.cut) return;
    const room = CUT_LINE_BYTES - this.carryBytes;
    if (to - from > room) {
      to = from + room;
      this.cut = true;
    }
    // A copy: the chunk's memory is not held for a line's sake.
    if (to > from) this.carry.push(Buffer.from(chunk.subarray(from, to)));
    this.carryBytes += to - from;
  }

  /** Ends the line in progress at chunk[to] (a line break). */
  private emit(chunk: Buffer, from: number, to: number): void {
    let cut = this.cut;
    let line: string;
    if (this.carryBytes === 0 && !cut) {
      if (to - from > CUT_LINE_BYTES) {
        to = from + CUT_LINE_BYTES;
        cut = true;
      }
      line = this.ascii ? latin1Text(chunk, from, to) : chunk.toString('utf8', from, to);
    } else {
      if (!cut) {
        const room = CUT_LINE_BYTES - this.carryBytes;
        if (to - from > room) {
          to = from + room;
          cut = true;
        }
        this.carry.push(chunk.subarray(from, to));
      }
      line = Buffer.concat(this.carry).toString('utf8');
      this.carry = [];
      this.carryBytes = 0;
      this.cut = false;
    }
    this.onLine(line, cut);
  }
}

/** Buffer's own latin1 decoder, which toString('latin1', ...) calls after checking its arguments and looking up the encoding. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}
const LATIN1_SLICE = typeof (Buffer.prototype as Partial<Latin1Slicer>).latin1Slice === 'function';

/** chunk[from, to) as latin1 text: a line is decoded straight by the native decoder (its bounds are known good). */
function latin1Text(chunk: Buffer, from: number, to: number): string {
  return LATIN1_SLICE ? (chunk as unknown as Latin1Slicer).latin1Slice(from, to) : chunk.toString('latin1', from, to);
}

function startsWith(chunk: Buffer, magic: number[]): boolean {
  return chunk.length >= magic.length && magic.every((m, i) => chunk[i] === m);
}
