// The lexer's output as columns: one row per token in typed arrays (kind,
// offsets, line, column), literal values in a side list. The parser reads
// tokens by row number, so lexing a file allocates no object per token (a
// 10,000-line scenario has about 100,000 tokens, and the garbage they made
// as objects cost the collector more than the parse itself).

import type { Span } from './ast';
import { ONE_CHAR_PUNCT, TWO_CHAR_PUNCT, type Token, type TokenKind } from './tokens';

/** Every token kind; a row stores its index here. */
export const TOKEN_KINDS: readonly TokenKind[] = ['number', 'string', 'bytes', 'ident', 'newline', 'eof', 'invalid', ...TWO_CHAR_PUNCT, ...ONE_CHAR_PUNCT];

/** The row code of each kind. */
export const KIND_CODE: ReadonlyMap<TokenKind, number> = new Map(TOKEN_KINDS.map((k, i) => [k, i]));

export const K_NUMBER = 0;
export const K_STRING = 1;
export const K_BYTES = 2;
export const K_IDENT = 3;
export const K_NEWLINE = 4;
export const K_EOF = 5;
export const K_INVALID = 6;

/** Kinds whose text is their source (the others' text is their kind, or empty). */
function hasSourceText(code: number): boolean {
  return code <= K_BYTES || code === K_IDENT || code === K_INVALID;
}

const FIRST_ON_LINE = 1;
const RAW_BYTES = 2;
/** A string whose bytes the lexer stored (it had escapes); the others' bytes are their text's UTF-8, made when read. */
const OWN_BYTES = 4;

const utf8Encoder = new TextEncoder();

/** UTF-8 of `text`; short ASCII strings (nearly all of them) skip the encoder call. */
export function utf8Bytes(text: string): Uint8Array {
  const n = text.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return utf8Encoder.encode(text);
    out[i] = c;
  }
  return out;
}

export class TokenTable {
  /** Rows written so far. */
  count = 0;
  private kinds: Uint8Array;
  private flags: Uint8Array;
  private starts: Int32Array;
  private ends: Int32Array;
  private lines: Int32Array;
  private columns: Int32Array;
  /** Index into `values` of a literal's payload (a string's text, then its bytes), -1 for none. */
  private payloads: Int32Array;
  private readonly values: (bigint | string | Uint8Array)[] = [];
  /**
   * Identifier and number texts by a hash of their characters: a name or a
   * size written many times (a device, a constant, `4K`) is one string in
   * the tree, found without slicing the source again.
   */
  private readonly names = new Map<number, string>();

  constructor(private readonly src: string, capacity = 64) {
    this.kinds = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
    this.lines = new Int32Array(capacity);
    this.columns = new Int32Array(capacity);
    this.payloads = new Int32Array(capacity);
  }

  /** Appends a row; a string's payload is its text then, when escapes made them differ from its UTF-8, its bytes; a number's its value, a byte string's its bytes. */
  push(code: number, start: number, end: number, line: number, column: number, firstOnLine: boolean, payload?: bigint | string | Uint8Array, payload2?: Uint8Array): number {
    const i = this.count;
    if (i === this.kinds.length) this.grow();
    this.kinds[i] = code;
    this.flags[i] = (firstOnLine ? FIRST_ON_LINE : 0) | (payload2 !== undefined ? OWN_BYTES : 0);
    this.starts[i] = start;
    this.ends[i] = end;
    this.lines[i] = line;
    this.columns[i] = column;
    if (payload === undefined) this.payloads[i] = -1;
    else {
      this.payloads[i] = this.values.length;
      this.values.push(payload);
      if (payload2 !== undefined) this.values.push(payload2);
    }
    this.count = i + 1;
    return i;
  }

  private grow(): void {
    const n = this.kinds.length * 2;
    const widen8 = (a: Uint8Array): Uint8Array => { const b = new Uint8Array(n); b.set(a); return b; };
    const widen32 = (a: Int32Array): Int32Array => { const b = new Int32Array(n); b.set(a); return b; };
    this.kinds = widen8(this.kinds);
    this.flags = widen8(this.flags);
    this.starts = widen32(this.starts);
    this.ends = widen32(this.ends);
    this.lines = widen32(this.lines);
    this.columns = widen32(this.columns);
    this.payloads = widen32(this.payloads);
  }

  code(i: number): number { return this.kinds[i]!; }
  kind(i: number): TokenKind { return TOKEN_KINDS[this.kinds[i]!]!; }
  start(i: number): number { return this.starts[i]!; }
  end(i: number): number { return this.ends[i]!; }
  line(i: number): number { return this.lines[i]!; }
  column(i: number): number { return this.columns[i]!; }
  /** First token of a physical line (not after a `\` continuation). */
  firstOnLine(i: number): boolean { return (this.flags[i]! & FIRST_ON_LINE) !== 0; }
  /** A string with an escape that wrote a byte of 0x80 or more (`"\xff"`): its value is its bytes, not its text's UTF-8. */
  rawBytes(i: number): boolean { return (this.flags[i]! & RAW_BYTES) !== 0; }
  markRawBytes(i: number): void { this.flags[i] = this.flags[i]! | RAW_BYTES; }

  /** Source text of the token (a punctuation token's text is its kind; newline and eof have none). */
  text(i: number): string {
    const code = this.kinds[i]!;
    if (code === K_IDENT || code === K_NUMBER) return this.name(this.starts[i]!, this.ends[i]!);
    if (hasSourceText(code)) return this.src.slice(this.starts[i], this.ends[i]);
    return code === K_NEWLINE || code === K_EOF ? '' : TOKEN_KINDS[code]!;
  }

  private name(start: number, end: number): string {
    const src = this.src;
    let h = 0x811c9dc5;
    for (let p = start; p < end; p++) h = Math.imul(h ^ src.charCodeAt(p), 0x01000193);
    const known = this.names.get(h);
    if (known !== undefined && known.length === end - start && src.startsWith(known, start)) return known;
    const text = src.slice(start, end);
    // On a hash collision the first name keeps the slot; the other is sliced each time.
    if (known === undefined) this.names.set(h, text);
    return text;
  }

  /** True when the token is the identifier `word` (compared in place, no text made). */
  isWord(i: number, word: string): boolean {
    const start = this.starts[i]!;
    return this.kinds[i] === K_IDENT && this.ends[i]! - start === word.length && this.src.startsWith(word, start);
  }

  /** number: the exact value. */
  value(i: number): bigint {
    const p = this.payloads[i]!;
    const v = p < 0 ? undefined : this.values[p];
    return typeof v === 'bigint' ? v : 0n;
  }

  /** string: the decoded text. */
  str(i: number): string {
    const p = this.payloads[i]!;
    const v = p < 0 || this.kinds[i] !== K_STRING ? undefined : this.values[p];
    return typeof v === 'string' ? v : '';
  }

  /** string, bytes: the bytes (a string without escapes: its text's UTF-8, a new array on each call). */
  bytes(i: number): Uint8Array | undefined {
    const p = this.payloads[i]!;
    if (p < 0) return undefined;
    if (this.kinds[i] === K_STRING && (this.flags[i]! & OWN_BYTES) === 0) {
      const text = this.values[p];
      return typeof text === 'string' ? utf8Bytes(text) : undefined;
    }
    const v = this.values[this.kinds[i] === K_STRING ? p + 1 : p];
    return v instanceof Uint8Array ? v : undefined;
  }

  /** The token's span (tokens never span lines). */
  span(i: number): Span {
    const start = this.starts[i]!;
    const end = this.ends[i]!;
    const line = this.lines[i]!;
    const column = this.columns[i]!;
    return { start, end, line, column, endLine: line, endColumn: column + (end - start) };
  }

  /** From the start of token `first` to the end of token `last`. */
  rangeSpan(first: number, last: number): Span {
    const end = this.ends[last]!;
    return { start: this.starts[first]!, end, line: this.lines[first]!, column: this.columns[first]!, endLine: this.lines[last]!, endColumn: this.columns[last]! + (end - this.starts[last]!) };
  }

  /** The row as a Token object (for the editor's token readers). */
  token(i: number): Token {
    const code = this.kinds[i]!;
    return {
      kind: TOKEN_KINDS[code]!, start: this.starts[i]!, end: this.ends[i]!, line: this.lines[i]!, column: this.columns[i]!,
      firstOnLine: this.firstOnLine(i), text: this.text(i),
      value: code === K_NUMBER ? this.value(i) : undefined,
      str: code === K_STRING ? this.str(i) : undefined,
      bytes: code === K_STRING || code === K_BYTES ? this.bytes(i) : undefined,
    };
  }
}
