// Tree helpers for the language services: children of a node, every call of
// a statement, and the innermost node at an offset. Offsets are 0-based
// source offsets (Span.start/end).

import type { CallExpr, Expr, Statement, Name, KeyValue, NamedArg, IommuDecl, DeviceDecl, MmDecl, PlatformDecl, ExpectStmt, ForStmt, AssignStmt } from '../ast';

/** Direct sub-expressions of an expression, in source order. */
export function exprChildren(e: Expr): Expr[] {
  switch (e.kind) {
    case 'unary': return [e.operand];
    case 'binary': return [e.left, e.right];
    case 'range': return [e.start, e.end];
    case 'member': return [e.object];
    case 'index': return [e.object, e.index];
    case 'list': return e.items;
    case 'record': return e.fields.map((f) => f.value);
    case 'call': return [...e.args, ...e.named.map((n) => n.value)];
    case 'sg_entry': return [e.addr, e.length];
    default: return [];
  }
}

/** Top-level expressions of a statement (not of nested statements in a for body). */
export function statementExprs(s: Statement): Expr[] {
  switch (s.kind) {
    case 'platform': case 'iommu': case 'device': return s.entries.map((kv) => kv.value);
    case 'mm': return s.maps.flatMap((m) => [m.addr, m.target, m.size]);
    case 'assign': return [s.target, s.value];
    case 'expr': return [s.expr];
    case 'for': return [s.variable, s.iterable];
    case 'expect':
      switch (s.mode) {
        case 'value': case 'bounced': return [s.expr];
        case 'fault': case 'stale': case 'findings': return [s.call];
        case 'violation': return s.call ? [s.call] : [];
        case 'error': return [s.errno, s.call];
        case 'log': return s.call ? [s.call] : [];
        case 'no_leaks': return [];
      }
      return [];
    case 'print': return [s.expr];
    case 'checkpoint': return [s.label];
  }
}

/** Calls it each expression of `roots` holds (outer before inner, source order). */
export function forEachExpr(roots: readonly Expr[], fn: (e: Expr) => void): void {
  const stack: Expr[] = [...roots].reverse();
  while (stack.length > 0) {
    const e = stack.pop()!;
    fn(e);
    const kids = exprChildren(e);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
}

/** Every statement, for bodies included, in source order. */
export function flattenStatements(body: readonly Statement[], out: Statement[] = []): Statement[] {
  for (const s of body) {
    out.push(s);
    if (s.kind === 'for') flattenStatements(s.body, out);
  }
  return out;
}

/** Every call of one statement (not of nested for-body statements), outer first. */
export function callsOf(s: Statement): CallExpr[] {
  const out: CallExpr[] = [];
  forEachExpr(statementExprs(s), (e) => { if (e.kind === 'call') out.push(e); });
  return out;
}

/** What sits at an offset. */
export type Hit =
  | { kind: 'callee'; call: CallExpr; stmt: Statement }
  | { kind: 'ident'; name: string; span: Name['span']; stmt: Statement; parent: Expr | undefined; call: CallExpr | undefined }
  | { kind: 'number'; value: bigint; raw: string; span: Name['span']; stmt: Statement }
  | { kind: 'member'; property: Name; object: Expr; stmt: Statement }
  | { kind: 'named-arg'; arg: NamedArg; call: CallExpr; stmt: Statement }
  | { kind: 'decl-name'; decl: IommuDecl | DeviceDecl | MmDecl; stmt: Statement }
  | { kind: 'decl-key'; decl: PlatformDecl | IommuDecl | DeviceDecl; kv: KeyValue; stmt: Statement }
  | { kind: 'iommu-kind'; decl: IommuDecl; stmt: Statement }
  | { kind: 'bus'; decl: DeviceDecl; stmt: Statement }
  | { kind: 'keyword'; word: string; stmt: Statement };

const inSpan = (s: { start: number; end: number }, o: number, inclusiveEnd: boolean): boolean => o >= s.start && (inclusiveEnd ? o <= s.end : o < s.end);

/** The innermost statement holding the offset (binary search on the top level, then into for bodies). */
export function statementAt(body: readonly Statement[], offset: number, inclusiveEnd = false): Statement | undefined {
  let lo = 0;
  let hi = body.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (body[mid]!.span.start <= offset) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  // Spans of consecutive statements do not overlap; with inclusiveEnd the one before may end exactly here.
  for (let i = found; i >= 0 && i >= found - 1; i--) {
    const s = body[i]!;
    if (!inSpan(s.span, offset, inclusiveEnd)) continue;
    if (s.kind === 'for') return statementAt(s.body, offset, inclusiveEnd) ?? s;
    return s;
  }
  return undefined;
}

function exprHit(e: Expr, offset: number, stmt: Statement, parent: Expr | undefined, call: CallExpr | undefined, incl: boolean): Hit | undefined {
  if (!inSpan(e.span, offset, incl)) return undefined;
  switch (e.kind) {
    case 'number': return { kind: 'number', value: e.value, raw: e.raw, span: e.span, stmt };
    case 'ident': return { kind: 'ident', name: e.name, span: e.span, stmt, parent, call };
    case 'member':
      if (inSpan(e.property.span, offset, incl)) return { kind: 'member', property: e.property, object: e.object, stmt };
      return exprHit(e.object, offset, stmt, e, call, incl);
    case 'call': {
      if (inSpan(e.callee.span, offset, incl)) return { kind: 'callee', call: e, stmt };
      for (const a of e.args) {
        const h = exprHit(a, offset, stmt, e, e, incl);
        if (h) return h;
      }
      for (const n of e.named) {
        if (inSpan(n.name.span, offset, incl)) return { kind: 'named-arg', arg: n, call: e, stmt };
        const h = exprHit(n.value, offset, stmt, e, e, incl);
        if (h) return h;
      }
      return undefined;
    }
    default:
      for (const k of exprChildren(e)) {
        const h = exprHit(k, offset, stmt, e, call, incl);
        if (h) return h;
      }
      return undefined;
  }
}

function keyword(stmt: ExpectStmt | ForStmt | Statement, word: string, offset: number, src: string): Hit | undefined {
  const start = stmt.span.start;
  return offset >= start && offset < start + word.length && src.startsWith(word, start) ? { kind: 'keyword', word, stmt } : undefined;
}

/** The innermost named thing at an offset of a statement. */
export function hitAt(stmt: Statement, offset: number, src: string, inclusiveEnd = false): Hit | undefined {
  const incl = inclusiveEnd;
  switch (stmt.kind) {
    case 'iommu': case 'device': case 'mm':
      if (inSpan(stmt.name.span, offset, incl)) return { kind: 'decl-name', decl: stmt, stmt };
      if (stmt.kind === 'iommu' && inSpan(stmt.iommuKind.span, offset, incl)) return { kind: 'iommu-kind', decl: stmt, stmt };
      if (stmt.kind === 'device' && inSpan(stmt.bus.span, offset, incl)) return { kind: 'bus', decl: stmt, stmt };
      break;
    case 'expect': case 'for': case 'print': case 'checkpoint': {
      const k = keyword(stmt, stmt.kind, offset, src);
      if (k) return k;
      break;
    }
    default: break;
  }
  if (stmt.kind === 'platform' || stmt.kind === 'iommu' || stmt.kind === 'device') {
    for (const kv of stmt.entries) {
      if (inSpan(kv.key.span, offset, incl)) return { kind: 'decl-key', decl: stmt, kv, stmt };
    }
  }
  for (const e of statementExprs(stmt)) {
    const h = exprHit(e, offset, stmt, undefined, undefined, incl);
    if (h) return h;
  }
  return undefined;
}

/** The innermost call whose argument list `( ... )` holds the offset (strictly inside the parentheses). */
export function enclosingCall(stmt: Statement, offset: number): CallExpr | undefined {
  let best: CallExpr | undefined;
  forEachExpr(statementExprs(stmt), (e) => {
    if (e.kind === 'call' && offset > e.argsSpan.start && offset < e.argsSpan.end) {
      if (best === undefined || e.argsSpan.start >= best.argsSpan.start) best = e;
    }
  });
  return best;
}

/** The identifier a statement assigns (`x = ...` -> x), for quick fixes and semantic tokens. */
export function assignedName(s: AssignStmt): string | undefined {
  const t = s.target;
  if (t.kind === 'ident') return t.name;
  return t.object.kind === 'ident' ? t.object.name : undefined;
}
