// Recursive-descent parser with error recovery. One mistake never hides the
// rest: a bad statement is reported with a precise range and parsing resumes
// at the next line (or `;` / `}`), a bad key inside a declaration skips only
// that key, and unclosed brackets or braces are reported at the opener and
// closed where the layout says they should have been. Nesting is capped so
// hostile input cannot overflow the stack, and nothing here throws to callers.

import type {
  Span, Name, Expr, Ident, CallExpr, NamedArg, StringLit, RecordField, KeyValue, MmMapping,
  Statement, Program, PlatformDecl, IommuDecl, DeviceDecl, MmDecl, ForStmt, ExpectStmt,
  PrintStmt, CheckpointStmt, IndexExpr, BinaryOp, UnaryOp, CaptureTarget,
} from './ast';
import type { Diagnostic } from './run-result';
import {
  type TokenKind, joinSpans, spanAfter, makeDiagnostic, describeToken, pushCapped, RESERVED_WORDS,
} from './tokens';
import { Lexer, matchBraces } from './lexer';
import { K_EOF, K_NEWLINE, TOKEN_KINDS, type TokenTable } from './token-table';
import {
  Located, NameNode, NumberNode, StringNode, BytesNode, BoolNode, IdentNode, UnaryNode, BinaryNode, RangeNode, MemberNode,
  IndexNode, ListNode, FieldNode, RecordNode, CallNode, SgEntryNode, AssignNode, ExprStmtNode, ExpectValueNode,
} from './syntax-nodes';

/** A token: its row in the lexer's TokenTable. */
type Token = number;
import { scenarioTooLarge } from './limits';

/** Deepest bracket/block/operator nesting accepted; keeps every tree walk far from the JS stack limit. */
export const MAX_NESTING = 200;

export interface ParseResult {
  program: Program;
  diagnostics: Diagnostic[];
}

/** Thrown inside the parser after a diagnostic was recorded; caught at the nearest recovery point. */
class SyntaxFailure {}
const FAIL = new SyntaxFailure();

/** What primary() returns for a name followed by `(`: postfix() turns it into the call at once, so no reader ever sees it. */
const CALLEE: Expr = { kind: 'error', span: { start: 0, end: 0, line: 1, column: 1, endLine: 1, endColumn: 1 } };

/** The `named` list of every call without named arguments (most calls): one shared array, never written to, instead of one per call. */
const NO_NAMED_ARGS: NamedArg[] = [];

/**
 * `list` at its exact length. An array filled by push() reserves room for
 * 16 or more elements; the tree keeps a copy of the used part, so a parse's
 * tree (which survives the young generation) carries no empty slots.
 */
function exact<T>(list: T[]): T[] {
  return list.length === 0 ? [] : list.slice();
}

/** Binary operator precedence, C's order (higher binds tighter); 0 for other tokens. `..` sits below all. */
function binaryPrec(k: TokenKind): number {
  switch (k) {
    case '||': return 1;
    case '&&': return 2;
    case '|': return 3;
    case '^': return 4;
    case '&': return 5;
    case '==': case '!=': return 6;
    case '<': case '<=': case '>': case '>=': return 7;
    case '<<': case '>>': return 8;
    case '+': case '-': return 9;
    case '*': case '/': case '%': return 10;
    default: return 0;
  }
}
/** binaryPrec() of each token kind, by row code: one load per operand instead of a string switch. */
const PREC_BY_CODE: Uint8Array = Uint8Array.from(TOKEN_KINDS, binaryPrec);
/** The words statement() tells apart (statement keywords and reserved words), by length. */
const STATEMENT_WORDS_BY_LENGTH: (string[] | undefined)[] = [];
for (const w of new Set(['platform', 'iommu', 'device', 'mm', 'for', 'expect', 'print', 'checkpoint', ...RESERVED_WORDS])) (STATEMENT_WORDS_BY_LENGTH[w.length] ??= []).push(w);
const COMPARISON = new Set<string>(['==', '!=', '<', '<=', '>', '>=']);
const BITWISE = new Set<string>(['&', '|', '^']);

function isStatementEnd(k: TokenKind): boolean {
  return k === 'newline' || k === ';' || k === 'eof' || k === '}';
}

class Parser {
  /** The lexer's rows; the parser reads tokens by row. */
  private readonly tt: TokenTable;
  /** Row of the next raw token (newlines included) not consumed yet. */
  private cur = 0;
  /** >0 inside `(`, `[` or a record `{` of an expression: newlines there are insignificant. */
  private nl = 0;
  private depth = 0;
  /** Column of the first token of the statement (or key) being parsed: the layout hint for unclosed brackets. */
  private stmtColumn = 1;
  /** Inside declaration values: `dma-fq`, `arm-smmu-v3` read as one word. */
  private wordMode = false;
  private last: Token;
  /** Row of the name primary() saw followed by `(` and returned CALLEE for. */
  private calleeRow: Token = 0;
  /** Height of the expression the last expression parser returned (a side channel: no per-node bookkeeping). */
  private h = 1;
  /** Comparisons written in parentheses, so `(a == b) & c` draws no precedence warning. */
  private readonly parenthesized = new Set<Expr>();
  /** `{` offset -> matching `}` offset; a `{` missing here is never closed. */
  private readonly braces: Map<number, number>;
  /** Argument buffers of calls being parsed, for reuse (a call that fails drops its buffer). */
  private readonly argBuffers: Expr[][] = [];
  /** Line breaks skipped inside brackets during this statement, each with the token after it. */
  private skipped: { nl: Token; next: Token }[] = [];

  constructor(private readonly lexer: Lexer, source: string, readonly diagnostics: Diagnostic[]) {
    this.tt = lexer.table;
    this.braces = matchBraces(source);
    this.last = this.raw(0);
  }

  // ---- token access --------------------------------------------------------

  /** The k-th raw token ahead (newlines included); lexed on first use. */
  private raw(k: number): Token {
    const i = this.cur + k;
    const tt = this.tt;
    while (i >= tt.count) {
      const row = this.lexer.scan();
      if (tt.code(row) === K_EOF) return row;
    }
    return i;
  }

  private consumeRaw(): Token {
    const t = this.raw(0);
    if (this.tt.code(t) !== K_EOF) this.cur = t + 1;
    return t;
  }

  /** Continues from `t`, a token read earlier. */
  private restartAt(t: Token): void {
    this.cur = t;
  }

  private kind(t: Token): TokenKind {
    return this.tt.kind(t);
  }

  private text(t: Token): string {
    return this.tt.text(t);
  }

  private spanOf(t: Token): Span {
    return this.tt.span(t);
  }

  private describe(t: Token): string {
    return describeToken(this.tt.kind(t), this.tt.text(t));
  }

  private get tok(): Token {
    if (this.nl > 0) {
      while (this.tt.code(this.raw(0)) === K_NEWLINE) {
        const nl = this.consumeRaw();
        this.skipped.push({ nl, next: this.raw(0) });
      }
    }
    return this.raw(0);
  }

  /** The k-th token after the current one (newlines skipped where they are insignificant). */
  private peek(k: number): Token {
    const skipNewlines = this.nl > 0;
    let j = 0;
    if (skipNewlines) while (this.tt.code(this.raw(j)) === K_NEWLINE) j++;
    for (let n = 0; n < k; n++) {
      if (this.tt.code(this.raw(j)) !== K_EOF) j++;
      if (skipNewlines) while (this.tt.code(this.raw(j)) === K_NEWLINE) j++;
    }
    return this.raw(j);
  }

  private advance(): Token {
    const t = this.tok;
    this.consumeRaw();
    this.last = t;
    return t;
  }

  private report(span: Span, message: string, code = 'parse', severity: 'error' | 'warning' = 'error'): void {
    pushCapped(this.diagnostics, makeDiagnostic(span, code, message, severity));
  }

  private fail(span: Span, message: string): never {
    this.report(span, message);
    throw FAIL;
  }

  private failAt(t: Token, expected: string): never {
    // The lexer already reported the bad characters; a second message would only repeat it.
    if (this.kind(t) === 'invalid') throw FAIL;
    this.fail(this.spanOf(t), `expected ${expected}, found ${this.describe(t)}`);
  }

  private expectKind(kind: TokenKind, expected: string): Token {
    if (this.kind(this.tok) !== kind) this.failAt(this.tok, expected);
    return this.advance();
  }

  private name(expected: string): Name {
    const t = this.tok;
    if (this.kind(t) !== 'ident') this.failAt(t, expected);
    this.advance();
    return new NameNode(this.tt, t, t, this.text(t));
  }

  /** An identifier, joined with `-`-separated identifiers that touch it (`arm-smmu-v3`). */
  private word(expected: string): Name {
    const first = this.tok;
    if (this.kind(first) !== 'ident') this.failAt(first, expected);
    this.advance();
    let text = this.text(first);
    let end = first;
    for (;;) {
      const dash = this.raw(0);
      const next = this.raw(1);
      if (this.kind(dash) !== '-' || this.tt.start(dash) !== this.tt.end(end) || this.kind(next) !== 'ident' || this.tt.start(next) !== this.tt.end(dash)) break;
      text += '-' + this.text(next);
      this.consumeRaw();
      this.consumeRaw();
      end = next;
      this.last = next;
    }
    return new NameNode(this.tt, first, end, text);
  }

  /** From token `start` to the end of the last consumed token. */
  private spanFrom(start: Token): Span {
    return this.tt.rangeSpan(start, this.last);
  }


  private enter(at: Span | Token): void {
    // A token is taken as is: its span is built only on the failure path, not once per bracket.
    if (++this.depth > MAX_NESTING) this.fail(typeof at === 'number' ? this.spanOf(at) : at, `nesting deeper than ${MAX_NESTING} levels`);
  }

  private leave(): void {
    this.depth--;
  }

  /** Sets the height of a new node; refuses trees deeper than MAX_NESTING (long operator chains). */
  private grow<T extends Expr>(node: T, height: number): T {
    if (height > MAX_NESTING) this.fail(node.span, `expression nests deeper than ${MAX_NESTING} levels`);
    this.h = height;
    return node;
  }

  /** Skips to the end of the current statement (not consuming the newline/`;`/`}`), hopping over whole `{ }` blocks. */
  private recover(): void {
    this.nl = 0;
    for (;;) {
      const t = this.raw(0);
      if (this.kind(t) === 'eof' || this.kind(t) === 'newline' || this.kind(t) === ';' || this.kind(t) === '}') return;
      this.consumeRaw();
      const close = this.kind(t) === '{' ? this.braces.get(this.tt.start(t)) : undefined;
      if (close !== undefined) {
        while (this.kind(this.raw(0)) !== 'eof' && this.tt.start(this.raw(0)) !== close) this.consumeRaw();
        this.consumeRaw();
      }
    }
  }

  private skipSeparators(alsoComma = false): void {
    for (;;) {
      const k = this.kind(this.raw(0));
      if (k === 'newline' || k === ';' || (alsoComma && k === ',')) this.consumeRaw();
      else return;
    }
  }

  /** Runs `fn`; on a syntax failure restores parser modes, skips the rest of the statement and returns undefined. */
  private guarded<T>(fn: () => T): T | undefined {
    const nl = this.nl;
    const depth = this.depth;
    const wordMode = this.wordMode;
    try {
      return fn();
    } catch (e) {
      if (e !== FAIL) throw e;
      this.nl = nl;
      this.depth = depth;
      this.wordMode = wordMode;
      this.recover();
      return undefined;
    }
  }

  // ---- program and statements ----------------------------------------------

  parseProgram(sourceLength: number): Program {
    const body: Statement[] = [];
    for (;;) {
      this.skipSeparators();
      const t = this.raw(0);
      if (this.kind(t) === 'eof') break;
      if (this.kind(t) === '}') {
        this.report(this.spanOf(t), "unmatched '}'");
        this.consumeRaw();
        continue;
      }
      const s = this.statementGuarded();
      if (s !== undefined) body.push(s);
    }
    const end = this.raw(0);
    const span: Span = { start: 0, end: sourceLength, line: 1, column: 1, endLine: this.tt.line(end), endColumn: this.tt.column(end) };
    return { kind: 'program', body, span };
  }

  private statementGuarded(): Statement | undefined {
    this.stmtColumn = this.tt.column(this.raw(0));
    if (this.nl === 0 && this.skipped.length > 0) this.skipped = [];
    return this.guarded(this.statementFn);
  }

  // Bound once: a closure per statement would be garbage on every line.
  private readonly exprFn = (): Expr => this.expr();
  private readonly statementFn = (): Statement => {
    const s = this.statement();
    this.endOfStatement();
    return s;
  };
  private readonly entryFn = (): KeyValue => this.entry();
  private readonly mmMappingFn = (): MmMapping => this.mmMapping();
  private readonly entryGuardedFn = (): KeyValue | undefined => this.guarded(this.entryFn);
  private readonly mmGuardedFn = (): MmMapping | undefined => this.guarded(this.mmMappingFn);
  private readonly statementGuardedFn = (): Statement | undefined => this.statementGuarded();

  private endOfStatement(): void {
    const t = this.raw(0);
    // firstOnLine: a block closed by layout already consumed the line break.
    if (isStatementEnd(this.kind(t)) || this.tt.firstOnLine(t)) return;
    if (this.kind(t) !== 'invalid') this.report(this.spanOf(t), `expected end of line after the statement, found ${this.describe(t)}`);
    this.recover();
  }

  private statement(): Statement {
    const t = this.tok;
    if (this.kind(t) === 'ident') {
      const next = this.peek(1);
      const word = this.statementWord(t);
      if (word !== undefined && RESERVED_WORDS.has(word) && this.kind(next) === '=') this.fail(this.spanOf(t), `'${word}' is a reserved word and cannot be assigned`);
      switch (word) {
        case 'platform': if (this.kind(next) === '{') return this.platformDecl(); break;
        case 'iommu': if (this.kind(next) === 'ident') return this.iommuDecl(); break;
        case 'device': if (this.kind(next) === 'ident') return this.deviceDecl(); break;
        case 'mm': if (this.kind(next) === 'ident') return this.mmDecl(); break;
        case 'for': return this.forStmt();
        case 'expect': return this.expectStmt();
        case 'print': return this.printStmt();
        case 'checkpoint': return this.checkpointStmt();
        default: break;
      }
    }
    const start = t;
    const expr = this.expr();
    if (this.kind(this.tok) !== '=') return new ExprStmtNode(this.tt, expr);
    const eq = this.advance();
    const target = this.assignTarget(expr);
    let value = this.guarded(this.exprFn);
    // Keep the assignment so the name stays defined; the value's diagnostic is already out.
    value ??= { kind: 'error', span: joinSpans(spanAfter(this.spanOf(eq)), this.spanOf(this.last)) };
    return new AssignNode(this.tt, start, this.last, target, value);
  }

  /** The keyword or reserved word token `t` is, compared in place; undefined for any other name (most statements: no text made here). */
  private statementWord(t: Token): string | undefined {
    const words = STATEMENT_WORDS_BY_LENGTH[this.tt.end(t) - this.tt.start(t)];
    if (words !== undefined) for (let i = 0; i < words.length; i++) if (this.tt.isWord(t, words[i]!)) return words[i];
    return undefined;
  }

  private assignTarget(e: Expr): Ident | IndexExpr {
    if (e.kind === 'ident') {
      if (RESERVED_WORDS.has(e.name)) this.fail(e.span, `'${e.name}' is a reserved word and cannot be assigned`);
      return e;
    }
    if (e.kind === 'index' && e.object.kind === 'ident') return e;
    this.fail(e.span, 'only a name (x = ...) or an element of a list (xs[i] = ...) can be assigned');
  }

  /** `{ item; item \n item }`. An unclosed `{` ends at the first line indented no deeper than `indentColumn`. */
  private block<T>(indentColumn: number, what: string, item: () => T | undefined, commaSeparates: boolean): T[] {
    const open = this.tok;
    if (this.kind(open) !== '{') this.failAt(open, `'{' to open the ${what}`);
    this.enter(open);
    const closed = this.braces.has(this.tt.start(open));
    this.advance();
    const items: T[] = [];
    for (;;) {
      this.skipSeparators(commaSeparates);
      const t = this.raw(0);
      if (this.kind(t) === '}') { this.advance(); break; }
      if (this.kind(t) === 'eof' || (!closed && this.tt.firstOnLine(t) && this.tt.column(t) <= indentColumn)) {
        this.report(this.spanOf(open), `unclosed '{' of the ${what}: add '}'`);
        break;
      }
      const it = item();
      if (it !== undefined) items.push(it);
    }
    this.leave();
    return exact(items);
  }

  private forStmt(): ForStmt {
    const kw = this.advance();
    const v = this.name('the loop variable after for');
    const variable: Ident = new IdentNode(this.tt, Located.firstRow(v), Located.lastRow(v), v.text);
    const inTok = this.tok;
    if (this.kind(inTok) !== 'ident' || this.text(inTok) !== 'in') this.failAt(inTok, "'in'");
    this.advance();
    const iterable = this.expr();
    const body = this.block(this.tt.column(kw), 'for loop', this.statementGuardedFn, false);
    return { kind: 'for', variable, iterable, body, span: this.spanFrom(kw) };
  }

  private printStmt(): PrintStmt {
    const kw = this.advance();
    if (isStatementEnd(this.kind(this.tok))) this.failAt(this.tok, 'an expression to print');
    const expr = this.expr();
    return { kind: 'print', expr, span: this.spanFrom(kw) };
  }

  private checkpointStmt(): CheckpointStmt {
    const kw = this.advance();
    const t = this.tok;
    if (this.kind(t) !== 'string') this.failAt(t, 'a label string, e.g. checkpoint "after map"');
    this.advance();
    return { kind: 'checkpoint', label: this.stringLit(t), span: this.spanFrom(kw) };
  }

  private expectStmt(): ExpectStmt {
    const kw = this.advance();
    const start = kw;
    const t = this.tok;
    const n = this.peek(1);
    if (this.kind(t) === 'ident') {
      switch (this.text(t)) {
        case 'no_leaks':
          if (isStatementEnd(this.kind(n))) { this.advance(); return { kind: 'expect', mode: 'no_leaks', span: this.spanFrom(start) }; }
          break;
        case 'fault':
        case 'stale':
          if (this.kind(n) === 'ident') {
            this.advance();
            const mode = this.text(t) === 'fault' ? 'fault' : 'stale';
            const { call, assign } = this.captureCallOperand(mode);
            return { kind: 'expect', mode, call, ...(assign ? { assign } : {}), span: this.spanFrom(start) };
          }
          break;
        case 'error':
          if (this.kind(n) === 'ident' || this.kind(n) === 'number' || this.kind(n) === '-') {
            this.advance();
            const errno = this.unary();
            const { call, assign } = this.captureCallOperand('error ERRNO');
            return { kind: 'expect', mode: 'error', errno, call, ...(assign ? { assign } : {}), span: this.spanFrom(start) };
          }
          break;
        case 'violation': {
          const origin = this.tt.isWord(n, 'kernel') ? 'kernel' : this.tt.isWord(n, 'dmascope') ? 'dmascope' : undefined;
          if (origin !== undefined && this.kind(this.peek(2)) !== 'string') break;
          if (this.kind(n) === 'string' || origin) {
            this.advance();
            if (origin) this.advance();
            const text = this.stringLit(this.advance());
            if (isStatementEnd(this.kind(this.tok))) return { kind: 'expect', mode: 'violation', text, ...(origin ? { origin } : {}), span: this.spanFrom(start) };
            const { call, assign } = this.captureCallOperand(`violation ${origin ? `${origin} ` : ''}"..."`);
            return { kind: 'expect', mode: 'violation', text, ...(origin ? { origin } : {}), call, ...(assign ? { assign } : {}), span: this.spanFrom(start) };
          }
          break;
        }
        case 'violations':
          if (this.kind(n) === '[') {
            this.advance();
            const texts = this.stringList();
            const { call, assign } = this.captureCallOperand('violations [...]');
            return { kind: 'expect', mode: 'findings', texts, call, ...(assign ? { assign } : {}), span: this.spanFrom(start) };
          }
          break;
        case 'log':
          if (this.kind(n) === 'string') return this.expectLog(start, false);
          break;
        case 'bounced':
          if (this.kind(n) === 'ident' || this.kind(n) === 'number' || this.kind(n) === '(') {
            this.advance();
            const expr = this.expr();
            return { kind: 'expect', mode: 'bounced', negated: false, expr, span: this.spanFrom(start) };
          }
          break;
        default: break;
      }
    }
    if (this.kind(t) === '!' && this.kind(n) === 'ident' && this.text(n) === 'log' && this.kind(this.peek(2)) === 'string') {
      this.advance();
      return this.expectLog(start, true);
    }
    if (this.kind(t) === '!' && this.kind(n) === 'ident' && this.text(n) === 'violation' && this.kind(this.peek(2)) === 'ident') {
      this.advance();
      this.advance();
      const { call, assign } = this.captureCallOperand('!violation');
      return { kind: 'expect', mode: 'findings', texts: [], call, ...(assign ? { assign } : {}), span: this.spanFrom(start) };
    }
    if (this.kind(t) === '!' && this.kind(n) === 'ident' && this.text(n) === 'bounced') {
      const after = this.kind(this.peek(2));
      if (after === 'ident' || after === 'number' || after === '(') {
        this.advance();
        this.advance();
        const expr = this.expr();
        return { kind: 'expect', mode: 'bounced', negated: true, expr, span: this.spanFrom(start) };
      }
    }
    if (isStatementEnd(this.kind(t))) {
      this.fail(this.spanOf(t), 'expect needs a condition: expect EXPR, expect fault CALL, expect error ERRNO CALL, expect violation "text" CALL, expect violations ["text", ...] CALL, expect stale CALL, expect bounced EXPR, expect log "text" or expect no_leaks');
    }
    const expr = this.expr();
    return new ExpectValueNode(this.tt, start, this.last, expr);
  }

  /** `log "text" [CALL]`, the current token being `log`. */
  private expectLog(start: Token, negated: boolean): ExpectStmt {
    this.advance();
    const text = this.stringLit(this.advance());
    const call = isStatementEnd(this.kind(this.tok)) ? undefined : this.callOperand(`${negated ? '!' : ''}log "..."`);
    return { kind: 'expect', mode: 'log', negated, text, ...(call ? { call } : {}), span: this.spanFrom(start) };
  }

  /** `CALL` or `NAME = CALL` (the call's value is kept in NAME). */
  private captureCallOperand(form: string): { call: CallExpr; assign?: CaptureTarget } {
    const t = this.tok;
    if (this.kind(t) === 'ident' && this.kind(this.peek(1)) === '=') {
      if (RESERVED_WORDS.has(this.text(t))) this.fail(this.spanOf(t), `'${this.text(t)}' is a reserved word and cannot be assigned`);
      this.advance();
      this.advance();
      return { call: this.callOperand(form), assign: { name: this.text(t), span: this.spanOf(t) } };
    }
    return { call: this.callOperand(form) };
  }

  /** `["text", ...]`: the strings of `expect violations`. */
  private stringList(): StringLit[] {
    this.advance();
    const out: StringLit[] = [];
    const kind = (): TokenKind => this.kind(this.tok);
    while (kind() === 'string') {
      out.push(this.stringLit(this.advance()));
      if (kind() !== ',') break;
      this.advance();
    }
    if (kind() !== ']') this.failAt(this.tok, 'a string or ] in the list of expected findings');
    this.advance();
    return out;
  }

  private callOperand(form: string): CallExpr {
    const e = this.expr();
    if (e.kind !== 'call') this.fail(e.span, `'expect ${form}' needs a call here, e.g. dev_read(dev, addr, 4)`);
    return e;
  }

  // ---- declarations ---------------------------------------------------------

  /** Runs a declaration header; on a mistake reports it and resumes at a `{` on the same line, if any. */
  private header(fn: () => void): void {
    const saved = { nl: this.nl, depth: this.depth, wordMode: this.wordMode };
    try {
      fn();
    } catch (e) {
      if (e !== FAIL) throw e;
      this.nl = saved.nl;
      this.depth = saved.depth;
      this.wordMode = saved.wordMode;
      while (!isStatementEnd(this.kind(this.raw(0))) && this.kind(this.raw(0)) !== '{') this.consumeRaw();
    }
  }

  private entries(indentColumn: number, what: string): KeyValue[] {
    if (this.kind(this.tok) !== '{') return [];
    return this.block(indentColumn, what, this.entryGuardedFn, true);
  }

  private entry(): KeyValue {
    this.stmtColumn = this.tt.column(this.tok);
    if (this.skipped.length > 0) this.skipped = [];
    const key = this.name('a key name (key = value)');
    this.expectKind('=', `'=' after ${key.text}`);
    this.wordMode = true;
    const value = this.expr();
    this.wordMode = false;
    const t = this.raw(0);
    if (!isStatementEnd(this.kind(t)) && this.kind(t) !== ',') {
      this.report(this.spanOf(t), `expected ';' or a new line after the value of ${key.text}, found ${this.describe(t)}`);
      this.recover();
    }
    return { key, value, span: joinSpans(key.span, value.span) };
  }

  private platformDecl(): PlatformDecl {
    const kw = this.advance();
    const entries = this.entries(this.tt.column(kw), 'platform block');
    return { kind: 'platform', keyword: this.spanOf(kw), entries, span: this.spanFrom(kw) };
  }

  private missingName(at: Span): Name {
    return { text: '', span: spanAfter(at) };
  }

  private iommuDecl(): IommuDecl {
    const kw = this.advance();
    const name = this.name('the IOMMU name');
    let iommuKind = this.missingName(name.span);
    this.header(() => {
      this.expectKind(':', "':' and the IOMMU kind (iommu NAME : arm-smmu-v3 { ... })");
      iommuKind = this.word('the IOMMU kind (arm-smmu-v3, intel-vtd, amd-vi, apple-dart, generic, vduse, virtio-iommu)');
    });
    const entries = this.entries(this.tt.column(kw), `iommu ${name.text} block`);
    return { kind: 'iommu', name, iommuKind, entries, span: this.spanFrom(kw) };
  }

  private deviceDecl(): DeviceDecl {
    const kw = this.advance();
    const name = this.name('the device name');
    let bus = this.missingName(name.span);
    let id: StringLit = { kind: 'string', value: '', bytes: new Uint8Array(0), span: spanAfter(name.span) };
    this.header(() => {
      this.expectKind(':', "':' and the bus (device NAME : pci \"0000:01:00.0\" { ... })");
      bus = this.word('the bus (pci, platform or virtio)');
      const t = this.tok;
      if (this.kind(t) !== 'string') this.failAt(t, 'the device id string, e.g. "0000:01:00.0"');
      id = this.stringLit(this.advance());
    });
    const entries = this.entries(this.tt.column(kw), `device ${name.text} block`);
    return { kind: 'device', name, bus, id, entries, span: this.spanFrom(kw) };
  }

  private mmDecl(): MmDecl {
    const kw = this.advance();
    const name = this.name('the address space name');
    const maps = this.kind(this.tok) === '{'
      ? this.block(this.tt.column(kw), `mm ${name.text} block`, this.mmGuardedFn, true)
      : this.fail(this.spanOf(this.tok), `expected '{' with map lines, found ${this.describe(this.tok)}`);
    return { kind: 'mm', name, maps, span: this.spanFrom(kw) };
  }

  private mmMapping(): MmMapping {
    const usage = 'map ADDR -> BUFFER size SIZE PERM';
    const kw = this.tok;
    this.stmtColumn = this.tt.column(kw);
    if (this.skipped.length > 0) this.skipped = [];
    if (this.kind(kw) !== 'ident' || this.text(kw) !== 'map') this.failAt(kw, `'${usage}'`);
    this.advance();
    const addr = this.expr();
    this.expectKind('->', `'->' (${usage})`);
    const target = this.expr();
    const sz = this.tok;
    if (this.kind(sz) !== 'ident' || this.text(sz) !== 'size') this.failAt(sz, `'size' (${usage})`);
    this.advance();
    const size = this.expr();
    const perm = this.name(`a permission such as r, w or rw (${usage})`);
    const t = this.raw(0);
    if (!isStatementEnd(this.kind(t)) && this.kind(t) !== ',') this.failAt(t, "';' or a new line after the mapping");
    return { addr, target, size, perm, span: this.spanFrom(kw) };
  }

  // ---- expressions ----------------------------------------------------------

  private expr(): Expr {
    const left = this.binary(1);
    if (this.kind(this.tok) !== '..') return left;
    const lh = this.h;
    this.advance();
    const right = this.binary(1);
    return this.grow(new RangeNode(this.tt, left, right), Math.max(lh, this.h) + 1);
  }

  private binary(minPrec: number): Expr {
    let left = this.unary();
    let height = this.h;
    for (;;) {
      const opTok = this.tok;
      const prec = PREC_BY_CODE[this.tt.code(opTok)]!;
      if (prec === 0 || prec < minPrec) {
        this.h = height;
        return left;
      }
      this.advance();
      const right = this.binary(prec + 1);
      const op = this.kind(opTok) as BinaryOp;
      if (BITWISE.has(op)) this.warnPrecedence(op, left, right);
      height = Math.max(height, this.h) + 1;
      left = this.grow(new BinaryNode(this.tt, op, left, right), height);
    }
  }

  /** C's trap: `a & b == c` is `a & (b == c)`. gcc -Wparentheses warns; so do we. */
  private warnPrecedence(op: string, left: Expr, right: Expr): void {
    for (const side of [left, right]) {
      if (side.kind === 'binary' && COMPARISON.has(side.op) && !this.parenthesized.has(side)) {
        this.report(side.opSpan, `'${side.op}' binds tighter than '${op}' (as in C); add parentheses to say which you mean`, 'precedence', 'warning');
      }
    }
  }

  private unary(): Expr {
    const t = this.tok;
    if (this.kind(t) !== '-' && this.kind(t) !== '~' && this.kind(t) !== '!') return this.postfix();
    this.enter(t);
    this.advance();
    const operand = this.unary();
    this.leave();
    return this.grow(new UnaryNode(this.tt, t, this.kind(t) as UnaryOp, operand), this.h + 1);
  }

  private postfix(): Expr {
    let e = this.primary();
    let height = this.h;
    for (;;) {
      const t = this.tok;
      if (this.kind(t) === '(') {
        if (e === CALLEE) e = this.call(this.calleeRow, this.calleeRow, this.text(this.calleeRow));
        else if (e.kind !== 'ident') this.fail(this.spanOf(t), 'only builtin functions can be called (f(...))');
        else e = this.call(Located.firstRow(e), Located.lastRow(e), e.name);
        height = this.h;
      } else if (this.kind(t) === '[') {
        this.enter(t);
        const mark = this.skipped.length;
        this.advance();
        this.nl++;
        const index = this.expr();
        this.close(']', t, mark);
        this.nl--;
        this.leave();
        height = Math.max(height, this.h) + 1;
        e = this.grow(new IndexNode(this.tt, this.last, e, index), height);
      } else if (this.kind(t) === '.') {
        this.advance();
        const property = this.name('a member name after "."');
        height += 1;
        e = this.grow(new MemberNode(this.tt, this.last, e, property), height);
      } else {
        this.h = height;
        return e;
      }
    }
  }

  /** Consumes the closing bracket; an opener left open across a line break is reported at the opener. */
  private close(kind: TokenKind, open: Token, mark: number): Token {
    const t = this.tok;
    if (this.kind(t) === kind) return this.advance();
    const resume = this.unclosedResumePoint(mark, t);
    if (resume !== undefined) {
      // The bracket was left open across a line break: resume where the layout
      // says the next statement starts, not at the far end of the file.
      this.restartAt(resume);
      this.fail(this.spanOf(open), `unclosed '${this.kind(open)}': expected '${kind}' before the end of the line`);
    }
    this.failAt(t, `'${kind}' to close the '${this.kind(open)}' at column ${this.tt.column(open)}`);
  }

  /**
   * The line break where an unclosed bracket most likely ended: the first one
   * skipped since the bracket opened that is followed by a line indented no
   * deeper than the statement (closing brackets excepted), else the one just
   * before the current token; undefined when the bracket is on one line.
   */
  private unclosedResumePoint(mark: number, current: Token): Token | undefined {
    for (let j = mark; j < this.skipped.length; j++) {
      const { nl, next } = this.skipped[j]!;
      const closer = this.kind(next) === ')' || this.kind(next) === ']' || this.kind(next) === '}';
      if (!closer && this.tt.column(next) <= this.stmtColumn) return nl;
    }
    const lastSkip = this.skipped[this.skipped.length - 1];
    return lastSkip !== undefined && lastSkip.next === current && this.skipped.length > mark ? lastSkip.nl : undefined;
  }

  private primary(): Expr {
    const t = this.tok;
    this.h = 1;
    switch (this.kind(t)) {
      case 'number':
        this.advance();
        return new NumberNode(this.tt, t, this.tt.value(t), this.text(t));
      case 'string':
        this.advance();
        return this.stringLit(t);
      case 'bytes':
        this.advance();
        return new BytesNode(this.tt, t, this.tt.bytes(t) ?? new Uint8Array(0));
      case 'ident': {
        const isTrue = this.tt.isWord(t, 'true');
        if (isTrue || this.tt.isWord(t, 'false')) {
          this.advance();
          return new BoolNode(this.tt, t, isTrue);
        }
        if (this.wordMode) {
          const w = this.word('a name');
          return new IdentNode(this.tt, t, this.last, w.text);
        }
        this.advance();
        if (this.kind(this.tok) === '(') {
          // A call's name: postfix() makes the call, with no Ident node made and dropped for it.
          this.calleeRow = t;
          return CALLEE;
        }
        return new IdentNode(this.tt, t, t, this.text(t));
      }
      case '(': {
        this.enter(t);
        const mark = this.skipped.length;
        this.advance();
        this.nl++;
        const inner = this.expr();
        const height = this.h;
        this.close(')', t, mark);
        this.nl--;
        this.leave();
        if (inner.kind === 'binary' && COMPARISON.has(inner.op)) this.parenthesized.add(inner);
        this.h = height;
        return inner;
      }
      case '[':
        return this.list(t);
      case '{':
        return this.record(t);
      default:
        this.failAt(t, 'an expression');
    }
  }

  private stringLit(t: Token): StringLit {
    const lit: StringLit = new StringNode(this.tt, t, this.tt.str(t));
    if (this.tt.rawBytes(t)) lit.raw = true;
    return lit;
  }

  private list(open: Token): Expr {
    this.enter(open);
    const mark = this.skipped.length;
    this.advance();
    this.nl++;
    const items: Expr[] = [];
    let height = 1;
    while (this.kind(this.tok) !== ']') {
      items.push(this.expr());
      height = Math.max(height, this.h + 1);
      if (this.kind(this.tok) !== ',') break;
      this.advance();
    }
    this.close(']', open, mark);
    this.nl--;
    this.leave();
    return this.grow(new ListNode(this.tt, open, this.last, exact(items)), height);
  }

  private record(open: Token): Expr {
    this.enter(open);
    const mark = this.skipped.length;
    this.advance();
    this.nl++;
    const fields: RecordField[] = [];
    let height = 1;
    while (this.kind(this.tok) !== '}') {
      const name = this.name('a field name ({name = value, ...})');
      this.expectKind('=', `'=' after ${name.text}`);
      const value = this.expr();
      height = Math.max(height, this.h + 1);
      fields.push(new FieldNode(this.tt, name, value));
      const k = this.kind(this.tok);
      if (k !== ',' && k !== ';') break;
      this.advance();
    }
    this.close('}', open, mark);
    this.nl--;
    this.leave();
    return this.grow(new RecordNode(this.tt, open, this.last, fields), height);
  }

  /** A call of the name from row `first` to row `last` (`text`); the current token is its `(`. */
  private call(first: Token, last: Token, text: string): CallExpr {
    const open = this.tok;
    this.enter(open);
    const mark = this.skipped.length;
    this.advance();
    this.nl++;
    // Arguments gather in a reused buffer (its first `count` entries); the call keeps an exact copy (calls nest, so buffers come from a pool).
    const buffer = this.argBuffers.pop() ?? [];
    let count = 0;
    let named: NamedArg[] = NO_NAMED_ARGS;
    let height = 1;
    while (this.kind(this.tok) !== ')') {
      if (this.kind(this.tok) === 'ident' && this.kind(this.peek(1)) === '=') {
        const name = this.name('an argument name');
        this.advance();
        const value = this.expr();
        height = Math.max(height, this.h + 1);
        if (named === NO_NAMED_ARGS) named = [];
        named.push(new FieldNode(this.tt, name, value));
      } else {
        let e = this.expr();
        if (this.kind(this.tok) === ':') {
          const eh = this.h;
          this.advance();
          const length = this.expr();
          e = this.grow(new SgEntryNode(this.tt, e, length), Math.max(eh, this.h) + 1);
        }
        height = Math.max(height, this.h + 1);
        if (named.length > 0) this.report(e.span, 'positional arguments must come before named ones');
        buffer[count++] = e;
      }
      if (this.kind(this.tok) !== ',') break;
      this.advance();
    }
    const close = this.close(')', open, mark);
    this.nl--;
    this.leave();
    const name = new NameNode(this.tt, first, last, text);
    const node: CallExpr = new CallNode(this.tt, name, buffer.slice(0, count), named, close);
    // Not emptied: setting its length to 0 would drop its storage (the entries it still holds are in the tree anyway).
    this.argBuffers.push(buffer);
    return this.grow(node, height);
  }
}

/** Parses a scenario. Never throws; every problem is a diagnostic. */
export function parse(source: string): ParseResult {
  // Larger files get one diagnostic and are not parsed (src/lang/limits.ts).
  const tooLarge = scenarioTooLarge(source.length);
  if (tooLarge !== undefined) {
    const span: Span = { start: 0, end: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };
    return { program: { kind: 'program', body: [], span }, diagnostics: [makeDiagnostic(span, 'too-large', `${tooLarge}; it is not parsed`)] };
  }
  const lexer = new Lexer(source);
  const parser = new Parser(lexer, source, lexer.diagnostics);
  let program: Program;
  try {
    program = parser.parseProgram(source.length);
  } catch (e) {
    // A bug must not take the editor down: report it where the user can see it.
    const span: Span = { start: 0, end: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };
    program = { kind: 'program', body: [], span };
    parser.diagnostics.push(makeDiagnostic(span, 'internal', `internal parser error: ${e instanceof Error ? e.message : String(e)}`));
  }
  // Lexer and parser report as they go; readers want source order.
  const diagnostics = parser.diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
  return { program, diagnostics };
}
