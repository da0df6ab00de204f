// Turns scenario source into tokens. Never throws: bad characters, bad
// numbers and unterminated strings become diagnostics plus a best-effort
// token, so the parser can go on and report later mistakes too.

import type { Diagnostic } from './run-result';
import type { Span } from './ast';
import { type Token, TWO_CHAR_PUNCT, ONE_CHAR_PUNCT, makeDiagnostic, pushCapped } from './tokens';
import { KIND_CODE, K_BYTES, K_EOF, K_IDENT, K_INVALID, K_NEWLINE, K_NUMBER, K_STRING, TokenTable, utf8Bytes } from './token-table';

export const U64_MAX = (1n << 64n) - 1n;

export interface LexResult {
  tokens: Token[];
  diagnostics: Diagnostic[];
}

const SUFFIX: Readonly<Record<string, bigint>> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n, T: 1n << 40n };

/** Values of literals up to 2^32 written so far, shared: a scenario writes the same few sizes and offsets thousands of times. */
const SMALL_VALUES = new Map<number, bigint>();
const SMALL_VALUES_MAX = 4096;

function bigintOf(n: number): bigint {
  if (n > 0xffff_ffff) return BigInt(n);
  let v = SMALL_VALUES.get(n);
  if (v === undefined) {
    v = BigInt(n);
    if (SMALL_VALUES.size < SMALL_VALUES_MAX) SMALL_VALUES.set(n, v);
  }
  return v;
}

/** Significant digits beyond which a literal cannot fit in 64 bits (saves parsing a megabyte of digits). */
const MAX_DIGITS: Readonly<Record<number, number>> = { 2: 64, 10: 20, 16: 16 };

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  n: 10, t: 9, r: 13, '\\': 92, '"': 34, "'": 39, '?': 63, a: 7, b: 8, f: 12, v: 11, e: 27,
};

function isDigit(c: number): boolean { return c >= 48 && c <= 57; }
function isIdentStart(c: number): boolean { return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95; }
function isIdentPart(c: number): boolean { return isIdentStart(c) || isDigit(c); }
function isHexDigit(c: number): boolean { return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102); }
function isBlank(c: number): boolean { return c === 32 || c === 9 || c === 12 || c === 11; }
function isLineBreak(c: number): boolean { return c === 10 || c === 13; }

/** ASCII characters that start punctuation (a table: this test runs once per token). */
const PUNCT_START = new Uint8Array(128);
for (const p of [...ONE_CHAR_PUNCT, ...TWO_CHAR_PUNCT]) PUNCT_START[p.charCodeAt(0)] = 1;
const isPunctStart = (c: number): boolean => c < 128 && PUNCT_START[c] === 1;

/** Row code of each one-character punctuation, by its character code. */
const ONE_CHAR_CODE = new Int16Array(128).fill(-1);
for (const p of ONE_CHAR_PUNCT) ONE_CHAR_CODE[p.charCodeAt(0)] = KIND_CODE.get(p)!;
/** Row code of each two-character punctuation, by its two character codes (c0 * 128 + c1). */
const TWO_CHAR_CODE = new Map<number, number>(TWO_CHAR_PUNCT.map((p) => [p.charCodeAt(0) * 128 + p.charCodeAt(1), KIND_CODE.get(p)!]));

/** Characters that begin some valid token or separator; anything else is garbage. */
function startsSomething(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || isBlank(c) || isLineBreak(c) || c === 34 || c === 35 || c === 92 || isPunctStart(c);
}

export { utf8Bytes };

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp === 0) return 'NUL byte';
  if (cp < 32 || cp === 127 || cp > 126) return `character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `character '${ch}'`;
}

/**
 * Produces tokens on demand into a TokenTable (rows, not objects), so a
 * megabyte of source never becomes a token object array. The parser reads
 * rows by number and can go back to any row it read; the editor's readers
 * take Token objects from next().
 */
export class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private firstOnLine = true;
  /** Blank lines collapse: no newline token right after another (or at the start). */
  private afterNewline = true;
  /** Row of the token the last step produced, -1 while a step produced none. */
  private current = -1;
  /** Row of the eof token once the end is reached. */
  private eofRow = -1;
  readonly diagnostics: Diagnostic[] = [];
  readonly table: TokenTable;

  constructor(private readonly src: string) {
    // About one token per four characters of a typical scenario; the table grows if there are more.
    this.table = new TokenTable(src, Math.max(64, src.length >> 2));
  }

  /** Lexes the next token into the table; returns its row (the eof row forever at the end). */
  scan(): number {
    if (this.eofRow >= 0) return this.eofRow;
    const src = this.src;
    const n = src.length;
    this.current = -1;
    while (this.current < 0) {
      if (this.pos >= n) {
        this.push(K_EOF, n, n);
        this.eofRow = this.current;
      } else {
        const c = src.charCodeAt(this.pos);
        if (isBlank(c)) this.pos++;
        else if (isLineBreak(c)) this.newline();
        else if (c === 35 || (c === 47 && src.charCodeAt(this.pos + 1) === 47)) this.skipComment();
        else if (c === 92) this.backslash();
        else if (isDigit(c)) this.number();
        else if (isIdentStart(c)) this.ident();
        else if (c === 34) this.string(this.pos, this.pos);
        else if (isPunctStart(c)) this.punct();
        else this.garbage();
      }
    }
    return this.current;
  }

  /** The next token as an object; `eof` forever at the end. */
  next(): Token {
    return this.table.token(this.scan());
  }

  private span(start: number, end: number): Span {
    const column = start - this.lineStart + 1;
    return { start, end, line: this.line, column, endLine: this.line, endColumn: column + (end - start) };
  }

  private error(start: number, end: number, message: string, code = 'parse'): void {
    pushCapped(this.diagnostics, makeDiagnostic(this.span(start, end), code, message));
  }

  private push(code: number, start: number, end: number, payload?: bigint | string | Uint8Array, payload2?: Uint8Array): void {
    this.current = this.table.push(code, start, end, this.line, start - this.lineStart + 1, this.firstOnLine, payload, payload2);
    this.firstOnLine = false;
    this.afterNewline = code === K_NEWLINE;
  }

  private newline(): void {
    const start = this.pos;
    const c = this.src.charCodeAt(this.pos);
    this.pos += c === 13 && this.src.charCodeAt(this.pos + 1) === 10 ? 2 : 1;
    // Blank lines carry no meaning: one newline token per run of them.
    if (!this.afterNewline) this.push(K_NEWLINE, start, start);
    this.line++;
    this.lineStart = this.pos;
    this.firstOnLine = true;
  }

  private skipComment(): void {
    const src = this.src;
    while (this.pos < src.length && !isLineBreak(src.charCodeAt(this.pos))) this.pos++;
  }

  /** `\` then optional blanks/comment then a line break joins two lines. */
  private backslash(): void {
    const src = this.src;
    const start = this.pos;
    let p = this.pos + 1;
    while (p < src.length && isBlank(src.charCodeAt(p))) p++;
    const c = src.charCodeAt(p);
    if (c === 35 || (c === 47 && src.charCodeAt(p + 1) === 47)) {
      while (p < src.length && !isLineBreak(src.charCodeAt(p))) p++;
    }
    if (p >= src.length) { this.pos = p; return; }
    if (isLineBreak(src.charCodeAt(p))) {
      p += src.charCodeAt(p) === 13 && src.charCodeAt(p + 1) === 10 ? 2 : 1;
      this.pos = p;
      this.line++;
      this.lineStart = p;
      return;
    }
    this.error(start, start + 1, "'\\' continues a line only at the end of the line");
    this.pos = start + 1;
    this.push(K_INVALID, start, start + 1);
  }

  private number(): void {
    const src = this.src;
    const start = this.pos;
    let base = 10;
    let p = start;
    if (src.charCodeAt(p) === 48) {
      const x = src.charCodeAt(p + 1);
      if (x === 120 || x === 88) { base = 16; p += 2; }
      else if (x === 98 || x === 66) { base = 2; p += 2; }
    }
    const bodyStart = p;
    while (p < src.length && isIdentPart(src.charCodeAt(p))) p++;
    this.pos = p;
    this.push(K_NUMBER, start, p, this.numberValue(start, bodyStart, p, base));
  }

  /** The value of the number at `start`..`end` (0 after a bad digit, U64_MAX when too large; both reported). */
  private numberValue(start: number, bodyStart: number, p: number, base: number): bigint {
    const src = this.src;
    let bodyEnd = p;
    let mult = 1n;
    const last = src[p - 1];
    if (p > bodyStart && last !== undefined && SUFFIX[last] !== undefined) { mult = SUFFIX[last]; bodyEnd--; }
    let ndigits = 0;
    let leadingZeros = 0;
    let underscores = false;
    // The value as a double while it is exact (below 2^53): nearly every literal, with no string or second BigInt made.
    let acc = 0;
    for (let i = bodyStart; i < bodyEnd; i++) {
      const c = src.charCodeAt(i);
      if (c === 95) { underscores = true; continue; }
      const ok = base === 16 ? isHexDigit(c) : base === 2 ? c === 48 || c === 49 : isDigit(c);
      if (!ok) {
        const ch = src[i] ?? '';
        const hint = i === bodyEnd - 1 && /[kmgt]/.test(ch) ? ` (size suffixes are K M G T, upper case)` : '';
        const what = base === 16 ? 'hex' : base === 2 ? 'binary' : 'decimal';
        this.error(i, i + 1, `invalid ${what} digit '${ch}' in number ${src.slice(start, p)}${hint}`);
        return 0n;
      }
      if (c === 48 && ndigits === leadingZeros) leadingZeros++;
      ndigits++;
      acc = acc * base + (c <= 57 ? c - 48 : (c | 32) - 87);
    }
    if (ndigits === 0) {
      this.error(start, p, `number ${src.slice(start, p)} has no digits`);
      return 0n;
    }
    let value: bigint | undefined;
    if (acc <= Number.MAX_SAFE_INTEGER) value = mult === 1n ? bigintOf(acc) : acc * Number(mult) <= Number.MAX_SAFE_INTEGER ? bigintOf(acc * Number(mult)) : BigInt(acc) * mult;
    else if (ndigits - leadingZeros <= (MAX_DIGITS[base] ?? 20)) {
      // Beyond 2^53 the digits go through BigInt.
      const body = src.slice(bodyStart, bodyEnd);
      const digits = underscores ? body.replace(/_/g, '') : body;
      value = BigInt((base === 16 ? '0x' : base === 2 ? '0b' : '') + digits) * mult;
    }
    if (value === undefined || value > U64_MAX) {
      const text = src.slice(start, p);
      this.error(start, p, `integer ${text.length > 40 ? text.slice(0, 40) + '...' : text} does not fit in 64 bits (max 0xffff_ffff_ffff_ffff)`, 'out-of-range');
      return U64_MAX;
    }
    return value;
  }

  private ident(): void {
    const src = this.src;
    const start = this.pos;
    let p = start + 1;
    while (p < src.length && isIdentPart(src.charCodeAt(p))) p++;
    if (p - start === 3 && src.charCodeAt(p) === 34 && src.startsWith('hex', start)) {
      this.hexBytes(start, p);
      return;
    }
    this.pos = p;
    this.push(K_IDENT, start, p);
  }

  /** Scans to the closing quote of a string starting at `quote`; returns the content end and whether it closed. */
  private scanQuoted(quote: number): { contentEnd: number; closed: boolean } {
    const src = this.src;
    let p = quote + 1;
    while (p < src.length) {
      const c = src.charCodeAt(p);
      if (c === 34) return { contentEnd: p, closed: true };
      if (isLineBreak(c)) break;
      if (c === 92 && p + 1 < src.length && !isLineBreak(src.charCodeAt(p + 1))) p += 2;
      else p++;
    }
    return { contentEnd: Math.min(p, src.length), closed: false };
  }

  private string(start: number, quote: number): void {
    const src = this.src;
    const { contentEnd, closed } = this.scanQuoted(quote);
    const end = closed ? contentEnd + 1 : contentEnd;
    this.pos = end;
    if (!closed) this.error(start, end, 'unterminated string (strings end on the same line)');
    const content = src.slice(quote + 1, contentEnd);
    if (content.indexOf('\\') < 0) {
      // No escapes (the common case): the text is the source; its bytes, its UTF-8, are made when something reads them.
      this.push(K_STRING, start, end, content);
      return;
    }
    const bytes: number[] = [];
    let text = '';
    // An escape's byte of 0x80 or more is that raw byte, not the UTF-8 of its character: the literal is then its bytes.
    let rawByte = false;
    let p = quote + 1;
    while (p < contentEnd) {
      const c = src.charCodeAt(p);
      if (c !== 92) {
        let q = p + 1;
        while (q < contentEnd && src.charCodeAt(q) !== 92) q++;
        const run = src.slice(p, q);
        text += run;
        for (const b of utf8Bytes(run)) bytes.push(b);
        p = q;
        continue;
      }
      const e = src[p + 1] ?? '';
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        bytes.push(simple);
        text += String.fromCharCode(simple);
        p += 2;
      } else if (e === 'x') {
        let q = p + 2;
        while (q < contentEnd && q < p + 4 && isHexDigit(src.charCodeAt(q))) q++;
        if (q === p + 2) {
          this.error(p, p + 2, "'\\x' needs one or two hex digits");
          p += 2;
          continue;
        }
        const v = parseInt(src.slice(p + 2, q), 16);
        if (v >= 0x80) rawByte = true;
        bytes.push(v);
        text += String.fromCharCode(v);
        p = q;
      } else if (e >= '0' && e <= '7') {
        let q = p + 1;
        while (q < contentEnd && q < p + 4 && src.charCodeAt(q) >= 48 && src.charCodeAt(q) <= 55) q++;
        const v = parseInt(src.slice(p + 1, q), 8);
        if (v > 255) this.error(p, q, `octal escape ${src.slice(p, q)} is larger than a byte`);
        if ((v & 255) >= 0x80) rawByte = true;
        bytes.push(v & 255);
        text += String.fromCharCode(v & 255);
        p = q;
      } else {
        this.error(p, Math.min(p + 2, contentEnd), `unknown escape '\\${e}'`);
        p += e === '' ? 1 : 2;
      }
    }
    this.push(K_STRING, start, end, text, Uint8Array.from(bytes));
    if (rawByte) this.table.markRawBytes(this.current);
  }

  /** `hex"de ad be ef"`: pairs of hex digits, blanks allowed between bytes. */
  private hexBytes(start: number, quote: number): void {
    const src = this.src;
    const { contentEnd, closed } = this.scanQuoted(quote);
    const end = closed ? contentEnd + 1 : contentEnd;
    this.pos = end;
    if (!closed) this.error(start, end, 'unterminated byte string');
    const bytes: number[] = [];
    let pending = -1;
    let pendingAt = 0;
    for (let p = quote + 1; p < contentEnd; p++) {
      const c = src.charCodeAt(p);
      if (isHexDigit(c)) {
        const v = parseInt(src[p] ?? '0', 16);
        if (pending < 0) { pending = v; pendingAt = p; } else { bytes.push(pending * 16 + v); pending = -1; }
      } else if (isBlank(c)) {
        if (pending >= 0) { this.error(pendingAt, p, 'a byte needs two adjacent hex digits'); pending = -1; }
      } else {
        this.error(p, p + 1, `${describeChar(src[p] ?? '')} is not a hex digit`);
      }
    }
    if (pending >= 0) this.error(pendingAt, pendingAt + 1, 'odd number of hex digits: a byte needs two');
    this.push(K_BYTES, start, end, Uint8Array.from(bytes));
  }

  private punct(): void {
    const src = this.src;
    const start = this.pos;
    const c = src.charCodeAt(start);
    const two = TWO_CHAR_CODE.get(c * 128 + src.charCodeAt(start + 1));
    if (two !== undefined) {
      this.pos += 2;
      this.push(two, start, start + 2);
      return;
    }
    this.pos += 1;
    this.push(ONE_CHAR_CODE[c]!, start, start + 1);
  }

  /** A run of characters that begin nothing: one diagnostic and one token for the whole run. */
  private garbage(): void {
    const src = this.src;
    const start = this.pos;
    let p = start;
    while (p < src.length && !startsSomething(src.charCodeAt(p))) p++;
    this.pos = p;
    const first = String.fromCodePoint(src.codePointAt(start) ?? 0);
    const more = p - start > first.length ? ` (and ${p - start - first.length} more)` : '';
    this.error(start, p, `unexpected ${describeChar(first)}${more}`);
    this.push(K_INVALID, start, p);
  }
}

/** Tokenizes a whole scenario; the last token is always `eof`. */
export function lex(source: string): LexResult {
  const lexer = new Lexer(source);
  const tokens: Token[] = [];
  for (;;) {
    const t = lexer.next();
    tokens.push(t);
    if (t.kind === 'eof') return { tokens, diagnostics: lexer.diagnostics };
  }
}

/**
 * Pairs of `{` and `}` offsets, found with a light scan that skips strings and
 * comments the way the lexer does. A `{` missing from the map is never closed.
 */
export function matchBraces(src: string): Map<number, number> {
  const pairs = new Map<number, number>();
  const open: number[] = [];
  const n = src.length;
  let p = 0;
  while (p < n) {
    const c = src.charCodeAt(p);
    if (c === 123) open.push(p);
    else if (c === 125) {
      const o = open.pop();
      if (o !== undefined) pairs.set(o, p);
    } else if (c === 35 || (c === 47 && src.charCodeAt(p + 1) === 47)) {
      while (p < n && !isLineBreak(src.charCodeAt(p))) p++;
      continue;
    } else if (c === 34) {
      p++;
      while (p < n) {
        const d = src.charCodeAt(p);
        if (d === 34) break;
        if (isLineBreak(d)) { p--; break; }
        p += d === 92 && p + 1 < n && !isLineBreak(src.charCodeAt(p + 1)) ? 2 : 1;
      }
    }
    p++;
  }
  return pairs;
}
