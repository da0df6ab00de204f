// What the cursor is in, for completion and signature help. Works on tokens
// of the text before the cursor, not on the tree: while a line is being
// typed it rarely parses (`dma_map_page(eth0, ` has no closing parenthesis),
// so the tree cannot say which argument is being written. Offsets are 0-based
// source offsets.

import type { ValueKind } from '../builtins';
import { BUILTINS } from '../builtins';
import { Lexer } from '../lexer';
import type { Token } from '../tokens';
import type { DocumentModel } from './document-model';

export type DeclBlockKind = 'platform' | 'iommu' | 'device' | 'mm';

export interface CallFrame {
  callee: string;
  /** Offset of the `(`. */
  open: number;
  /** Positional arguments before the current one. */
  argIndex: number;
  /** `name = ` written at the start of the current argument. */
  named?: string;
  /** Tokens of the current argument before the word being typed. */
  argTokens: Token[];
  /** The cursor follows a complete operand (`eth0 |`): nothing to complete, but signature help still applies. */
  afterOperand: boolean;
}

export type CursorContext =
  /** In a comment or a string: nothing to complete. */
  | { kind: 'none' }
  | { kind: 'statement-start' }
  /** Right after `expect`: its sub-forms or an expression. */
  | { kind: 'expect-form' }
  /** After `expect error`: an errno name. */
  | { kind: 'expect-errno' }
  /** After `expect fault` / `stale` / `violation "..."` / `error ERRNO`: the call. */
  | { kind: 'expect-call'; mode: 'fault' | 'stale' | 'violation' | 'error' | 'log' }
  /** After `expect bounced` / `expect !bounced`: a DMA address. */
  | { kind: 'expect-bounced' }
  /** Any expression. */
  | { kind: 'expression' }
  /** An argument of a call. */
  | { kind: 'argument'; frame: CallFrame }
  /** A record field name `{start = ...}` inside a call's list argument. */
  | { kind: 'record-field'; callee: string | undefined }
  /** After `obj.`: a member of the object's kind. */
  | { kind: 'member'; objectKind: ValueKind | undefined }
  /** After `iommu NAME :` or `device NAME :`. */
  | { kind: 'iommu-kind' }
  | { kind: 'bus' }
  /** A key inside a declaration block. */
  | { kind: 'decl-key'; decl: DeclBlockKind; iommuKind: string | undefined; used: string[] }
  /** The value of a key inside a declaration block. */
  | { kind: 'decl-value'; decl: DeclBlockKind; key: string; iommuKind: string | undefined; inList: boolean; declName: string | undefined }
  /** Inside `mm NAME { ... }`. */
  | { kind: 'mm-map'; step: 'keyword' | 'target' | 'perm' | 'other' };

export interface CursorInfo {
  ctx: CursorContext;
  /** The identifier being typed (possibly empty) and where it starts/ends. */
  prefix: string;
  wordStart: number;
  wordEnd: number;
  /** Start of the word when `-` joins parts (arm-smmu-v3, dma-fq). */
  dashedStart: number;
  /** The character after the word is `(`: insert no call parentheses. */
  followedByParen: boolean;
}

const isWord = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/** True when `offset` is inside a `#`/`//` comment or a string on its line. */
function inCommentOrString(text: string, lineStart: number, offset: number): boolean {
  let inString = false;
  for (let p = lineStart; p < offset; p++) {
    const c = text.charCodeAt(p);
    if (inString) {
      if (c === 92) p++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 35 || (c === 47 && text.charCodeAt(p + 1) === 47)) return true;
  }
  return inString;
}

/** Tokens of text[start, end), offsets made absolute; newlines dropped, `;` kept. */
function lexRange(text: string, start: number, end: number): Token[] {
  const out: Token[] = [];
  if (end <= start) return out;
  const lexer = new Lexer(text.slice(start, end));
  for (let i = 0; i < 100_000; i++) {
    const t = lexer.next();
    if (t.kind === 'eof') break;
    out.push({ ...t, start: t.start + start, end: t.end + start });
  }
  return out;
}

const HEADER = /(?:^|[;}\n])\s*(platform|iommu\s+([A-Za-z_]\w*)\s*:\s*([\w-]*)|device\s+([A-Za-z_]\w*)\s*:\s*\w*\s*(?:"[^"\n]*")?|mm\s+([A-Za-z_]\w*))\s*$/;

interface BlockInfo {
  kind: DeclBlockKind;
  open: number;
  iommuKind?: string;
  name?: string;
}

/** The declaration block `{ ... }` holding the offset, if any (innermost brace must be a declaration's). */
function declBlockAt(model: DocumentModel, offset: number): BlockInfo | undefined {
  const { openers, pairs } = model.braces;
  const text = model.text;
  let lo = 0;
  let hi = openers.length - 1;
  let idx = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (openers[mid]! < offset) { idx = mid; lo = mid + 1; } else hi = mid - 1;
  }
  for (let i = idx, n = 0; i >= 0 && n < 64; i--, n++) {
    const open = openers[i]!;
    const close = pairs.get(open);
    if (close !== undefined && close < offset) continue;
    if (close === undefined && !plausiblyOpen(model, open, offset)) continue;
    const lineStart = model.lines.starts[model.positionAt(open).line]!;
    const m = HEADER.exec(text.slice(Math.max(0, lineStart - 0), open));
    if (m === null) return undefined; // innermost brace is a record or a for body
    const word = m[1]!.split(/\s/)[0] as DeclBlockKind;
    return { kind: word, open, ...(m[3] !== undefined ? { iommuKind: m[3] } : {}), ...(m[2] ?? m[4] ?? m[5] ? { name: m[2] ?? m[4] ?? m[5] } : {}) };
  }
  return undefined;
}

/** An unclosed `{` still holds the offset when every line after it up to the cursor is indented deeper than its own line. */
function plausiblyOpen(model: DocumentModel, open: number, offset: number): boolean {
  const first = model.positionAt(open).line;
  const last = model.positionAt(offset).line;
  if (last === first) return true;
  const indent = (s: string): number => s.length - s.trimStart().length;
  const base = indent(model.lines.lineText(first));
  for (let l = first + 1; l <= last; l++) {
    const s = model.lines.lineText(l);
    const trimmed = s.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('//')) continue;
    if (l === last && trimmed.length > 0 && model.positionAt(offset).character <= indent(s)) continue;
    if (indent(s) <= base) return false;
  }
  return true;
}

/** Where the statement holding the offset starts: its line, or earlier lines it continues. */
function statementStart(model: DocumentModel, offset: number): number {
  const tree = model.statementAt(offset, true);
  const line = model.positionAt(offset).line;
  let start = model.lines.starts[line]!;
  if (tree !== undefined && tree.kind !== 'for' && tree.span.start < start) start = tree.span.start;
  // An unparsed statement may still continue earlier lines: `\`, or an open bracket or comma at their end.
  for (let l = model.positionAt(start).line - 1, n = 0; l >= 0 && n < 50; l--, n++) {
    const prev = model.lines.lineText(l).replace(/(#|\/\/).*$/, '').trimEnd();
    if (!/[\\,([]$|(?:[+\-*/%&|^=<>]|\.\.)$/.test(prev)) break;
    start = model.lines.starts[l]!;
  }
  return start;
}

const OPERATORS = new Set(['+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<<', '>>', '==', '!=', '<', '<=', '>', '>=', '&&', '||', '=', '..', ',', '(', '[', ':', '->']);

function kindOfObject(model: DocumentModel, toks: Token[], offset: number): ValueKind | undefined {
  // toks ends just before the `.`: ident, ident[...], or f(...).
  const last = toks[toks.length - 1];
  if (last === undefined) return undefined;
  if (last.kind === 'ident') return model.kindOf(last.text, offset);
  const closer = last.kind;
  if (closer !== ']' && closer !== ')') return undefined;
  const opener = closer === ']' ? '[' : '(';
  let depth = 0;
  for (let i = toks.length - 1; i >= 0; i--) {
    const k = toks[i]!.kind;
    if (k === closer) depth++;
    else if (k === opener && --depth === 0) {
      const before = toks[i - 1];
      if (before?.kind !== 'ident') return undefined;
      if (opener === '(') return BUILTINS.get(before.text)?.returns;
      const base = model.kindOf(before.text, offset);
      return base === 'sg' ? 'sg_entry' : undefined;
    }
  }
  return undefined;
}

/** Analyses the text before `offset`. `forSignature`: also inside strings and numbers (signature help). */
export function cursorInfo(model: DocumentModel, offset: number, forSignature = false): CursorInfo {
  const text = model.text;
  const o = Math.max(0, Math.min(text.length, offset));
  let wordStart = o;
  while (wordStart > 0 && isWord(text.charCodeAt(wordStart - 1))) wordStart--;
  // A word cannot start with a digit: `0x1` is a number, not something to complete.
  let wordEnd = o;
  while (wordEnd < text.length && isWord(text.charCodeAt(wordEnd))) wordEnd++;
  let dashedStart = wordStart;
  while (dashedStart > 1 && text.charCodeAt(dashedStart - 1) === 45 && isWord(text.charCodeAt(dashedStart - 2))) {
    dashedStart--;
    while (dashedStart > 0 && isWord(text.charCodeAt(dashedStart - 1))) dashedStart--;
  }
  let after = wordEnd;
  while (after < text.length && (text.charCodeAt(after) === 32 || text.charCodeAt(after) === 9)) after++;
  const base = { prefix: text.slice(wordStart, o), wordStart, wordEnd, dashedStart, followedByParen: text.charCodeAt(after) === 40 };
  const line = model.positionAt(o).line;
  const lineStart = model.lines.starts[line]!;
  if (!forSignature && inCommentOrString(text, lineStart, o)) return { ctx: { kind: 'none' }, ...base };
  if (!forSignature && /^[0-9]/.test(base.prefix)) return { ctx: { kind: 'none' }, ...base };

  const block = declBlockAt(model, wordStart);
  if (block !== undefined) return { ctx: blockContext(model, block, wordStart, dashedStart, o), ...base };

  const ctx = statementContext(model, wordStart);
  if (dashedStart < wordStart && ctx.kind === 'none') {
    // `arm-sm|`: the dashed word is one IOMMU kind (or bus) being typed.
    const dashed = statementContext(model, dashedStart);
    if (dashed.kind === 'iommu-kind' || dashed.kind === 'bus') return { ctx: dashed, ...base };
  }
  return { ctx, ...base };
}

function statementContext(model: DocumentModel, wordStart: number): CursorContext {
  const text = model.text;
  const start = statementStart(model, wordStart);
  let toks = lexRange(text, start, wordStart);
  // A `{` of a for body, a `}` or `;` at depth 0 starts a new statement.
  let depth = 0;
  let cut = 0;
  for (let i = 0; i < toks.length; i++) {
    const k = toks[i]!.kind;
    if (k === '(' || k === '[') depth++;
    else if ((k === ')' || k === ']') && depth > 0) depth--;
    else if (depth === 0 && (k === ';' || k === '}' || k === 'newline')) cut = i + 1;
    else if (depth === 0 && k === '{' && toks[0]?.text === 'for') cut = i + 1;
  }
  toks = toks.slice(cut).filter((t) => t.kind !== 'newline');
  return expressionContext(model, toks, wordStart);
}

function blockContext(model: DocumentModel, block: BlockInfo, wordStart: number, dashedStart: number, offset: number): CursorContext {
  const text = model.text;
  // The key being written starts after the last `{`, `;` or line break before the cursor.
  let segStart = dashedStart;
  while (segStart > block.open + 1) {
    const c = text.charCodeAt(segStart - 1);
    if (c === 59 || c === 10 || c === 13 || c === 123) break;
    segStart--;
  }
  const toks = lexRange(text, segStart, wordStart).filter((t) => t.kind !== 'newline');
  if (block.kind === 'mm') {
    if (toks.length === 0) return { kind: 'mm-map', step: 'keyword' };
    const arrow = toks.findIndex((t) => t.kind === '->');
    const sizeKw = toks.findIndex((t) => t.kind === 'ident' && t.text === 'size' && t !== toks[0]);
    if (sizeKw >= 0 && toks.length >= sizeKw + 2) return { kind: 'mm-map', step: 'perm' };
    if (arrow >= 0 && arrow === toks.length - 1) return { kind: 'mm-map', step: 'target' };
    return { kind: 'mm-map', step: 'other' };
  }
  const used: string[] = [];
  // Keys already written in this block (so completion can leave them out).
  const close = model.braces.pairs.get(block.open) ?? Math.min(text.length, offset + 4000);
  for (const t of lexRange(text, block.open + 1, close)) {
    if (t.kind === 'ident' && /^\s*=/.test(text.slice(t.end, t.end + 8)) && t.start !== wordStart) used.push(t.text);
  }
  const iommuKind = block.iommuKind;
  if (toks.length === 0) return { kind: 'decl-key', decl: block.kind, iommuKind, used };
  const first = toks[0]!;
  if (first.kind === 'ident' && toks[1]?.kind === '=') {
    const inList = toks.slice(2).some((t) => t.kind === '[') && !toks.slice(2).some((t) => t.kind === ']');
    const last = toks[toks.length - 1]!;
    if (toks.length === 2 || OPERATORS.has(last.kind)) return { kind: 'decl-value', decl: block.kind, key: first.text, iommuKind, inList, declName: block.name };
  }
  return { kind: 'none' };
}

function expressionContext(model: DocumentModel, toks: Token[], offset: number): CursorContext {
  const last = toks[toks.length - 1];
  if (last?.kind === '.') return { kind: 'member', objectKind: kindOfObject(model, toks.slice(0, -1), offset) };
  // Innermost open bracket.
  const stack: { kind: '(' | '[' | '{'; index: number }[] = [];
  for (let i = 0; i < toks.length; i++) {
    const k = toks[i]!.kind;
    if (k === '(' || k === '[' || k === '{') stack.push({ kind: k, index: i });
    else if (k === ')' || k === ']' || k === '}') stack.pop();
  }
  const top = stack[stack.length - 1];
  if (top !== undefined) {
    const inner = toks.slice(top.index + 1);
    // Split the bracket's content at its own top-level commas.
    let d = 0;
    let argFrom = 0;
    for (let i = 0; i < inner.length; i++) {
      const k = inner[i]!.kind;
      if (k === '(' || k === '[' || k === '{') d++;
      else if (k === ')' || k === ']' || k === '}') d--;
      else if (k === ',' && d === 0) argFrom = i + 1;
    }
    const argTokens = inner.slice(argFrom);
    const calleeTok = toks[top.index - 1];
    const callee = calleeTok?.kind === 'ident' && top.kind === '(' ? calleeTok.text : undefined;
    if (top.kind === '{') {
      // A record: field name at the start of a field, else its value.
      if (argTokens.length === 0) return { kind: 'record-field', callee: enclosingCallee(toks, top.index) };
      return operandExpected(argTokens) ? { kind: 'expression' } : { kind: 'none' };
    }
    if (callee !== undefined) {
      const named = argTokens[0]?.kind === 'ident' && argTokens[1]?.kind === '=' ? argTokens[0].text : undefined;
      const rest = named !== undefined ? argTokens.slice(2) : argTokens;
      const afterOperand = rest.length > 0 && !operandExpected(rest);
      // Positional arguments before this one: commas minus named arguments already written.
      let positional = 0;
      d = 0;
      let argStartIdx = 0;
      for (let i = 0; i <= inner.length; i++) {
        const k = i < inner.length ? inner[i]!.kind : ',';
        if (k === '(' || k === '[' || k === '{') d++;
        else if (k === ')' || k === ']' || k === '}') d--;
        else if (k === ',' && d === 0) {
          if (i < inner.length) {
            const a = inner.slice(argStartIdx, i);
            if (!(a[0]?.kind === 'ident' && a[1]?.kind === '=')) positional++;
          }
          argStartIdx = i + 1;
        }
      }
      return { kind: 'argument', frame: { callee, open: toks[top.index]!.start, argIndex: positional, ...(named !== undefined ? { named } : {}), argTokens: rest, afterOperand } };
    }
    return operandExpected(argTokens) ? { kind: 'expression' } : { kind: 'none' };
  }
  const words = toks.map((t) => (t.kind === 'ident' ? t.text : t.kind === 'string' ? '"' : t.kind));
  const w0 = words[0];
  if (toks.length === 0) return { kind: 'statement-start' };
  if (w0 === 'expect') {
    if (toks.length === 1) return { kind: 'expect-form' };
    const w1 = words[1];
    if (w1 === 'error') {
      if (toks.length === 2) return { kind: 'expect-errno' };
      if (toks.length === 3 || (toks.length === 4 && words[2] === '-')) return toks.length === 3 ? { kind: 'expect-call', mode: 'error' } : { kind: 'none' };
    }
    if ((w1 === 'fault' || w1 === 'stale') && toks.length === 2) return { kind: 'expect-call', mode: w1 };
    if (w1 === 'violation' && toks.length === 3 && words[2] === '"') return { kind: 'expect-call', mode: 'violation' };
    if (w1 === 'violation' && toks.length === 4 && (words[2] === 'kernel' || words[2] === 'dmascope') && words[3] === '"') return { kind: 'expect-call', mode: 'violation' };
    if (w1 === 'violations' && toks.length >= 3 && words[toks.length - 1] === ']') return { kind: 'expect-call', mode: 'violation' };
    if (w1 === '!' && words[2] === 'violation' && toks.length === 3) return { kind: 'expect-call', mode: 'violation' };
    if (w1 === 'bounced' && toks.length === 2) return { kind: 'expect-bounced' };
    if (w1 === '!' && words[2] === 'bounced' && toks.length === 3) return { kind: 'expect-bounced' };
    if ((w1 === 'log' && toks.length === 3 && words[2] === '"') || (w1 === '!' && words[2] === 'log' && toks.length === 4 && words[3] === '"')) return { kind: 'expect-call', mode: 'log' };
    if (w1 === 'no_leaks' || w1 === 'violation' || w1 === 'violations' || w1 === 'fault' || w1 === 'stale' || w1 === 'error' || w1 === 'log') return { kind: 'none' };
  }
  if ((w0 === 'iommu' || w0 === 'device') && toks.length === 3 && toks[1]!.kind === 'ident' && words[2] === ':') return { kind: w0 === 'iommu' ? 'iommu-kind' : 'bus' };
  if (w0 === 'checkpoint' || w0 === 'platform' || w0 === 'mm' || ((w0 === 'iommu' || w0 === 'device') && toks[1]?.kind === 'ident' && toks[2]?.kind !== '=')) return { kind: 'none' };
  if (w0 === 'for' && toks.length < 3) return { kind: 'none' };
  return operandExpected(toks) ? { kind: 'expression' } : { kind: 'none' };
}

/** The call a bracket at `index` sits in, if any. */
function enclosingCallee(toks: Token[], index: number): string | undefined {
  let depth = 0;
  for (let i = index - 1; i >= 0; i--) {
    const k = toks[i]!.kind;
    if (k === ')' || k === ']' || k === '}') depth++;
    else if (k === '(' || k === '[' || k === '{') {
      if (depth === 0) {
        if (k === '(') return toks[i - 1]?.kind === 'ident' ? toks[i - 1]!.text : undefined;
      } else depth--;
    }
  }
  return undefined;
}

/** True when the tokens end where an operand may start (after an operator, `(`, `=`, a keyword). */
function operandExpected(toks: Token[]): boolean {
  const last = toks[toks.length - 1];
  if (last === undefined) return true;
  if (OPERATORS.has(last.kind)) return true;
  if (last.kind === 'ident' && ['expect', 'print', 'in', 'bounced', 'fault', 'stale', 'error'].includes(last.text)) return true;
  return false;
}
