// Token kinds of the scenario language and the span/diagnostic helpers the
// lexer, parser and checker share, so every diagnostic is built the same way.

import type { Span } from './ast';
import type { Diagnostic } from './run-result';
import type { Severity } from '../engine/trace/recorder';

/** Punctuation and operators; a punctuation token's kind is its own text. */
export type Punct =
  | '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '~' | '!'
  | '<<' | '>>' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||'
  | '=' | '(' | ')' | '[' | ']' | '{' | '}' | ',' | ';' | ':' | '.' | '..' | '->';

export type TokenKind =
  | 'number' | 'string' | 'bytes' | 'ident'
  /** End of a line (consecutive blank lines and comments collapse into one). */
  | 'newline'
  | 'eof'
  /** A run of characters that start no token (already reported by the lexer). */
  | 'invalid'
  | Punct;

/** Two-character operators, checked before the one-character ones. */
export const TWO_CHAR_PUNCT: readonly Punct[] = ['<<', '>>', '==', '!=', '<=', '>=', '&&', '||', '..', '->'];
export const ONE_CHAR_PUNCT: readonly Punct[] = [
  '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<', '>', '=', '(', ')', '[', ']', '{', '}', ',', ';', ':', '.',
];

/** Words that always mean the same thing and cannot be assigned to. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(['true', 'false', 'for', 'in', 'expect', 'print', 'checkpoint']);

/** Tokens never span lines, so a token needs only its start line and column. */
export interface Token {
  kind: TokenKind;
  /** 0-based offsets, end exclusive. */
  start: number;
  end: number;
  /** 1-based. */
  line: number;
  column: number;
  /** First token of a physical line (not after a `\` continuation). */
  firstOnLine: boolean;
  /** Source text of the token. */
  text: string;
  /** number: the exact value. */
  value: bigint | undefined;
  /** string: decoded text. */
  str: string | undefined;
  /** string, bytes: the bytes. */
  bytes: Uint8Array | undefined;
}

/** The span from the start of `a` to the end of `b`. */
export function joinSpans(a: Span, b: Span): Span {
  return { start: a.start, end: b.end, line: a.line, column: a.column, endLine: b.endLine, endColumn: b.endColumn };
}

/** A zero-width span just after `s` (where something is missing). */
export function spanAfter(s: Span): Span {
  return { start: s.end, end: s.end, line: s.endLine, column: s.endColumn, endLine: s.endLine, endColumn: s.endColumn };
}

/** Diagnostics kept per list; past this one summary line says the rest were dropped. */
export const MAX_DIAGNOSTICS = 200;

/** Appends `d` unless the list is full; the first overflow adds the summary. */
export function pushCapped(list: Diagnostic[], d: Diagnostic): void {
  if (list.length < MAX_DIAGNOSTICS) list.push(d);
  else if (list.length === MAX_DIAGNOSTICS) {
    list.push({ ...d, severity: 'error', code: 'too-many-errors', message: `more than ${MAX_DIAGNOSTICS} problems; the rest are not shown` });
  }
}

export function makeDiagnostic(span: Span, code: string, message: string, severity: Severity = 'error'): Diagnostic {
  // A zero-width range is invisible in editors; widen it by one column.
  const endColumn = span.endLine === span.line && span.endColumn <= span.column ? span.column + 1 : span.endColumn;
  return { line: span.line, column: span.column, endLine: span.endLine, endColumn, severity, code, message };
}

/** How a token is named in messages: `'='`, `end of line`, `number 16K`. */
export function describeToken(kind: TokenKind, text: string): string {
  switch (kind) {
    case 'eof': return 'end of file';
    case 'newline': return 'end of line';
    case 'number': return `number ${text}`;
    case 'string': return 'string';
    case 'bytes': return 'byte string';
    case 'ident': return `'${text}'`;
    case 'invalid': return 'invalid character';
    default: return `'${kind}'`;
  }
}
