// The tree nodes the parser makes. A node keeps where it is as two rows of
// the lexer's TokenTable (its first and last token) and makes its Span the
// first time something reads `span`: most spans of a large file are never
// read (diagnostics, hovers, code lenses and the debugger read a few), and a
// Span object per node was half of the objects a parse made.
//
// To every reader a node is still the plain data of ast.ts: the rows, the
// table and the cached Span are symbol-keyed fields, which JSON.stringify and
// Object.keys do not see; `span` (and a call's `argsSpan`, a binary operator's
// `opSpan`) is a getter, so a spread copy has none of them.
//
// Each class sets its own fields and shares `span` through its prototype
// (Located.prototype) instead of extending Located: a derived constructor's
// super() call, and private (#) fields, each cost several per cent of a parse.

import type {
  BinaryExpr, BinaryOp, BoolLit, BytesLit, CallExpr, Expr, ExprStmt, Ident, IndexExpr, ListExpr, MemberExpr,
  Name, NamedArg, NumberLit, RangeExpr, RecordExpr, RecordField, SgEntryExpr, Span, StringLit, UnaryExpr, UnaryOp,
  AssignStmt, ExpectValue,
} from './ast';
import { KIND_CODE, K_NEWLINE, type TokenTable } from './token-table';

const K_CLOSE_PAREN = KIND_CODE.get(')')!;

const TABLE = Symbol('table');
const FIRST = Symbol('first');
const LAST = Symbol('last');
const SPAN = Symbol('span');

/** The fields every node class sets first, and the span they make. */
interface Placed {
  [TABLE]: TokenTable;
  [FIRST]: number;
  [LAST]: number;
  [SPAN]: Span | undefined;
  readonly span: Span;
}

/** The prototype of every node class: a node placed by token rows, its span made on first read and kept. */
export class Located {
  get span(): Span {
    const self = this as unknown as Placed;
    return (self[SPAN] ??= self[TABLE].rangeSpan(self[FIRST], self[LAST]));
  }

  /** The row of a parsed node's first token. */
  static firstRow(node: object): number {
    const row = (node as Partial<Placed>)[FIRST];
    if (row === undefined) throw new Error('a node without token rows inside a parsed tree');
    return row;
  }

  /** The row of a parsed node's last token. */
  static lastRow(node: object): number {
    const row = (node as Partial<Placed>)[LAST];
    if (row === undefined) throw new Error('a node without token rows inside a parsed tree');
    return row;
  }
}

/** The line a node starts on; a parsed node reads it from its first token without making its span. */
export function startLine(node: { readonly span: Span }): number {
  const placed = node as Partial<Placed>;
  const tt = placed[TABLE];
  return tt === undefined ? node.span.line : tt.line(placed[FIRST]!);
}

/**
 * The first token after row `after` that is not a line break or a `)`, as a
 * span to the end of `node` (`toEnd`) or alone: a call's `(` follows its
 * name, a binary operator its left operand, each maybe after the `)` of a
 * parenthesized operand. Parts read rarely (on an error, by signature help)
 * are found again on each read instead of kept in every node.
 */
function spanAfterRow(of: object, after: number, toEnd: boolean): Span {
  const node = of as Placed;
  const tt = node[TABLE];
  let row = after + 1;
  for (let code = tt.code(row); code === K_NEWLINE || code === K_CLOSE_PAREN; code = tt.code(row)) row++;
  return tt.rangeSpan(row, toEnd ? node[LAST] : row);
}

export class NameNode implements Name {
  declare readonly span: Span;
  declare readonly text: string;
  constructor(tt: TokenTable, first: number, last: number, text: string) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = first;
    placed[LAST] = last;
    placed[SPAN] = undefined;
    this.text = text;
  }
}

export class NumberNode implements NumberLit {
  declare readonly span: Span;
  declare readonly kind: 'number';
  declare readonly value: bigint;
  declare readonly raw: string;
  constructor(tt: TokenTable, row: number, value: bigint, raw: string) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = row;
    placed[LAST] = row;
    placed[SPAN] = undefined;
    this.kind = 'number';
    this.value = value;
    this.raw = raw;
  }
}

const BYTES = Symbol('bytes');

/** A string literal; its bytes (nearly always its text's UTF-8, read only by a run) are made on first read and kept. */
export class StringNode implements StringLit {
  declare readonly span: Span;
  declare readonly kind: 'string';
  declare readonly value: string;
  declare raw?: true;
  declare private [BYTES]: Uint8Array | undefined;
  constructor(tt: TokenTable, row: number, value: string) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = row;
    placed[LAST] = row;
    placed[SPAN] = undefined;
    this.kind = 'string';
    this.value = value;
    this[BYTES] = undefined;
  }

  get bytes(): Uint8Array {
    const placed = this as unknown as Placed;
    return (this[BYTES] ??= placed[TABLE].bytes(placed[FIRST]) ?? new Uint8Array(0));
  }

  /** The fields of ast.ts's StringLit, `bytes` included, in their order (JSON.stringify sees no getter). */
  toJSON(): object {
    return this.raw === true ? { kind: this.kind, value: this.value, bytes: this.bytes, raw: true } : { kind: this.kind, value: this.value, bytes: this.bytes };
  }
}

export class BytesNode implements BytesLit {
  declare readonly span: Span;
  declare readonly kind: 'bytes';
  declare readonly bytes: Uint8Array;
  constructor(tt: TokenTable, row: number, bytes: Uint8Array) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = row;
    placed[LAST] = row;
    placed[SPAN] = undefined;
    this.kind = 'bytes';
    this.bytes = bytes;
  }
}

export class BoolNode implements BoolLit {
  declare readonly span: Span;
  declare readonly kind: 'bool';
  declare readonly value: boolean;
  constructor(tt: TokenTable, row: number, value: boolean) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = row;
    placed[LAST] = row;
    placed[SPAN] = undefined;
    this.kind = 'bool';
    this.value = value;
  }
}

export class IdentNode implements Ident {
  declare readonly span: Span;
  declare readonly kind: 'ident';
  declare readonly name: string;
  constructor(tt: TokenTable, first: number, last: number, name: string) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = first;
    placed[LAST] = last;
    placed[SPAN] = undefined;
    this.kind = 'ident';
    this.name = name;
  }
}

export class UnaryNode implements UnaryExpr {
  declare readonly span: Span;
  declare readonly kind: 'unary';
  declare readonly op: UnaryOp;
  declare readonly operand: Expr;
  constructor(tt: TokenTable, first: number, op: UnaryOp, operand: Expr) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = first;
    placed[LAST] = Located.lastRow(operand);
    placed[SPAN] = undefined;
    this.kind = 'unary';
    this.op = op;
    this.operand = operand;
  }
}

export class BinaryNode implements BinaryExpr {
  declare readonly span: Span;
  declare readonly kind: 'binary';
  declare readonly op: BinaryOp;
  declare readonly left: Expr;
  declare readonly right: Expr;
  constructor(tt: TokenTable, op: BinaryOp, left: Expr, right: Expr) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = Located.firstRow(left);
    placed[LAST] = Located.lastRow(right);
    placed[SPAN] = undefined;
    this.kind = 'binary';
    this.op = op;
    this.left = left;
    this.right = right;
  }

  /** The operator token (read on a warning or a type error only). */
  get opSpan(): Span {
    return spanAfterRow(this, Located.lastRow(this.left), false);
  }
}

export class RangeNode implements RangeExpr {
  declare readonly span: Span;
  declare readonly kind: 'range';
  declare readonly start: Expr;
  declare readonly end: Expr;
  constructor(tt: TokenTable, start: Expr, end: Expr) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = Located.firstRow(start);
    placed[LAST] = Located.lastRow(end);
    placed[SPAN] = undefined;
    this.kind = 'range';
    this.start = start;
    this.end = end;
  }
}

export class MemberNode implements MemberExpr {
  declare readonly span: Span;
  declare readonly kind: 'member';
  declare readonly object: Expr;
  declare readonly property: Name;
  constructor(tt: TokenTable, last: number, object: Expr, property: Name) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = Located.firstRow(object);
    placed[LAST] = last;
    placed[SPAN] = undefined;
    this.kind = 'member';
    this.object = object;
    this.property = property;
  }
}

export class IndexNode implements IndexExpr {
  declare readonly span: Span;
  declare readonly kind: 'index';
  declare readonly object: Expr;
  declare readonly index: Expr;
  constructor(tt: TokenTable, last: number, object: Expr, index: Expr) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = Located.firstRow(object);
    placed[LAST] = last;
    placed[SPAN] = undefined;
    this.kind = 'index';
    this.object = object;
    this.index = index;
  }
}

export class ListNode implements ListExpr {
  declare readonly span: Span;
  declare readonly kind: 'list';
  declare readonly items: Expr[];
  constructor(tt: TokenTable, first: number, last: number, items: Expr[]) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = first;
    placed[LAST] = last;
    placed[SPAN] = undefined;
    this.kind = 'list';
    this.items = items;
  }
}

/** `name = value` in a record or in a call's named arguments. */
export class FieldNode implements RecordField, NamedArg {
  declare readonly span: Span;
  declare readonly name: Name;
  declare readonly value: Expr;
  constructor(tt: TokenTable, name: Name, value: Expr) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = Located.firstRow(name);
    placed[LAST] = Located.lastRow(value);
    placed[SPAN] = undefined;
    this.name = name;
    this.value = value;
  }
}

export class RecordNode implements RecordExpr {
  declare readonly span: Span;
  declare readonly kind: 'record';
  declare readonly fields: RecordField[];
  constructor(tt: TokenTable, first: number, last: number, fields: RecordField[]) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = first;
    placed[LAST] = last;
    placed[SPAN] = undefined;
    this.kind = 'record';
    this.fields = fields;
  }
}

export class CallNode implements CallExpr {
  declare readonly span: Span;
  declare readonly kind: 'call';
  declare readonly callee: Name;
  declare readonly args: Expr[];
  declare readonly named: NamedArg[];
  constructor(tt: TokenTable, callee: Name, args: Expr[], named: NamedArg[], close: number) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = Located.firstRow(callee);
    placed[LAST] = close;
    placed[SPAN] = undefined;
    this.kind = 'call';
    this.callee = callee;
    this.args = args;
    this.named = named;
  }

  /** `(` to `)` (read when an argument is missing, and by signature help). */
  get argsSpan(): Span {
    return spanAfterRow(this, Located.lastRow(this.callee), true);
  }
}

export class SgEntryNode implements SgEntryExpr {
  declare readonly span: Span;
  declare readonly kind: 'sg_entry';
  declare readonly addr: Expr;
  declare readonly length: Expr;
  constructor(tt: TokenTable, addr: Expr, length: Expr) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = Located.firstRow(addr);
    placed[LAST] = Located.lastRow(length);
    placed[SPAN] = undefined;
    this.kind = 'sg_entry';
    this.addr = addr;
    this.length = length;
  }
}

export class AssignNode implements AssignStmt {
  declare readonly span: Span;
  declare readonly kind: 'assign';
  declare readonly target: Ident | IndexExpr;
  declare readonly value: Expr;
  constructor(tt: TokenTable, first: number, last: number, target: Ident | IndexExpr, value: Expr) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = first;
    placed[LAST] = last;
    placed[SPAN] = undefined;
    this.kind = 'assign';
    this.target = target;
    this.value = value;
  }
}

export class ExprStmtNode implements ExprStmt {
  declare readonly span: Span;
  declare readonly kind: 'expr';
  declare readonly expr: Expr;
  constructor(tt: TokenTable, expr: Expr) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = Located.firstRow(expr);
    placed[LAST] = Located.lastRow(expr);
    placed[SPAN] = undefined;
    this.kind = 'expr';
    this.expr = expr;
  }
}

/** `expect EXPR`, the most common expect. */
export class ExpectValueNode implements ExpectValue {
  declare readonly span: Span;
  declare readonly kind: 'expect';
  declare readonly mode: 'value';
  declare readonly expr: Expr;
  constructor(tt: TokenTable, first: number, last: number, expr: Expr) {
    const placed = this as unknown as Placed;
    placed[TABLE] = tt;
    placed[FIRST] = first;
    placed[LAST] = last;
    placed[SPAN] = undefined;
    this.kind = 'expect';
    this.mode = 'value';
    this.expr = expr;
  }
}

for (const node of [NameNode, NumberNode, StringNode, BytesNode, BoolNode, IdentNode, UnaryNode, BinaryNode, RangeNode, MemberNode, IndexNode, ListNode, FieldNode, RecordNode, CallNode, SgEntryNode, AssignNode, ExprStmtNode, ExpectValueNode]) Object.setPrototypeOf(node.prototype, Located.prototype);
