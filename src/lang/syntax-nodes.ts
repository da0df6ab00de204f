// The tree nodes the parser makes. A node keeps where it is as two rows of
// the lexer's TokenTable (its first and last token) and makes its Span the
// first time something reads `span`: most spans of a large file are never
// read (diagnostics, hovers, code lenses and the debugger read a few), and a
// Span object per node was half of the objects a parse made.
//
// To every reader a node is still the plain data of ast.ts: the rows, the
// table and the cached Span are private fields, which JSON.stringify, object
// spread and Object.keys do not see; `span` (and a call's `argsSpan`, a binary
// operator's `opSpan`) is a getter, so a spread copy has none of them.

import type {
  BinaryExpr, BinaryOp, BoolLit, BytesLit, CallExpr, Expr, ExprStmt, Ident, IndexExpr, ListExpr, MemberExpr,
  Name, NamedArg, NumberLit, RangeExpr, RecordExpr, RecordField, SgEntryExpr, Span, StringLit, UnaryExpr, UnaryOp,
  AssignStmt,
} from './ast';
import type { TokenTable } from './token-table';

/** A node placed by token rows; its span is made on first read and kept. */
export class Located {
  readonly #tt: TokenTable;
  readonly #first: number;
  readonly #last: number;
  #span: Span | undefined = undefined;

  constructor(tt: TokenTable, first: number, last: number) {
    this.#tt = tt;
    this.#first = first;
    this.#last = last;
  }

  get span(): Span {
    return (this.#span ??= this.#tt.rangeSpan(this.#first, this.#last));
  }

  /** The span from token row `first` to `last` of this node's table (a part of the node, such as a call's argument list). */
  protected rowsSpan(first: number, last: number): Span {
    return this.#tt.rangeSpan(first, last);
  }

  /** The row of a parsed node's first token. */
  static firstRow(node: object): number {
    if (!(#first in node)) throw new Error('a node without token rows inside a parsed tree');
    return (node as Located).#first;
  }

  /** The row of a parsed node's last token. */
  static lastRow(node: object): number {
    if (!(#last in node)) throw new Error('a node without token rows inside a parsed tree');
    return (node as Located).#last;
  }
}

export class NameNode extends Located implements Name {
  constructor(tt: TokenTable, first: number, last: number, readonly text: string) {
    super(tt, first, last);
  }
}

export class NumberNode extends Located implements NumberLit {
  readonly kind = 'number';
  constructor(tt: TokenTable, row: number, readonly value: bigint, readonly raw: string) {
    super(tt, row, row);
  }
}

export class StringNode extends Located implements StringLit {
  readonly kind = 'string';
  declare raw?: true;
  constructor(tt: TokenTable, row: number, readonly value: string, readonly bytes: Uint8Array) {
    super(tt, row, row);
  }
}

export class BytesNode extends Located implements BytesLit {
  readonly kind = 'bytes';
  constructor(tt: TokenTable, row: number, readonly bytes: Uint8Array) {
    super(tt, row, row);
  }
}

export class BoolNode extends Located implements BoolLit {
  readonly kind = 'bool';
  constructor(tt: TokenTable, row: number, readonly value: boolean) {
    super(tt, row, row);
  }
}

export class IdentNode extends Located implements Ident {
  readonly kind = 'ident';
  constructor(tt: TokenTable, first: number, last: number, readonly name: string) {
    super(tt, first, last);
  }
}

export class UnaryNode extends Located implements UnaryExpr {
  readonly kind = 'unary';
  constructor(tt: TokenTable, first: number, readonly op: UnaryOp, readonly operand: Expr) {
    super(tt, first, Located.lastRow(operand));
  }
}

export class BinaryNode extends Located implements BinaryExpr {
  readonly kind = 'binary';
  readonly #op: number;
  constructor(tt: TokenTable, readonly op: BinaryOp, readonly left: Expr, readonly right: Expr, opRow: number) {
    super(tt, Located.firstRow(left), Located.lastRow(right));
    this.#op = opRow;
  }

  /** The operator token (read on a warning or a type error only, so not kept). */
  get opSpan(): Span {
    return this.rowsSpan(this.#op, this.#op);
  }
}

export class RangeNode extends Located implements RangeExpr {
  readonly kind = 'range';
  constructor(tt: TokenTable, readonly start: Expr, readonly end: Expr) {
    super(tt, Located.firstRow(start), Located.lastRow(end));
  }
}

export class MemberNode extends Located implements MemberExpr {
  readonly kind = 'member';
  constructor(tt: TokenTable, last: number, readonly object: Expr, readonly property: Name) {
    super(tt, Located.firstRow(object), last);
  }
}

export class IndexNode extends Located implements IndexExpr {
  readonly kind = 'index';
  constructor(tt: TokenTable, last: number, readonly object: Expr, readonly index: Expr) {
    super(tt, Located.firstRow(object), last);
  }
}

export class ListNode extends Located implements ListExpr {
  readonly kind = 'list';
  constructor(tt: TokenTable, first: number, last: number, readonly items: Expr[]) {
    super(tt, first, last);
  }
}

/** `name = value` in a record or in a call's named arguments. */
export class FieldNode extends Located implements RecordField, NamedArg {
  constructor(tt: TokenTable, readonly name: Name, readonly value: Expr) {
    super(tt, Located.firstRow(name), Located.lastRow(value));
  }
}

export class RecordNode extends Located implements RecordExpr {
  readonly kind = 'record';
  constructor(tt: TokenTable, first: number, last: number, readonly fields: RecordField[]) {
    super(tt, first, last);
  }
}

export class CallNode extends Located implements CallExpr {
  readonly kind = 'call';
  readonly #open: number;
  readonly #close: number;
  constructor(tt: TokenTable, readonly callee: Name, readonly args: Expr[], readonly named: NamedArg[], open: number, close: number) {
    super(tt, Located.firstRow(callee), close);
    this.#open = open;
    this.#close = close;
  }

  /** `(` to `)`: read when an argument is missing and by signature help, so made on each read and not kept. */
  get argsSpan(): Span {
    return this.rowsSpan(this.#open, this.#close);
  }
}

export class SgEntryNode extends Located implements SgEntryExpr {
  readonly kind = 'sg_entry';
  constructor(tt: TokenTable, readonly addr: Expr, readonly length: Expr) {
    super(tt, Located.firstRow(addr), Located.lastRow(length));
  }
}

export class AssignNode extends Located implements AssignStmt {
  readonly kind = 'assign';
  constructor(tt: TokenTable, first: number, last: number, readonly target: Ident | IndexExpr, readonly value: Expr) {
    super(tt, first, last);
  }
}

export class ExprStmtNode extends Located implements ExprStmt {
  readonly kind = 'expr';
  constructor(tt: TokenTable, readonly expr: Expr) {
    super(tt, Located.firstRow(expr), Located.lastRow(expr));
  }
}
