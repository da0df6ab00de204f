// Turns scenario source into tokens. Never throws: bad characters, bad
// numbers and unterminated strings become diagnostics plus a best-effort
// token, so the parser can go on and report later mistakes too.

import type { Diagnostic } from './run-result';
import type { Span } from './ast';
import { type Token, type TokenKind, type Punct, TWO_CHAR_PUNCT, ONE_CHAR_PUNCT, makeDiagnostic, pushCapped } from './tokens';

export const U64_MAX = (1n << 64n) - 1n;

export interface LexResult {
  tokens: Token[];
  diagnostics: Diagnostic[];
}

const SUFFIX: Readonly<Record<string, bigint>> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n, T: 1n << 40n };

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

const PUNCT_START = new Set<number>([...ONE_CHAR_PUNCT, ...TWO_CHAR_PUNCT].map((p) => p.charCodeAt(0)));

/** Characters that begin some valid token or separator; anything else is garbage. */
function startsSomething(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || isBlank(c) || isLineBreak(c) || c === 34 || c === 35 || c === 92 || PUNCT_START.has(c);
}

function utf8(codePoint: number, out: number[]): void {
  if (codePoint < 0x80) out.push(codePoint);
  else if (codePoint < 0x800) out.push(0xc0 | (codePoint >> 6), 0x80 | (codePoint & 63));
  else if (codePoint < 0x10000) out.push(0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 63), 0x80 | (codePoint & 63));
  else out.push(0xf0 | (codePoint >> 18), 0x80 | ((codePoint >> 12) & 63), 0x80 | ((codePoint >> 6) & 63), 0x80 | (codePoint & 63));
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp === 0) return 'NUL byte';
  if (cp < 32 || cp === 127 || cp > 126) return `character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `character '${ch}'`;
}

class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private firstOnLine = true;
  readonly tokens: Token[] = [];
  readonly diagnostics: Diagnostic[] = [];

  constructor(private readonly src: string) {}

  run(): LexResult {
    const src = this.src;
    const n = src.length;
    while (this.pos < n) {
      const c = src.charCodeAt(this.pos);
      if (isBlank(c)) { this.pos++; continue; }
      if (isLineBreak(c)) { this.newline(); continue; }
      if (c === 35 || (c === 47 && src.charCodeAt(this.pos + 1) === 47)) { this.skipComment(); continue; }
      if (c === 92) { this.backslash(); continue; }
      if (isDigit(c)) { this.number(); continue; }
      if (isIdentStart(c)) { this.ident(); continue; }
      if (c === 34) { this.string(this.pos, this.pos); continue; }
      if (PUNCT_START.has(c)) { this.punct(); continue; }
      this.garbage();
    }
    this.push('eof', n, n);
    return { tokens: this.tokens, diagnostics: this.diagnostics };
  }

  private span(start: number, end: number): Span {
    const column = start - this.lineStart + 1;
    return { start, end, line: this.line, column, endLine: this.line, endColumn: column + (end - start) };
  }

  private error(start: number, end: number, message: string, code = 'parse'): void {
    pushCapped(this.diagnostics, makeDiagnostic(this.span(start, end), code, message));
  }

  private push(kind: TokenKind, start: number, end: number, extra?: Partial<Token>): Token {
    const tok: Token = {
      kind, start, end, line: this.line, column: start - this.lineStart + 1,
      firstOnLine: this.firstOnLine, text: this.src.slice(start, end), ...extra,
    };
    this.firstOnLine = false;
    this.tokens.push(tok);
    return tok;
  }

  private newline(): void {
    const start = this.pos;
    const c = this.src.charCodeAt(this.pos);
    this.pos += c === 13 && this.src.charCodeAt(this.pos + 1) === 10 ? 2 : 1;
    const last = this.tokens[this.tokens.length - 1];
    // Blank lines carry no meaning: one newline token per run of them.
    if (last !== undefined && last.kind !== 'newline') this.push('newline', start, start);
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
    this.push('invalid', start, start + 1);
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
    const tok = this.push('number', start, p, { value: 0n });
    let bodyEnd = p;
    let mult = 1n;
    const last = src[p - 1];
    if (p > bodyStart && last !== undefined && SUFFIX[last] !== undefined) { mult = SUFFIX[last]; bodyEnd--; }
    let digits = '';
    for (let i = bodyStart; i < bodyEnd; i++) {
      const c = src.charCodeAt(i);
      if (c === 95) continue;
      const ok = base === 16 ? isHexDigit(c) : base === 2 ? c === 48 || c === 49 : isDigit(c);
      if (!ok) {
        const ch = src[i] ?? '';
        const hint = i === bodyEnd - 1 && /[kmgt]/.test(ch) ? ` (size suffixes are K M G T, upper case)` : '';
        const what = base === 16 ? 'hex' : base === 2 ? 'binary' : 'decimal';
        this.error(i, i + 1, `invalid ${what} digit '${ch}' in number ${tok.text}${hint}`);
        return;
      }
      digits += src[i];
    }
    if (digits.length === 0) {
      this.error(start, p, `number ${tok.text} has no digits`);
      return;
    }
    const significant = digits.replace(/^0+/, '');
    let value: bigint | undefined;
    if (significant.length <= (MAX_DIGITS[base] ?? 20)) {
      const prefix = base === 16 ? '0x' : base === 2 ? '0b' : '';
      value = BigInt(prefix + (significant === '' ? '0' : significant)) * mult;
    }
    if (value === undefined || value > U64_MAX) {
      this.error(start, p, `integer ${tok.text.length > 40 ? tok.text.slice(0, 40) + '...' : tok.text} does not fit in 64 bits (max 0xffff_ffff_ffff_ffff)`, 'out-of-range');
      tok.value = U64_MAX;
      return;
    }
    tok.value = value;
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
    this.push('ident', start, p);
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
    const bytes: number[] = [];
    let text = '';
    let p = quote + 1;
    while (p < contentEnd) {
      const c = src.charCodeAt(p);
      if (c !== 92) {
        const cp = src.codePointAt(p) ?? c;
        const len = cp > 0xffff ? 2 : 1;
        text += src.slice(p, p + len);
        utf8(cp, bytes);
        p += len;
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
        bytes.push(v);
        text += String.fromCharCode(v);
        p = q;
      } else if (e >= '0' && e <= '7') {
        let q = p + 1;
        while (q < contentEnd && q < p + 4 && src.charCodeAt(q) >= 48 && src.charCodeAt(q) <= 55) q++;
        const v = parseInt(src.slice(p + 1, q), 8);
        if (v > 255) this.error(p, q, `octal escape ${src.slice(p, q)} is larger than a byte`);
        bytes.push(v & 255);
        text += String.fromCharCode(v & 255);
        p = q;
      } else {
        this.error(p, Math.min(p + 2, contentEnd), `unknown escape '\\${e}'`);
        p += e === '' ? 1 : 2;
      }
    }
    this.push('string', start, end, { str: text, bytes: Uint8Array.from(bytes) });
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
    this.push('bytes', start, end, { bytes: Uint8Array.from(bytes) });
  }

  private punct(): void {
    const src = this.src;
    const start = this.pos;
    const two = src.slice(start, start + 2);
    const p2 = TWO_CHAR_PUNCT.find((p) => p === two);
    if (p2 !== undefined) {
      this.pos += 2;
      this.push(p2, start, start + 2);
      return;
    }
    this.pos += 1;
    this.push(src[start] as Punct, start, start + 1);
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
    this.push('invalid', start, p);
  }
}

/** Tokenizes a whole scenario; the last token is always `eof`. */
export function lex(source: string): LexResult {
  return new Lexer(source).run();
}
