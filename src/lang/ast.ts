// The syntax tree of a `.dmas` scenario. Every node carries its exact source
// span so diagnostics, hovers, code lenses and the debugger can point at it.
// Plain data to every reader (fields only, no methods): the tree is built once
// per edit and read by the checker, the interpreter and the editor features.
// The parser's nodes (syntax-nodes.ts) make `span` on first read, from token
// rows; a copy made by object spread has no `span`, so pass the node itself.
//
// Stability contract: the interpreter is written against this file. Changes
// must be additive (new optional fields, new union members documented below).

/**
 * A source range. `line`/`column` are 1-based and `endColumn` is exclusive
 * (one past the last character), the same convention as `Diagnostic` in
 * run-result.ts. Columns count UTF-16 code units, as editors do. `start`/`end`
 * are 0-based offsets into the source string (end exclusive).
 */
export interface Span {
  start: number;
  end: number;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** An identifier-like word with its own span (a declared name, a key, a kind word). */
export interface Name {
  text: string;
  span: Span;
}

// ---------------------------------------------------------------------------
// Expressions

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%'
  | '&' | '|' | '^' | '<<' | '>>'
  | '==' | '!=' | '<' | '<=' | '>' | '>='
  | '&&' | '||';

export type UnaryOp = '-' | '~' | '!';

/** Integer literal: exact unsigned 64-bit value (size suffixes already applied). */
export interface NumberLit {
  kind: 'number';
  value: bigint;
  /** Source text, e.g. `0x8_0000_0000` or `16K`. */
  raw: string;
  span: Span;
}

/** `"..."` with C escapes decoded. */
export interface StringLit {
  kind: 'string';
  /** Decoded text (each `\xNN`/octal escape becomes the char with that code). */
  value: string;
  /** The bytes the string stands for: UTF-8 of literal characters, raw bytes for `\x`/octal escapes. */
  bytes: Uint8Array;
  /** Set when an escape wrote a byte of 0x80 or more: the literal is then its bytes (`"\xff"` is one byte), not its text's UTF-8. */
  raw?: true;
  span: Span;
}

/** `hex"de ad be ef"`. */
export interface BytesLit {
  kind: 'bytes';
  bytes: Uint8Array;
  span: Span;
}

/** `true` / `false`. */
export interface BoolLit {
  kind: 'bool';
  value: boolean;
  span: Span;
}

/**
 * A name: a variable, a declared device/iommu/mm, a kernel constant, or (in
 * declaration values only) a word such as `dma-fq` or `arm-smmu-v3`: inside a
 * declaration, identifiers joined by `-` with no spaces form one word.
 */
export interface Ident {
  kind: 'ident';
  name: string;
  span: Span;
}

export interface UnaryExpr {
  kind: 'unary';
  op: UnaryOp;
  operand: Expr;
  span: Span;
}

export interface BinaryExpr {
  kind: 'binary';
  op: BinaryOp;
  left: Expr;
  right: Expr;
  /** Span of the operator token. */
  opSpan: Span;
  span: Span;
}

/** `a .. b`: inclusive start, exclusive end. Lowest precedence of all operators. */
export interface RangeExpr {
  kind: 'range';
  start: Expr;
  end: Expr;
  span: Span;
}

/** `a.b` */
export interface MemberExpr {
  kind: 'member';
  object: Expr;
  property: Name;
  span: Span;
}

/** `a[i]` */
export interface IndexExpr {
  kind: 'index';
  object: Expr;
  index: Expr;
  span: Span;
}

/** `[a, b]` */
export interface ListExpr {
  kind: 'list';
  items: Expr[];
  span: Span;
}

export interface RecordField {
  name: Name;
  value: Expr;
  span: Span;
}

/** `{key = v, ...}` in expression position. */
export interface RecordExpr {
  kind: 'record';
  fields: RecordField[];
  span: Span;
}

export interface NamedArg {
  name: Name;
  value: Expr;
  span: Span;
}

/**
 * `f(a, b, name = v)`. Only builtins are callable, so the callee is a Name.
 * Positional arguments come first; `named` keeps source order.
 */
export interface CallExpr {
  kind: 'call';
  callee: Name;
  args: Expr[];
  named: NamedArg[];
  /** Span of the parenthesised argument list, `(` to `)` inclusive. */
  argsSpan: Span;
  span: Span;
}

/**
 * `addr : len`, a scatterlist entry; only meaningful as an argument of
 * `sg_table` (e.g. `sg_table(buf + 0x200 : 0x600, buf2 : 4K)`).
 */
export interface SgEntryExpr {
  kind: 'sg_entry';
  addr: Expr;
  length: Expr;
  span: Span;
}

/** Placeholder where a syntax error was recovered from; a diagnostic was already reported. */
export interface ErrorExpr {
  kind: 'error';
  span: Span;
}

export type Expr =
  | NumberLit | StringLit | BytesLit | BoolLit | Ident
  | UnaryExpr | BinaryExpr | RangeExpr | MemberExpr | IndexExpr
  | ListExpr | RecordExpr | CallExpr | SgEntryExpr | ErrorExpr;

// ---------------------------------------------------------------------------
// Declarations (the machine)

/** `key = value` inside a declaration block. */
export interface KeyValue {
  key: Name;
  value: Expr;
  span: Span;
}

/** `platform { ... }` */
export interface PlatformDecl {
  kind: 'platform';
  /** The `platform` keyword. */
  keyword: Span;
  entries: KeyValue[];
  span: Span;
}

/** `iommu NAME : KIND { ... }` (KIND like `arm-smmu-v3`, kept as written). */
export interface IommuDecl {
  kind: 'iommu';
  name: Name;
  iommuKind: Name;
  entries: KeyValue[];
  span: Span;
}

/** `device NAME : BUS "id" { ... }` */
export interface DeviceDecl {
  kind: 'device';
  name: Name;
  bus: Name;
  id: StringLit;
  entries: KeyValue[];
  span: Span;
}

/** `map ADDR -> TARGET size SIZE PERM` inside `mm NAME { ... }`. */
export interface MmMapping {
  addr: Expr;
  target: Expr;
  size: Expr;
  /** Permission word made of r, w, x (e.g. `rw`). */
  perm: Name;
  span: Span;
}

/** `mm NAME { map ... }`: a process address space for SVA. */
export interface MmDecl {
  kind: 'mm';
  name: Name;
  maps: MmMapping[];
  span: Span;
}

export type Declaration = PlatformDecl | IommuDecl | DeviceDecl | MmDecl;

// ---------------------------------------------------------------------------
// Statements

/** `x = expr` or `xs[i] = expr` (the latter builds a list). */
export interface AssignStmt {
  kind: 'assign';
  /** An Ident, or an IndexExpr whose object is an Ident. */
  target: Ident | IndexExpr;
  value: Expr;
  span: Span;
}

/** A bare expression, usually a call. */
export interface ExprStmt {
  kind: 'expr';
  expr: Expr;
  span: Span;
}

/** `for i in 0 .. 16 { ... }`; the loop variable is visible in the body only. */
export interface ForStmt {
  kind: 'for';
  variable: Ident;
  iterable: Expr;
  body: Statement[];
  span: Span;
}

/** `expect EXPR`: the value must be truthy (non-zero / true / non-empty). */
export interface ExpectValue {
  kind: 'expect';
  mode: 'value';
  expr: Expr;
  span: Span;
}

/** `expect fault CALL`, `expect stale CALL`. */
export interface ExpectCall {
  kind: 'expect';
  mode: 'fault' | 'stale';
  call: CallExpr;
  assign?: CaptureTarget;
  span: Span;
}

/** `expect error ERRNO CALL`: the call must return -ERRNO. `errno` is an Ident such as EINVAL (or a number). */
export interface ExpectError {
  kind: 'expect';
  mode: 'error';
  errno: Expr;
  call: CallExpr;
  assign?: CaptureTarget;
  span: Span;
}

/**
 * `expect violation [kernel|dmascope] "substring" [CALL]`: a finding whose
 * message contains the text must fire (of that origin, when one is named):
 * from the call, or, without one, anywhere in the run so far.
 */
export interface ExpectViolation {
  kind: 'expect';
  mode: 'violation';
  text: StringLit;
  origin?: 'kernel' | 'dmascope';
  call?: CallExpr;
  /** `NAME = CALL`: the call's value is kept in NAME too. */
  assign?: CaptureTarget;
  span: Span;
}

/**
 * `expect violations ["a", "b"] CALL`: the call's findings are exactly these,
 * one each; `expect violations [] CALL` and `expect !violation CALL`: none.
 */
export interface ExpectFindings {
  kind: 'expect';
  mode: 'findings';
  texts: StringLit[];
  call: CallExpr;
  assign?: CaptureTarget;
  span: Span;
}

/** The NAME of `expect ... NAME = CALL`. */
export interface CaptureTarget {
  name: string;
  span: Span;
}

/** `expect bounced EXPR` / `expect !bounced EXPR`. */
export interface ExpectBounced {
  kind: 'expect';
  mode: 'bounced';
  negated: boolean;
  expr: Expr;
  span: Span;
}

/**
 * `expect log "text" [CALL]` / `expect !log "text" [CALL]`: a kernel log line
 * containing the text was (was not) printed: by the call when one is given,
 * else by the run so far. Some kernel messages are logs, not checks.
 */
export interface ExpectLog {
  kind: 'expect';
  mode: 'log';
  negated: boolean;
  text: StringLit;
  call?: CallExpr;
  span: Span;
}

/** `expect no_leaks` */
export interface ExpectNoLeaks {
  kind: 'expect';
  mode: 'no_leaks';
  span: Span;
}

export type ExpectStmt = ExpectValue | ExpectCall | ExpectError | ExpectViolation | ExpectFindings | ExpectBounced | ExpectLog | ExpectNoLeaks;
export type ExpectMode = ExpectStmt['mode'];

/** `print EXPR` */
export interface PrintStmt {
  kind: 'print';
  expr: Expr;
  span: Span;
}

/** `checkpoint "label"` */
export interface CheckpointStmt {
  kind: 'checkpoint';
  label: StringLit;
  span: Span;
}

export type Statement =
  | Declaration
  | AssignStmt | ExprStmt | ForStmt | ExpectStmt | PrintStmt | CheckpointStmt;

/**
 * A whole scenario. Statements that failed to parse are left out (their
 * diagnostics say why); an assignment whose value failed keeps an ErrorExpr
 * so the assigned name stays known.
 */
export interface Program {
  kind: 'program';
  body: Statement[];
  span: Span;
}
