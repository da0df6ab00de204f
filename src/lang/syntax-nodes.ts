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

import type {
  BinaryExpr, BinaryOp, BoolLit, BytesLit, CallExpr, Expr, ExprStmt, Ident, IndexExpr, ListExpr, MemberExpr,
  Name, NamedArg, NumberLit, RangeExpr, RecordExpr, RecordField, SgEntryExpr, Span, StringLit, UnaryExpr, UnaryOp,
  AssignStmt,
} from './ast';
import { KIND_CODE, K_NEWLINE, type TokenTable } from './token-table';

const K_CLOSE_PAREN = KIND_CODE.get(')')!;

// The row fields are keyed by symbols, not private (#) fields: those cost a
// class-field definition per field on every node (about 5 % of a parse).
const TABLE = Symbol('table');
const FIRST = Symbol('first');
const LAST = Symbol('last');
const SPAN = Symbol('span');

/** A node placed by token rows; its span is made on first read and kept. */
export class Located {
  declare private readonly [TABLE]: TokenTable;
  declare private readonly [FIRST]: number;
  declare private readonly [LAST]: number;
  declare private [SPAN]: Span | undefined;

  constructor(tt: TokenTable, first: number, last: number) {
    this[TABLE] = tt;
    this[FIRST] = first;
    this[LAST] = last;
    this[SPAN] = undefined;
  }

  get span(): Span {
    return (this[SPAN] ??= this[TABLE].rangeSpan(this[FIRST], this[LAST]));
  }

  /**
   * The first token after row `after` that is not a line break or a `)`, as
   * a span to the end of this node (`toEnd`) or alone: a call's `(` follows
   * its name, a binary operator its left operand, each maybe after the `)`
   * of a parenthesized operand. Parts read rarely (on an error, by signature
   * help) are found again on each read instead of kept in every node.
   */
  protected spanAfterRow(after: number, toEnd: boolean): Span {
    const tt = this[TABLE];
    let row = after + 1;
    for (let code = tt.code(row); code === K_NEWLINE || code === K_CLOSE_PAREN; code = tt.code(row)) row++;
    return tt.rangeSpan(row, toEnd ? this[LAST] : row);
  }

  /** The row of a parsed node's first token. */
  static firstRow(node: object): number {
    const row = (node as { [FIRST]?: number })[FIRST];
    if (row === undefined) throw new Error('a node without token rows inside a parsed tree');
    return row;
  }

  /** The row of a parsed node's last token. */
  static lastRow(node: object): number {
    const row = (node as { [LAST]?: number })[LAST];
    if (row === undefined) throw new Error('a node without token rows inside a parsed tree');
    return row;
  }
}

export class NameNode extends Located implements Name {
  declare readonly text: string;
  constructor(tt: TokenTable, first: number, last: number, text: string) {
    super(tt, first, last);
    this.text = text;
  }
}

export class NumberNode extends Located implements NumberLit {
  declare readonly kind: 'number';
  declare readonly value: bigint;
  declare readonly raw: string;
  constructor(tt: TokenTable, row: number, value: bigint, raw: string) {
    super(tt, row, row);
    this.kind = 'number';
    this.value = value;
    this.raw = raw;
  }
}

export class StringNode extends Located implements StringLit {
  declare readonly kind: 'string';
  declare readonly value: string;
  declare readonly bytes: Uint8Array;
  declare raw?: true;
  constructor(tt: TokenTable, row: number, value: string, bytes: Uint8Array) {
    super(tt, row, row);
    this.kind = 'string';
    this.value = value;
    this.bytes = bytes;
  }
}

export class BytesNode extends Located implements BytesLit {
  declare readonly kind: 'bytes';
  declare readonly bytes: Uint8Array;
  constructor(tt: TokenTable, row: number, bytes: Uint8Array) {
    super(tt, row, row);
    this.kind = 'bytes';
    this.bytes = bytes;
  }
}

export class BoolNode extends Located implements BoolLit {
  declare readonly kind: 'bool';
  declare readonly value: boolean;
  constructor(tt: TokenTable, row: number, value: boolean) {
    super(tt, row, row);
    this.kind = 'bool';
    this.value = value;
  }
}

export class IdentNode extends Located implements Ident {
  declare readonly kind: 'ident';
  declare readonly name: string;
  constructor(tt: TokenTable, first: number, last: number, name: string) {
    super(tt, first, last);
    this.kind = 'ident';
    this.name = name;
  }
}

export class UnaryNode extends Located implements UnaryExpr {
  declare readonly kind: 'unary';
  declare readonly op: UnaryOp;
  declare readonly operand: Expr;
  constructor(tt: TokenTable, first: number, op: UnaryOp, operand: Expr) {
    super(tt, first, Located.lastRow(operand));
    this.kind = 'unary';
    this.op = op;
    this.operand = operand;
  }
}

export class BinaryNode extends Located implements BinaryExpr {
  declare readonly kind: 'binary';
  declare readonly op: BinaryOp;
  declare readonly left: Expr;
  declare readonly right: Expr;
  constructor(tt: TokenTable, op: BinaryOp, left: Expr, right: Expr) {
    super(tt, Located.firstRow(left), Located.lastRow(right));
    this.kind = 'binary';
    this.op = op;
    this.left = left;
    this.right = right;
  }

  /** The operator token (read on a warning or a type error only). */
  get opSpan(): Span {
    return this.spanAfterRow(Located.lastRow(this.left), false);
  }
}

export class RangeNode extends Located implements RangeExpr {
  declare readonly kind: 'range';
  declare readonly start: Expr;
  declare readonly end: Expr;
  constructor(tt: TokenTable, start: Expr, end: Expr) {
    super(tt, Located.firstRow(start), Located.lastRow(end));
    this.kind = 'range';
    this.start = start;
    this.end = end;
  }
}

export class MemberNode extends Located implements MemberExpr {
  declare readonly kind: 'member';
  declare readonly object: Expr;
  declare readonly property: Name;
  constructor(tt: TokenTable, last: number, object: Expr, property: Name) {
    super(tt, Located.firstRow(object), last);
    this.kind = 'member';
    this.object = object;
    this.property = property;
  }
}

export class IndexNode extends Located implements IndexExpr {
  declare readonly kind: 'index';
  declare readonly object: Expr;
  declare readonly index: Expr;
  constructor(tt: TokenTable, last: number, object: Expr, index: Expr) {
    super(tt, Located.firstRow(object), last);
    this.kind = 'index';
    this.object = object;
    this.index = index;
  }
}

export class ListNode extends Located implements ListExpr {
  declare readonly kind: 'list';
  declare readonly items: Expr[];
  constructor(tt: TokenTable, first: number, last: number, items: Expr[]) {
    super(tt, first, last);
    this.kind = 'list';
    this.items = items;
  }
}

/** `name = value` in a record or in a call's named arguments. */
export class FieldNode extends Located implements RecordField, NamedArg {
  declare readonly name: Name;
  declare readonly value: Expr;
  constructor(tt: TokenTable, name: Name, value: Expr) {
    super(tt, Located.firstRow(name), Located.lastRow(value));
    this.name = name;
    this.value = value;
  }
}

export class RecordNode extends Located implements RecordExpr {
  declare readonly kind: 'record';
  declare readonly fields: RecordField[];
  constructor(tt: TokenTable, first: number, last: number, fields: RecordField[]) {
    super(tt, first, last);
    this.kind = 'record';
    this.fields = fields;
  }
}

export class CallNode extends Located implements CallExpr {
  declare readonly kind: 'call';
  declare readonly callee: Name;
  declare readonly args: Expr[];
  declare readonly named: NamedArg[];
  constructor(tt: TokenTable, callee: Name, args: Expr[], named: NamedArg[], close: number) {
    super(tt, Located.firstRow(callee), close);
    this.kind = 'call';
    this.callee = callee;
    this.args = args;
    this.named = named;
  }

  /** `(` to `)` (read when an argument is missing, and by signature help). */
  get argsSpan(): Span {
    return this.spanAfterRow(Located.lastRow(this.callee), true);
  }
}

export class SgEntryNode extends Located implements SgEntryExpr {
  declare readonly kind: 'sg_entry';
  declare readonly addr: Expr;
  declare readonly length: Expr;
  constructor(tt: TokenTable, addr: Expr, length: Expr) {
    super(tt, Located.firstRow(addr), Located.lastRow(length));
    this.kind = 'sg_entry';
    this.addr = addr;
    this.length = length;
  }
}

export class AssignNode extends Located implements AssignStmt {
  declare readonly kind: 'assign';
  declare readonly target: Ident | IndexExpr;
  declare readonly value: Expr;
  constructor(tt: TokenTable, first: number, last: number, target: Ident | IndexExpr, value: Expr) {
    super(tt, first, last);
    this.kind = 'assign';
    this.target = target;
    this.value = value;
  }
}

export class ExprStmtNode extends Located implements ExprStmt {
  declare readonly kind: 'expr';
  declare readonly expr: Expr;
  constructor(tt: TokenTable, expr: Expr) {
    super(tt, Located.firstRow(expr), Located.lastRow(expr));
    this.kind = 'expr';
    this.expr = expr;
  }
}
