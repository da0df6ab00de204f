// Semantic checks that need no emulation: names used before they exist,
// unknown functions, constants and keys, argument counts and kinds, values
// out of the kernel's ranges, duplicate declarations and devices pointing at
// IOMMUs that do not exist. Everything here is static; what depends on the
// machine's state is the interpreter's job. Walks the tree once, in order.

import { DEBUGFS_PATHS, DEBUGFS_WRITABLE } from '../engine/debugfs';
import type {
  Program, Statement, Expr, BinaryExpr, CallExpr, Span, Ident, KeyValue, PlatformDecl, IommuDecl, DeviceDecl, MmDecl,
  ExpectStmt, AssignStmt, ForStmt,
  CaptureTarget,
} from './ast';
import type { Diagnostic } from './run-result';
import type { Severity } from '../engine/trace/recorder';
import { DEFAULT_PLATFORM } from '../engine/platform';
import { makeDiagnostic, pushCapped, RESERVED_WORDS, MAX_DIAGNOSTICS } from './tokens';
import { CONSTANTS, KNOWN_ATTR_BITS, KNOWN_PROT_BITS, type ConstantFamily } from './constants';
import {
  BUILTINS, MEMBERS, DECL_KEYS, IOMMU_KINDS, DEVICE_BUSES, DOMAIN_TYPES, bindArgs, bindsInOrder, formatSignature,
  type ValueKind, type ParamKind, type ParamSpec, type BuiltinSpec, type KeySpec, type DeclKind,
} from './builtins';
import { startLine } from './syntax-nodes';

const U64 = (1n << 64n) - 1n;
/** MAX_PAGE_ORDER on common configs: alloc_pages() fails above it. */
export const MAX_PAGE_ORDER = 10;

export type SymbolOrigin = 'device' | 'iommu' | 'mm' | 'variable' | 'loop';

/** A name the scenario defines, for hovers and go-to-definition. */
export interface SymbolInfo {
  name: string;
  kind: ValueKind;
  origin: SymbolOrigin;
  /** Where it is first defined (the declared name, or the assignment target). */
  span: Span;
  /** For IOMMUs: the kind word (`arm-smmu-v3`). */
  iommuKind?: string;
}

export interface CheckResult {
  diagnostics: Diagnostic[];
  symbols: SymbolInfo[];
}

interface Sym extends SymbolInfo {
  /** Element kind of a list built by `xs[i] = ...`. */
  elem?: ValueKind;
}

/** Folds an expression made of literals and kernel constants to its u64 value (C unsigned arithmetic). */
export function constValue(e: Expr): bigint | undefined {
  switch (e.kind) {
    case 'number': return e.value;
    case 'bool': return e.value ? 1n : 0n;
    case 'ident': return CONSTANTS.get(e.name)?.value;
    case 'unary': {
      const v = constValue(e.operand);
      if (v === undefined) return undefined;
      return e.op === '-' ? (-v) & U64 : e.op === '~' ? ~v & U64 : v === 0n ? 1n : 0n;
    }
    case 'binary': {
      const a = constValue(e.left);
      const b = constValue(e.right);
      if (a === undefined || b === undefined) return undefined;
      return foldBinary(e.op, a, b);
    }
    default: return undefined;
  }
}

function foldBinary(op: string, a: bigint, b: bigint): bigint | undefined {
  switch (op) {
    case '+': return (a + b) & U64;
    case '-': return (a - b) & U64;
    case '*': return (a * b) & U64;
    case '/': return b === 0n ? undefined : a / b;
    case '%': return b === 0n ? undefined : a % b;
    case '&': return a & b;
    case '|': return a | b;
    case '^': return a ^ b;
    case '<<': return b >= 64n ? 0n : (a << b) & U64;
    case '>>': return b >= 64n ? 0n : a >> b;
    case '==': return a === b ? 1n : 0n;
    case '!=': return a !== b ? 1n : 0n;
    case '<': return a < b ? 1n : 0n;
    case '<=': return a <= b ? 1n : 0n;
    case '>': return a > b ? 1n : 0n;
    case '>=': return a >= b ? 1n : 0n;
    case '&&': return a !== 0n && b !== 0n ? 1n : 0n;
    case '||': return a !== 0n || b !== 0n ? 1n : 0n;
    default: return undefined;
  }
}

/** `16K`, `2M`, or hex: how sizes read best in messages. */
export function formatSize(v: bigint): string {
  for (const [suffix, shift] of [['T', 40n], ['G', 30n], ['M', 20n], ['K', 10n]] as const) {
    const unit = 1n << shift;
    if (v >= unit && v % unit === 0n) return `${v / unit}${suffix}`;
  }
  return v < 1024n ? v.toString() : `0x${v.toString(16)}`;
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;
const isPow2 = (v: bigint): boolean => v > 0n && (v & (v - 1n)) === 0n;
const isMask = (v: bigint): boolean => (v & (v + 1n)) === 0n;

function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      cur.push(v);
      best = Math.min(best, v);
    }
    if (best > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/** ` (did you mean X?)` for the nearest candidate, if near enough. */
function suggestion(name: string, candidates: Iterable<string>): string {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestD = limit + 1;
  for (const c of candidates) {
    const d = editDistance(name, c, limit);
    if (d < bestD) { best = c; bestD = d; }
  }
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

const KIND_NAMES: Readonly<Record<ValueKind, string>> = {
  int: 'an integer', bool: 'a boolean', string: 'a string', bytes: 'a bytes value', range: 'a range', list: 'a list',
  record: 'a record', buffer: 'a buffer', coherent: 'a coherent allocation', device: 'a device', iommu: 'an IOMMU',
  domain: 'an IOMMU domain', iova_state: 'an IOVA state', sva_handle: 'an SVA handle', attach_handle: 'an attach handle',
  sg: 'a scatterlist', sg_entry: 'a scatterlist entry', mm: 'an address space', walk: 'a translation walk',
  void: 'nothing (the call returns no value)', unknown: 'a value',
};

const PARAM_NAMES: Readonly<Record<ParamKind, string>> = {
  device: 'a device', buffer: 'a buffer', iommu: 'an IOMMU', domain: 'an IOMMU domain', iova_state: 'an IOVA state from dma_iova_try_alloc()',
  sva_handle: 'an SVA handle', coherent: 'the value dma_alloc_coherent() returned', sg: 'a scatterlist from sg_table()',
  mm: 'an address space (mm NAME { ... })', int: 'an integer', phys: 'a physical address or a buffer',
  dir: 'a DMA direction (DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL)', prot: 'IOMMU_* prot flags', attrs: 'DMA_ATTR_* flags',
  bool: 'true or false', bytes: 'a string or bytes value', data: 'a string, bytes or a length', string: 'a string', list: 'a list',
  sg_entry: 'an entry `addr : len` or a buffer', any: 'any value',
};

const FAMILY_FOR: Partial<Record<ParamKind, ConstantFamily>> = { dir: 'dir', prot: 'prot', attrs: 'attrs' };
const FAMILY_NAMES: Readonly<Record<ConstantFamily, string>> = {
  dir: 'a DMA direction', prot: 'an IOMMU_* prot flag', attrs: 'a DMA_ATTR_* flag', errno: 'an errno',
  vhost_perm: 'a VHOST_MAP_* permission', pasid: 'a PASID', dma_addr: 'a DMA address',
};

/** The constant value of argument `i`, if it has one. */
function argValue(args: readonly (Expr | undefined)[], i: number): bigint | undefined {
  const a = args[i];
  return a === undefined ? undefined : constValue(a);
}

/** Builtins specialChecks() has a rule for (the cases of its switch). */
const SPECIAL_CHECKS = new Set(['debugfs_read', 'debugfs_write', 'alloc_pages', 'kmalloc', 'phys_buffer', 'dma_alloc_coherent', 'cpu_fill', 'iommu_nested_domain_alloc', 'vduse_domain_set_map']);

/** Calls whose effect `expect fault` / `expect stale` can observe. */
const ACCESS_CALLS = new Set(['dev_read', 'dev_write', 'user_read', 'user_write', 'translate']);
const READ_CALLS = new Set(['dev_read', 'cpu_read', 'user_read']);

function accepts(pk: ParamKind, k: ValueKind): boolean {
  if (k === 'unknown' || pk === 'any') return true;
  switch (pk) {
    case 'int': case 'dir': case 'prot': case 'attrs': case 'bool': return k === 'int' || k === 'bool';
    case 'phys': return k === 'int' || k === 'buffer' || k === 'coherent';
    case 'buffer': return k === 'buffer' || k === 'coherent';
    case 'bytes': return k === 'bytes' || k === 'string';
    case 'data': return k === 'bytes' || k === 'string' || k === 'int';
    case 'sg_entry': return k === 'sg_entry' || k === 'buffer';
    default: return k === pk;
  }
}

/** A word written as a name or a string (`dma-fq` or "dma-fq"). */
function wordOf(e: Expr): string | undefined {
  return e.kind === 'ident' ? e.name : e.kind === 'string' ? e.value : undefined;
}

const intLike = (k: ValueKind): boolean => k === 'int' || k === 'bool' || k === 'unknown';

interface ExprCtx {
  /** A call returning nothing is fine here (statement level, expect operands). */
  allowVoid?: boolean;
  /** `addr : len` is fine here (sg_table arguments). */
  sgEntry?: boolean;
}

// The contexts, made once: the checker visits every node, so no context object per visit.
const PLAIN: ExprCtx = {};
const ALLOW_VOID: ExprCtx = { allowVoid: true };
const SG_ENTRY: ExprCtx = { sgEntry: true };

interface IommuInfo { kind: string; line: number; }
interface PlatformInfo { line: number; pageSize: bigint; memory?: [bigint, bigint][]; }

/** What the checker knows between two top-level statements: enough to check the rest of a file from there. */
export interface CheckerState {
  readonly globals: ReadonlyMap<string, Readonly<Sym>>;
  readonly iommus: ReadonlyMap<string, IommuInfo>;
  readonly groups: ReadonlyMap<string, { chain: string; device: string }>;
  readonly platform: PlatformInfo | undefined;
}

class Checker {
  diagnostics: Diagnostic[] = [];
  symbols: SymbolInfo[] = [];
  private globals = new Map<string, Sym>();
  private readonly scopes: Map<string, Sym>[] = [];
  /** First line where each name gets defined anywhere in the file, for "used before" messages. */
  private readonly laterDefs = new Map<string, { line: number; origin: SymbolOrigin }>();
  private iommus = new Map<string, IommuInfo>();
  private groups = new Map<string, { chain: string; device: string }>();
  private platform: PlatformInfo | undefined;

  constructor(private readonly program: Program) {}

  run(): CheckResult {
    this.prepare();
    // Indexed loops over the body: these run once per check, unoptimised, where for-of makes an iterator result per statement.
    const body = this.program.body;
    for (let i = 0; i < body.length; i++) this.statement(body[i]!, false);
    return { diagnostics: this.diagnostics, symbols: this.symbols };
  }

  /** What run() does before the first statement. */
  prepare(): void {
    this.collectDefinitions(this.program.body);
    // A file without a platform block runs on the engine's default machine, so its RAM is known too.
    if (!this.program.body.some((s) => s.kind === 'platform')) {
      this.platform = { line: 0, pageSize: DEFAULT_PLATFORM.pageSize, memory: DEFAULT_PLATFORM.memory.map((r): [bigint, bigint] => [r.start, r.end]) };
    }
  }

  /** Checks one top-level statement. */
  topLevel(s: Statement): void {
    this.statement(s, false);
  }

  /** A copy of the state between top-level statements (symbols copied: list element kinds change in place). */
  saveState(): CheckerState {
    const globals = new Map<string, Sym>();
    for (const [k, v] of this.globals) globals.set(k, { ...v });
    return { globals, iommus: new Map(this.iommus), groups: new Map(this.groups), platform: this.platform };
  }

  /** What the globals of these names are now, as one comparable string (a state's part an edit can touch). */
  globalsSignature(names: readonly string[]): string {
    let out = '';
    for (const n of names) {
      const x = this.globals.get(n);
      out += x === undefined ? `${n}:-|` : `${n}:${x.kind}:${x.origin}:${x.elem ?? ''}:${x.iommuKind ?? ''}:${x.span.line}:${x.span.column}|`;
    }
    return out;
  }

  restoreState(st: CheckerState): void {
    this.globals = new Map();
    for (const [k, v] of st.globals) this.globals.set(k, { ...v });
    this.iommus = new Map(st.iommus);
    this.groups = new Map(st.groups);
    this.platform = st.platform;
  }

  /** The names a list of statements defines, in order (what collectDefinitions notes). */
  static definitions(body: Statement[]): string[] {
    const c = new Checker({ kind: 'program', body, span: { start: 0, end: 0, line: 1, column: 1, endLine: 1, endColumn: 1 } });
    c.collectDefinitionsInOrder(body);
    return c.noted;
  }

  private noted: string[] = [];

  private collectDefinitionsInOrder(body: Statement[]): void {
    this.collectDefinitions(body);
    for (const [name, d] of this.laterDefs) this.noted.push(`${name}@${d.line}:${d.origin}`);
  }

  private report(span: Span, code: string, message: string, severity: Severity = 'error'): void {
    pushCapped(this.diagnostics, makeDiagnostic(span, code, message, severity));
  }

  private collectDefinitions(body: Statement[]): void {
    const note = (name: string, line: number, origin: SymbolOrigin): void => {
      if (!this.laterDefs.has(name)) this.laterDefs.set(name, { line, origin });
    };
    for (let i = 0; i < body.length; i++) {
      const s = body[i]!;
      switch (s.kind) {
        case 'assign': {
          const t = s.target;
          if (t.kind === 'ident') note(t.name, startLine(t), 'variable');
          else if (t.object.kind === 'ident') note(t.object.name, startLine(t), 'variable');
          break;
        }
        case 'iommu': case 'device': case 'mm': note(s.name.text, s.name.span.line, s.kind); break;
        case 'expect':
          if ('assign' in s && s.assign) note(s.assign.name, s.assign.span.line, 'variable');
          break;
        case 'for': note(s.variable.name, startLine(s.variable), 'loop'); this.collectDefinitions(s.body); break;
        default: break;
      }
    }
  }

  private lookup(name: string): Sym | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const s = this.scopes[i]!.get(name);
      if (s !== undefined) return s;
    }
    return this.globals.get(name);
  }

  private visibleNames(): string[] {
    const names = new Set<string>(this.globals.keys());
    for (const sc of this.scopes) for (const n of sc.keys()) names.add(n);
    return [...names];
  }

  /**
   * Reports a name that cannot be (re)defined: a constant, a builtin, a reserved word or a declared object.
   * `at` is the name's node (its span is made only to report); `existing` is the name's global, when the caller has looked it up.
   */
  private checkDefinable(name: string, at: { readonly span: Span }, asDecl: boolean, existing = this.globals.get(name)): boolean {
    if (RESERVED_WORDS.has(name)) { this.report(at.span, 'reserved', `'${name}' is a reserved word`); return false; }
    if (CONSTANTS.has(name)) { this.report(at.span, 'reserved', `'${name}' is a kernel constant and cannot be redefined`); return false; }
    if (BUILTINS.has(name)) { this.report(at.span, 'reserved', `'${name}' is a builtin function and cannot be redefined`); return false; }
    if (existing !== undefined && (asDecl || existing.origin === 'device' || existing.origin === 'iommu' || existing.origin === 'mm')) {
      const what = existing.origin === 'variable' || existing.origin === 'loop' ? 'a variable' : `a${existing.origin === 'iommu' ? 'n' : ''} ${existing.origin}`;
      this.report(at.span, 'duplicate', `'${name}' is already ${what}, defined on line ${existing.span.line}`);
      return false;
    }
    return true;
  }

  /** `isNew`: the name has no global yet (the caller may know it already). */
  private define(sym: Sym, isNew = !this.globals.has(sym.name)): void {
    if (isNew) {
      const info: SymbolInfo = { name: sym.name, kind: sym.kind, origin: sym.origin, span: sym.span };
      if (sym.iommuKind !== undefined) info.iommuKind = sym.iommuKind;
      this.symbols.push(info);
    }
    this.globals.set(sym.name, sym);
  }

  // ---- statements ------------------------------------------------------------

  private statement(s: Statement, inLoop: boolean): void {
    switch (s.kind) {
      case 'platform': case 'iommu': case 'device': case 'mm':
        if (inLoop) {
          this.report(s.span, 'decl-in-loop', 'declarations describe the machine and must be at the top level, not inside a for loop');
          return;
        }
        if (s.kind === 'platform') this.platformDecl(s);
        else if (s.kind === 'iommu') this.iommuDecl(s);
        else if (s.kind === 'device') this.deviceDecl(s);
        else this.mmDecl(s);
        return;
      case 'assign': this.assign(s); return;
      case 'expr': {
        this.expr(s.expr, ALLOW_VOID);
        if (s.expr.kind !== 'call' && s.expr.kind !== 'error') {
          this.report(s.expr.span, 'no-effect', 'this value is not used (did you mean `expect ...` or `print ...`?)', 'warning');
        }
        return;
      }
      case 'for': this.forStmt(s); return;
      case 'expect': this.expectStmt(s); return;
      case 'print': this.expr(s.expr); return;
      case 'checkpoint':
        if (s.label.value === '') this.report(s.label.span, 'empty-label', 'checkpoint label is empty', 'warning');
        return;
    }
  }

  private assign(s: AssignStmt): void {
    const k = this.expr(s.value);
    const kind: ValueKind = k === 'void' ? 'unknown' : k;
    const t = s.target;
    if (t.kind === 'ident') {
      const inScope = this.scopes.length > 0 ? this.scopes[this.scopes.length - 1]!.get(t.name) : undefined;
      if (inScope !== undefined) {
        this.report(t.span, 'reserved', `'${t.name}' is the loop variable; assigning it does not change the iteration`, 'warning');
        return;
      }
      const prev = this.globals.get(t.name);
      if (!this.checkDefinable(t.name, t, false, prev)) return;
      this.define({ name: t.name, kind, origin: 'variable', span: prev?.span ?? t.span }, prev === undefined);
      return;
    }
    const obj = t.object;
    if (obj.kind !== 'ident') return;
    this.intOperand(t.index, 'a list index');
    const sym = this.lookup(obj.name);
    if (sym === undefined) {
      if (this.checkDefinable(obj.name, obj, false)) this.define({ name: obj.name, kind: 'list', origin: 'variable', span: obj.span, elem: kind });
      return;
    }
    if (sym.kind !== 'list' && sym.kind !== 'unknown') {
      this.report(obj.span, 'type', `'${obj.name}' is ${KIND_NAMES[sym.kind]}, not a list; xs[i] = ... builds a list`);
      return;
    }
    sym.elem = sym.elem === undefined || sym.elem === kind ? kind : 'unknown';
  }

  private forStmt(s: ForStmt): void {
    const k = this.expr(s.iterable);
    if (k !== 'range' && k !== 'list' && k !== 'unknown') {
      this.report(s.iterable.span, 'type', `for needs a range (0 .. 16) or a list to iterate over, not ${KIND_NAMES[k]}`);
    }
    const scope = new Map<string, Sym>();
    const v = s.variable;
    if (CONSTANTS.has(v.name) || BUILTINS.has(v.name) || RESERVED_WORDS.has(v.name)) {
      this.report(v.span, 'reserved', `'${v.name}' cannot be a loop variable: it is a ${CONSTANTS.has(v.name) ? 'kernel constant' : BUILTINS.has(v.name) ? 'builtin function' : 'reserved word'}`);
    }
    const existing = this.globals.get(v.name);
    if (existing !== undefined && existing.origin !== 'variable' && existing.origin !== 'loop') {
      this.report(v.span, 'duplicate', `'${v.name}' is a ${existing.origin} (line ${existing.span.line}); pick another loop variable`);
    }
    scope.set(v.name, { name: v.name, kind: k === 'range' ? 'int' : 'unknown', origin: 'loop', span: v.span });
    this.symbols.push({ name: v.name, kind: k === 'range' ? 'int' : 'unknown', origin: 'loop', span: v.span });
    this.scopes.push(scope);
    for (const st of s.body) this.statement(st, true);
    this.scopes.pop();
  }

  private expectStmt(s: ExpectStmt): void {
    switch (s.mode) {
      case 'value': {
        const k = this.expr(s.expr, ALLOW_VOID);
        if (k === 'void') this.report(s.expr.span, 'void-value', `${this.calleeName(s.expr)} returns nothing, so there is no value to expect (use expect violation/fault/error, or call it on its own line)`);
        return;
      }
      case 'fault':
      case 'stale': {
        this.expectCall(s.call, s.assign);
        const name = s.call.callee.text;
        const ok = s.mode === 'fault' ? ACCESS_CALLS : READ_CALLS;
        if (BUILTINS.has(name) && !ok.has(name)) {
          const which = s.mode === 'fault' ? 'device or VDUSE-user accesses (dev_read, dev_write, user_read, user_write)' : 'reads (dev_read, cpu_read, user_read)';
          this.report(s.call.callee.span, 'expect-form', `expect ${s.mode} watches ${which}; ${name} cannot ${s.mode === 'fault' ? 'raise an IO page fault' : 'read stale data'}`, 'warning');
        }
        return;
      }
      case 'error': {
        this.errnoOperand(s.errno);
        this.expectCall(s.call, s.assign);
        const spec = BUILTINS.get(s.call.callee.text);
        if (spec?.returns === 'void') {
          this.report(s.call.callee.span, 'expect-form', `${spec.name} returns nothing, so it cannot fail with an errno; use expect violation "..." for what it reports`, 'warning');
        }
        return;
      }
      case 'violation':
        if (s.text.value === '') this.report(s.text.span, 'expect-form', 'empty text matches any violation; quote part of the expected message', 'warning');
        if (s.call) this.expectCall(s.call, s.assign);
        return;
      case 'findings':
        for (const t of s.texts) if (t.value === '') this.report(t.span, 'expect-form', 'empty text matches any finding; quote part of the expected message', 'warning');
        this.expectCall(s.call, s.assign);
        return;
      case 'bounced': {
        const k = this.expr(s.expr);
        if (!intLike(k)) this.report(s.expr.span, 'type', `expect bounced takes a DMA address, not ${KIND_NAMES[k]}`);
        return;
      }
      case 'log':
        if (s.text.value === '') this.report(s.text.span, 'expect-form', 'empty text matches any log line; quote part of the expected message', 'warning');
        if (s.call) this.expr(s.call, ALLOW_VOID);
        return;
      case 'no_leaks':
        return;
    }
  }

  /** The call of an expect, and the name `expect ... NAME = CALL` keeps its value in. */
  private expectCall(call: CallExpr, assign: CaptureTarget | undefined): void {
    if (!assign) {
      this.expr(call, ALLOW_VOID);
      return;
    }
    this.assign({ kind: 'assign', target: { kind: 'ident', name: assign.name, span: assign.span }, value: call, span: call.span });
  }

  private calleeName(e: Expr): string {
    return e.kind === 'call' ? e.callee.text : 'this call';
  }

  private errnoOperand(e: Expr): void {
    const inner = e.kind === 'unary' && e.op === '-' ? e.operand : e;
    if (inner.kind === 'number') return;
    if (inner.kind !== 'ident') {
      this.report(e.span, 'type', 'expect error takes an errno name such as EINVAL');
      return;
    }
    const c = CONSTANTS.get(inner.name);
    if (c === undefined) {
      const errnos = [...CONSTANTS.values()].filter((x) => x.family === 'errno').map((x) => x.name);
      this.report(inner.span, 'unknown-name', `unknown errno '${inner.name}'${suggestion(inner.name, errnos)}; known: ${errnos.join(' ')}`);
    } else if (c.family !== 'errno') {
      this.report(inner.span, 'arg-kind', `${inner.name} is ${FAMILY_NAMES[c.family]}, not an errno`);
    }
  }

  // ---- expressions -----------------------------------------------------------

  private intOperand(e: Expr, what: string): void {
    const k = this.expr(e);
    if (!intLike(k)) this.report(e.span, 'type', `${what} must be an integer, not ${KIND_NAMES[k]}`);
  }

  private expr(e: Expr, ctx: ExprCtx = PLAIN): ValueKind {
    switch (e.kind) {
      case 'number': return 'int';
      case 'string': return 'string';
      case 'bytes': return 'bytes';
      case 'bool': return 'bool';
      case 'error': return 'unknown';
      case 'ident': return this.ident(e);
      case 'unary': {
        const k = this.expr(e.operand);
        if (e.op === '!') return 'bool';
        if (!intLike(k)) this.report(e.operand.span, 'type', `'${e.op}' needs an integer, not ${KIND_NAMES[k]}`);
        return 'int';
      }
      case 'binary': return this.binary(e);
      case 'range': {
        this.intOperand(e.start, 'the start of a range');
        this.intOperand(e.end, 'the end of a range');
        const a = constValue(e.start);
        const b = constValue(e.end);
        if (a !== undefined && b !== undefined && b < a) this.report(e.span, 'out-of-range', `empty range: ${hex(a)} .. ${hex(b)} ends before it starts`, 'warning');
        return 'range';
      }
      case 'member': {
        const k = this.expr(e.object);
        const table = MEMBERS[k];
        const name = e.property.text;
        if (table !== undefined) {
          const m = table[name];
          if (m !== undefined) return m.kind;
          this.report(e.property.span, 'unknown-member', `${KIND_NAMES[k]} has no member '${name}'${suggestion(name, Object.keys(table))}; members: ${Object.keys(table).join(', ')}`, 'warning');
          return 'unknown';
        }
        if (k === 'int' || k === 'bool' || k === 'string' || k === 'bytes' || k === 'range' || k === 'void') {
          this.report(e.property.span, 'type', `${KIND_NAMES[k]} has no members`);
        }
        return 'unknown';
      }
      case 'index': {
        // events("name")[i]: that event's fields as a record.
        if (e.object.kind === 'call' && e.object.callee.text === 'events') {
          this.expr(e.object);
          this.intOperand(e.index, 'an index');
          return 'record';
        }
        const k = this.expr(e.object);
        this.intOperand(e.index, 'an index');
        switch (k) {
          case 'list': return e.object.kind === 'ident' ? this.lookup(e.object.name)?.elem ?? 'unknown' : 'unknown';
          case 'sg': return 'sg_entry';
          case 'bytes': case 'string': return 'int';
          case 'unknown': case 'record': return 'unknown';
          default:
            this.report(e.object.span, 'type', `${KIND_NAMES[k]} cannot be indexed`);
            return 'unknown';
        }
      }
      case 'list':
        for (const item of e.items) this.expr(item);
        return 'list';
      case 'record': {
        const seen = new Set<string>();
        for (const f of e.fields) {
          if (seen.has(f.name.text)) this.report(f.name.span, 'duplicate', `field '${f.name.text}' is given twice`);
          seen.add(f.name.text);
          this.expr(f.value);
        }
        return 'record';
      }
      case 'sg_entry': {
        if (!ctx.sgEntry) this.report(e.span, 'misplaced', '`addr : len` entries only go in sg_table(...)');
        const a = this.expr(e.addr);
        if (!accepts('phys', a)) this.report(e.addr.span, 'arg-kind', `a scatterlist entry starts at a physical address (buf + off), not ${KIND_NAMES[a]}`);
        this.intOperand(e.length, 'the length of a scatterlist entry');
        const len = constValue(e.length);
        if (len === 0n) this.report(e.length.span, 'out-of-range', 'a scatterlist entry needs a length above 0');
        return 'sg_entry';
      }
      case 'call': {
        const k = this.call(e);
        if (k === 'void' && !ctx.allowVoid) {
          this.report(e.span, 'void-value', `${e.callee.text} returns nothing; its value cannot be used`);
          return 'unknown';
        }
        return k;
      }
    }
  }

  private ident(e: Ident): ValueKind {
    const sym = this.lookup(e.name);
    if (sym !== undefined) return sym.kind;
    if (CONSTANTS.has(e.name)) return 'int';
    if (BUILTINS.has(e.name)) {
      this.report(e.span, 'type', `${e.name} is a function; call it: ${formatSignature(BUILTINS.get(e.name)!)}`);
      return 'unknown';
    }
    this.reportUnknown(e.name, e.span);
    return 'unknown';
  }

  private reportUnknown(name: string, span: Span): void {
    // Suggestions cost an edit-distance scan; skip them once the list is full.
    if (this.diagnostics.length > MAX_DIAGNOSTICS) return;
    const later = this.laterDefs.get(name);
    if (later !== undefined && later.origin === 'loop' && later.line <= span.line) {
      this.report(span, 'unknown-name', `'${name}' is the variable of the for loop on line ${later.line} and exists only inside its body`);
    } else if (later !== undefined && later.line >= span.line) {
      const how = later.origin === 'variable' ? 'assigned' : 'declared';
      this.report(span, 'unknown-name', `'${name}' is used before it is ${how} (line ${later.line})`);
    } else if (/^[A-Z][A-Z0-9_]*$/.test(name)) {
      this.report(span, 'unknown-name', `unknown constant '${name}'${suggestion(name, CONSTANTS.keys())}`);
    } else {
      this.report(span, 'unknown-name', `unknown name '${name}'${suggestion(name, [...this.visibleNames(), ...CONSTANTS.keys()])}`);
    }
  }

  /** `e.opSpan` is read only to report: a parsed node finds its operator from the tokens on each read. */
  private binary(e: BinaryExpr): ValueKind {
    const { op, left, right } = e;
    const lk = this.expr(left);
    const rk = this.expr(right);
    if (op === '&&' || op === '||') return 'bool';
    if (op === '==' || op === '!=') return 'bool';
    const bothInt = intLike(lk) && intLike(rk);
    if (op === '<' || op === '<=' || op === '>' || op === '>=') {
      if (!bothInt) this.report(e.opSpan, 'type', `'${op}' compares integers, not ${KIND_NAMES[intLike(lk) ? rk : lk]}`);
      return 'bool';
    }
    // `buf + n` is the physical address buf.phys + n (docs/language.md).
    const bufferArith = (op === '+' && ((lk === 'buffer' && intLike(rk)) || (intLike(lk) && rk === 'buffer'))) || (op === '-' && lk === 'buffer' && intLike(rk));
    if (!bothInt && !bufferArith) {
      this.report(e.opSpan, 'type', `'${op}' needs integers, not ${KIND_NAMES[intLike(lk) ? rk : lk]}`);
      return 'unknown';
    }
    const b = constValue(right);
    if ((op === '/' || op === '%') && b === 0n) this.report(right.span, 'div-zero', 'division by zero');
    if ((op === '<<' || op === '>>') && b !== undefined && b >= 64n) this.report(right.span, 'out-of-range', `shift by ${b} is out of range for 64-bit values`);
    return 'int';
  }

  // ---- calls -----------------------------------------------------------------

  private call(c: CallExpr): ValueKind {
    const name = c.callee.text;
    const spec = BUILTINS.get(name);
    if (spec === undefined) {
      if (this.lookup(name) !== undefined) this.report(c.callee.span, 'unknown-name', `'${name}' is a variable, not a function`);
      else this.report(c.callee.span, 'unknown-name', `unknown function '${name}'${suggestion(name, BUILTINS.keys())}`);
      for (const a of c.args) this.expr(a, SG_ENTRY);
      for (const n of c.named) this.expr(n.value);
      return 'unknown';
    }
    if (c.named.length === 0 && bindsInOrder(spec.params, c.args.length)) {
      // Arguments in parameter order, nothing to report about the binding (nearly every call): no binding object.
      for (let i = 0; i < c.args.length; i++) this.argument(spec, spec.params[i]!, c.args[i]!);
      this.specialChecks(spec, c.args);
      return spec.returns;
    }
    const bound = bindArgs(spec, c);
    for (const pr of bound.problems) this.report(pr.span, pr.code, pr.message);
    for (let i = 0; i < spec.params.length; i++) {
      const prm = spec.params[i]!;
      if (prm.variadic) for (const r of bound.rest) this.argument(spec, prm, r);
      else if (bound.values[i] !== undefined) this.argument(spec, prm, bound.values[i]!);
    }
    if (bound.problems.length > 0) {
      // Arguments that matched no parameter still get their names checked.
      const used = new Set<Expr>(bound.rest);
      for (const v of bound.values) if (v !== undefined) used.add(v);
      for (const a of c.args) if (!used.has(a)) this.expr(a, SG_ENTRY);
      for (const n of c.named) if (!used.has(n.value)) this.expr(n.value);
    }
    this.specialChecks(spec, bound.values);
    return spec.returns;
  }

  private argument(spec: BuiltinSpec, prm: ParamSpec, arg: Expr): void {
    const k = this.expr(arg, prm.kind === 'sg_entry' ? SG_ENTRY : PLAIN);
    if (!accepts(prm.kind, k)) {
      this.report(arg.span, 'arg-kind', `${spec.name}: '${prm.name}' takes ${PARAM_NAMES[prm.kind]}, not ${KIND_NAMES[k]}`);
      return;
    }
    if (prm.kind === 'iommu' && spec.iommuKinds !== undefined && arg.kind === 'ident') {
      const info = this.iommus.get(arg.name);
      if (info !== undefined && !spec.iommuKinds.includes(info.kind)) {
        this.report(arg.span, 'arg-kind', `${spec.name} needs a ${spec.iommuKinds.join(' or ')} IOMMU; ${arg.name} is ${info.kind}`);
      }
    }
    const family = FAMILY_FOR[prm.kind];
    if (family !== undefined) this.familyCheck(spec, prm, arg, family);
  }

  /** Catches constants of the wrong family (IOMMU_READ as a direction) and values the kernel rejects. */
  private familyCheck(spec: BuiltinSpec, prm: ParamSpec, arg: Expr, family: ConstantFamily): void {
    this.familyConstants(spec, prm, arg, family);
    const v = constValue(arg);
    if (v === undefined) return;
    if (family === 'dir') {
      if (v === 3n) this.report(arg.span, 'out-of-range', `DMA_NONE is not a valid direction: ${spec.name} BUG()s on it (valid_dma_direction)`);
      else if (v > 3n) this.report(arg.span, 'out-of-range', `${hex(v)} is not a DMA direction (0..2)`);
    } else if (family === 'prot' && (v & ~KNOWN_PROT_BITS) !== 0n) {
      this.report(arg.span, 'out-of-range', `unknown IOMMU prot bits ${hex(v & ~KNOWN_PROT_BITS)}`, 'warning');
    } else if (family === 'attrs' && (v & ~KNOWN_ATTR_BITS) !== 0n) {
      this.report(arg.span, 'out-of-range', `unknown DMA_ATTR bits ${hex(v & ~KNOWN_ATTR_BITS)}`, 'warning');
    }
  }

  /** Warns about each kernel constant of another family in `e` (IOMMU_READ as a direction). */
  private familyConstants(spec: BuiltinSpec, prm: ParamSpec, e: Expr, family: ConstantFamily): void {
    if (e.kind === 'ident') {
      const c = CONSTANTS.get(e.name);
      if (c !== undefined && c.family !== family) {
        this.report(e.span, 'arg-kind', `${spec.name}: '${prm.name}' takes ${FAMILY_NAMES[family]}, but ${e.name} is ${FAMILY_NAMES[c.family]}`, 'warning');
      }
    } else if (e.kind === 'binary') {
      this.familyConstants(spec, prm, e.left, family);
      this.familyConstants(spec, prm, e.right, family);
    } else if (e.kind === 'unary') this.familyConstants(spec, prm, e.operand, family);
  }

  private specialChecks(spec: BuiltinSpec, args: readonly (Expr | undefined)[]): void {
    if (!SPECIAL_CHECKS.has(spec.name)) return;
    const pageSize = this.platform?.pageSize ?? 4096n;
    switch (spec.name) {
      case 'debugfs_read':
      case 'debugfs_write': {
        const path = args[0];
        if (path?.kind !== 'string') break;
        const name = path.value.replace(/^\/?(sys\/kernel\/debug\/)?/, '');
        if (!DEBUGFS_PATHS.includes(name)) this.report(path.span, 'out-of-range', `no debugfs file "${path.value}"; there are ${DEBUGFS_PATHS.join(', ')}`);
        else if (spec.name === 'debugfs_write' && !DEBUGFS_WRITABLE.includes(name)) this.report(path.span, 'out-of-range', `${name} is read-only: the write returns -EINVAL`, 'warning');
        break;
      }
      case 'alloc_pages': {
        const order = argValue(args, 0);
        if (order !== undefined && order > BigInt(MAX_PAGE_ORDER)) this.report(args[0]!.span, 'out-of-range', `order ${order} is above MAX_PAGE_ORDER (${MAX_PAGE_ORDER}): alloc_pages() fails`);
        break;
      }
      case 'kmalloc': {
        const size = argValue(args, 0);
        const max = pageSize << BigInt(MAX_PAGE_ORDER);
        if (size === 0n) this.report(args[0]!.span, 'out-of-range', 'kmalloc(0) returns ZERO_SIZE_PTR, not memory', 'warning');
        else if (size !== undefined && size > max) this.report(args[0]!.span, 'out-of-range', `${formatSize(size)} is above KMALLOC_MAX_SIZE (${formatSize(max)})`);
        break;
      }
      case 'phys_buffer': {
        const phys = argValue(args, 0);
        const size = argValue(args, 1);
        if (size === 0n) { this.report(args[1]!.span, 'out-of-range', 'a buffer needs a size above 0'); break; }
        const mem = this.platform?.memory;
        if (phys === undefined || size === undefined || mem === undefined) break;
        const end = phys + size;
        if (!mem.some(([s, e]) => phys >= s && end <= e)) {
          const ram = mem.map(([s, e]) => `${hex(s)} .. ${hex(e)}`).join(', ');
          this.report(args[0]!.span, 'out-of-range', `${hex(phys)} .. ${hex(end)} is outside RAM (platform memory: ${ram})`);
        }
        break;
      }
      case 'dma_alloc_coherent': {
        if (argValue(args, 1) === 0n) this.report(args[1]!.span, 'out-of-range', 'dma_alloc_coherent of 0 bytes returns NULL', 'warning');
        break;
      }
      case 'cpu_fill': {
        const c = argValue(args, 1);
        if (c !== undefined && c > 255n) this.report(args[1]!.span, 'out-of-range', `fill value ${hex(c)} does not fit in a byte`);
        break;
      }
      case 'iommu_nested_domain_alloc': {
        const ias = argValue(args, 2);
        if (ias !== undefined && (ias < 16n || ias > 64n)) this.report(args[2]!.span, 'out-of-range', `ias ${ias} is outside 16..64`);
        const g = argValue(args, 3);
        if (g !== undefined && !isPow2(g)) this.report(args[3]!.span, 'out-of-range', `granule ${hex(g)} is not a power of two`);
        break;
      }
      case 'vduse_domain_set_map': {
        const l = args[1];
        if (l?.kind === 'list') for (const item of l.items) this.iotlbRange(item);
        break;
      }
      default: break;
    }
  }

  /** One `{start, last, addr, perm, file, offset}` range of vduse_domain_set_map. */
  private iotlbRange(item: Expr): void {
    if (item.kind !== 'record') {
      this.report(item.span, 'arg-kind', 'each IOTLB range is a record {start = ..., last = ..., addr = ..., perm = RW, file = "...", offset = 0}');
      return;
    }
    const known = ['start', 'last', 'addr', 'perm', 'file', 'offset'];
    const fields = new Map(item.fields.map((f) => [f.name.text, f]));
    for (const f of item.fields) {
      if (!known.includes(f.name.text)) this.report(f.name.span, 'unknown-key', `unknown IOTLB range field '${f.name.text}'${suggestion(f.name.text, known)}; fields: ${known.join(', ')}`);
    }
    const missing = ['start', 'last', 'addr'].filter((k) => !fields.has(k));
    if (missing.length > 0) this.report(item.span, 'arg-count', `IOTLB range needs ${missing.join(', ')}`);
    const start = fields.get('start') && constValue(fields.get('start')!.value);
    const last = fields.get('last') && constValue(fields.get('last')!.value);
    if (start !== undefined && last !== undefined && last < start) this.report(item.span, 'out-of-range', `last ${hex(last)} is below start ${hex(start)} (last is inclusive): vhost_iotlb_add_range_ctx refuses it and the call returns -EFAULT`, 'warning');
    const perm = fields.get('perm');
    if (perm !== undefined) {
      const v = constValue(perm.value);
      if (v !== undefined && (v < 1n || v > 3n)) this.report(perm.value.span, 'out-of-range', 'perm is RO, WO or RW');
    }
  }

  // ---- declarations ------------------------------------------------------------

  private declare(name: Ident | { text: string; span: Span }, origin: SymbolOrigin, kind: ValueKind, iommuKind?: string): boolean {
    const text = 'text' in name ? name.text : name.name;
    if (text === '') return false;
    if (!this.checkDefinable(text, name, true)) return false;
    this.define({ name: text, kind, origin, span: name.span, ...(iommuKind !== undefined ? { iommuKind } : {}) });
    return true;
  }

  /** Validates every key against its table; returns the value of each known key. */
  private entries(decl: DeclKind, entries: KeyValue[], iommuKind?: string): Map<string, KeyValue> {
    const table = DECL_KEYS[decl];
    const seen = new Map<string, KeyValue>();
    for (const e of entries) {
      const key = e.key.text;
      const spec = table.get(key);
      if (spec === undefined) {
        this.report(e.key.span, 'unknown-key', `unknown ${decl} key '${key}'${suggestion(key, table.keys())}; keys: ${[...table.keys()].join(', ')}`);
        continue;
      }
      const prev = seen.get(key);
      if (prev !== undefined) {
        this.report(e.key.span, 'duplicate', `${key} is already set on line ${prev.key.span.line}`);
        continue;
      }
      seen.set(key, e);
      if (spec.kinds !== undefined && iommuKind !== undefined && iommuKind !== '' && !spec.kinds.includes(iommuKind)) {
        this.report(e.key.span, 'key-not-applicable', `${key} applies to ${spec.kinds.join(', ')} IOMMUs; ${iommuKind} ignores it`, 'warning');
      }
      this.keyValue(spec, e.value);
    }
    return seen;
  }

  private keyValue(spec: KeySpec, value: Expr): void {
    if (value.kind === 'error') return;
    const key = spec.name;
    switch (spec.value) {
      case 'size': case 'int': case 'bits': {
        const v = this.constant(value, key);
        if (v === undefined) return;
        if (spec.oneOf !== undefined && !spec.oneOf.includes(v)) {
          const choices = spec.oneOf.map((x) => (spec.value === 'size' ? formatSize(x) : x.toString())).join(', ');
          this.report(value.span, 'out-of-range', `${key} must be one of ${choices}, not ${spec.value === 'size' ? formatSize(v) : v}`);
          return;
        }
        if (spec.powerOfTwo && !isPow2(v)) {
          this.report(value.span, 'out-of-range', `${key} must be a power of two, not ${formatSize(v)}`);
          return;
        }
        if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
          const show = (x: bigint): string => (spec.value === 'size' ? formatSize(x) : x.toString());
          const range = spec.max === undefined ? `at least ${show(spec.min ?? 0n)}` : `between ${show(spec.min ?? 0n)} and ${show(spec.max)}`;
          const hint = key === 'dma_mask' && isMask(v) && v > 64n ? `; dma_mask is a bit count: write ${v.toString(2).length} for the mask ${hex(v)}` : '';
          this.report(value.span, 'out-of-range', `${key} must be ${range}, not ${spec.value === 'size' ? formatSize(v) : v}${hint}`);
        }
        return;
      }
      case 'mask': {
        const v = this.constant(value, key);
        if (v !== undefined && !isMask(v)) this.report(value.span, 'out-of-range', `${key} must be a mask 2^n - 1 (like 0xffff_ffff), not ${hex(v)}`);
        return;
      }
      case 'bool':
        // 0 and 1 read as false and true, as in C.
        if (value.kind !== 'bool' && !(value.kind === 'number' && value.value <= 1n)) this.report(value.span, 'type', `${key} takes true or false`);
        return;
      case 'word': {
        const w = wordOf(value);
        if (w === undefined || !(spec.words ?? []).includes(w)) {
          this.report(value.span, 'out-of-range', `${key} must be ${(spec.words ?? []).join(' or ')}`);
        }
        return;
      }
      case 'name':
        if (wordOf(value) === undefined) this.report(value.span, 'type', `${key} takes a name, e.g. ${key} = g1`);
        return;
      case 'size-list': {
        if (value.kind !== 'list') { this.report(value.span, 'type', `${key} takes a list of sizes, e.g. [4K, 2M, 1G]`); return; }
        for (const item of value.items) {
          const v = this.constant(item, key);
          if (v !== undefined && !isPow2(v)) this.report(item.span, 'out-of-range', `page size ${formatSize(v)} is not a power of two`);
        }
        return;
      }
      case 'memory': case 'iommu-ref': case 'domain-type':
        return; // checked by the declaration, which knows the context
    }
  }

  private constant(e: Expr, key: string): bigint | undefined {
    const v = constValue(e);
    if (v === undefined) {
      if (e.kind === 'ident' && !CONSTANTS.has(e.name)) this.report(e.span, 'not-constant', `${key} takes a constant number; '${e.name}' is not one`);
      else this.report(e.span, 'not-constant', `${key} takes a constant number`);
    }
    return v;
  }

  private platformDecl(d: PlatformDecl): void {
    if (this.platform !== undefined && this.platform.line > 0) {
      this.report(d.keyword, 'duplicate', `platform is already declared on line ${this.platform.line}`);
      return;
    }
    const seen = this.entries('platform', d.entries);
    const ps = seen.get('page_size');
    const pageSize = (ps && constValue(ps.value)) ?? 4096n;
    const valid = DECL_KEYS.platform.get('page_size')?.oneOf?.includes(pageSize) ?? false;
    const info: PlatformInfo = { line: d.span.line, pageSize: valid ? pageSize : 4096n };
    const swiotlb = seen.get('swiotlb');
    const pool = swiotlb === undefined ? undefined : constValue(swiotlb.value);
    if (swiotlb !== undefined && pool !== undefined && pool !== 0n && pool < 1n << 20n) {
      this.report(swiotlb.value.span, 'out-of-range', `swiotlb must be 0 (no pool) or at least 1M, not ${formatSize(pool)}`);
    }
    const mem = seen.get('memory');
    if (mem !== undefined) {
      const ranges = this.memoryRanges(mem.value, info.pageSize);
      if (ranges !== undefined) info.memory = ranges;
    }
    this.platform = info;
  }

  private memoryRanges(value: Expr, pageSize: bigint): [bigint, bigint][] | undefined {
    const items = value.kind === 'list' ? value.items : [value];
    const out: [bigint, bigint][] = [];
    for (const r of items) {
      if (r.kind !== 'range') {
        if (r.kind !== 'error') this.report(r.span, 'type', 'memory takes a range start .. end, or a list of ranges');
        return undefined;
      }
      const s = this.constant(r.start, 'memory');
      const e = this.constant(r.end, 'memory');
      if (s === undefined || e === undefined) return undefined;
      if (e <= s) { this.report(r.span, 'out-of-range', `memory range ${hex(s)} .. ${hex(e)} is empty`); return undefined; }
      if (s % pageSize !== 0n || e % pageSize !== 0n) this.report(r.span, 'out-of-range', `memory range ${hex(s)} .. ${hex(e)} is not aligned to the ${formatSize(pageSize)} page size`);
      for (const [os, oe] of out) {
        if (s < oe && os < e) this.report(r.span, 'out-of-range', `memory range ${hex(s)} .. ${hex(e)} overlaps ${hex(os)} .. ${hex(oe)}`);
      }
      out.push([s, e]);
    }
    return out;
  }

  private iommuDecl(d: IommuDecl): void {
    const kind = d.iommuKind.text;
    if (kind !== '' && !IOMMU_KINDS.includes(kind)) {
      this.report(d.iommuKind.span, 'unknown-kind', `unknown IOMMU kind '${kind}'${suggestion(kind, IOMMU_KINDS)}; kinds: ${IOMMU_KINDS.join(', ')}`);
    }
    const seen = this.entries('iommu', d.entries, kind);
    const v = (key: string): [bigint, Span] | undefined => {
      const e = seen.get(key);
      const x = e === undefined ? undefined : constValue(e.value);
      return x === undefined || e === undefined ? undefined : [x, e.value.span];
    };
    const granule = v('granule');
    if (granule !== undefined && isPow2(granule[0])) {
      if ((kind === 'arm-smmu-v3' || kind === 'apple-dart') && ![4096n, 16384n, 65536n].includes(granule[0])) {
        this.report(granule[1], 'out-of-range', `${kind} granules are 4K, 16K or 64K, not ${formatSize(granule[0])}`);
      } else if ((kind === 'intel-vtd' || kind === 'amd-vi') && granule[0] !== 4096n) {
        this.report(granule[1], 'out-of-range', `${kind} page tables use a 4K granule, not ${formatSize(granule[0])}`);
      }
    }
    if (kind === 'arm-smmu-v3') {
      for (const key of ['ias', 'oas']) {
        const x = v(key);
        if (x !== undefined && x[0] > 52n) this.report(x[1], 'out-of-range', `arm-smmu-v3 addresses are at most 52 bits; ${key} = ${x[0]}`);
      }
    }
    if (kind === 'vduse') {
      const bounce = v('bounce_size');
      const limit = v('iova_limit');
      if (bounce !== undefined && limit !== undefined && bounce[0] > limit[0]) {
        this.report(bounce[1], 'out-of-range', `bounce_size ${formatSize(bounce[0])} is above iova_limit ${formatSize(limit[0])}`);
      }
    }
    if (this.declare(d.name, 'iommu', 'iommu', kind)) this.iommus.set(d.name.text, { kind, line: d.name.span.line });
  }

  private deviceDecl(d: DeviceDecl): void {
    const bus = d.bus.text;
    if (bus !== '' && !DEVICE_BUSES.includes(bus)) {
      this.report(d.bus.span, 'unknown-kind', `unknown bus '${bus}'${suggestion(bus, DEVICE_BUSES)}; buses: ${DEVICE_BUSES.join(', ')}`);
    }
    if (bus === 'pci' && d.id.span.end > d.id.span.start && !/^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\.[0-7]$/.test(d.id.value)) {
      this.report(d.id.span, 'bad-id', `a PCI device id is a BDF like "0000:01:00.0", not "${d.id.value}"`, 'warning');
    }
    const seen = this.entries('device', d.entries);
    const chain = this.iommuChain(seen.get('iommu'));
    const dd = seen.get('default_domain');
    if (dd !== undefined) this.defaultDomain(dd.value, chain, seen.has('iommu'));
    const group = seen.get('group');
    const groupName = group === undefined ? undefined : wordOf(group.value);
    if (group !== undefined && groupName !== undefined) {
      const key = chain.join(',');
      const g = this.groups.get(groupName);
      if (g === undefined) this.groups.set(groupName, { chain: key, device: d.name.text });
      else if (g.chain !== key) this.report(group.value.span, 'group', `group ${groupName} already holds ${g.device}, which sits behind a different IOMMU; a group shares one IOMMU`);
    }
    this.declare(d.name, 'device', 'device');
  }

  private iommuChain(entry: KeyValue | undefined): string[] {
    if (entry === undefined) return [];
    const v = entry.value;
    const items = v.kind === 'list' ? v.items : [v];
    if (v.kind === 'list' && items.length === 0) this.report(v.span, 'type', 'iommu = [] names no IOMMU; leave the key out for dma-direct');
    const chain: string[] = [];
    for (const it of items) {
      if (it.kind === 'error') continue;
      const name = wordOf(it);
      if (name === undefined) { this.report(it.span, 'type', 'iommu takes an IOMMU name or a list of them'); continue; }
      if (chain.includes(name)) this.report(it.span, 'duplicate', `${name} appears twice in the IOMMU chain`);
      chain.push(name);
      if (this.iommus.has(name)) continue;
      const sym = this.globals.get(name);
      const later = this.laterDefs.get(name);
      if (sym !== undefined) this.report(it.span, 'arg-kind', `${name} is ${KIND_NAMES[sym.kind]}, not an IOMMU`);
      else if (later !== undefined && later.origin === 'iommu') this.report(it.span, 'unknown-name', `iommu ${name} is declared later (line ${later.line}); declare an IOMMU before the devices behind it`);
      else this.report(it.span, 'unknown-name', `no IOMMU named '${name}'${suggestion(name, this.iommus.keys())}`);
    }
    return chain;
  }

  private defaultDomain(v: Expr, chain: string[], hasIommu: boolean): void {
    if (!hasIommu) this.report(v.span, 'no-effect', 'default_domain has no effect on a device without an iommu', 'warning');
    const items = v.kind === 'list' ? v.items : [v];
    for (const it of items) {
      if (it.kind === 'error') continue;
      const w = wordOf(it);
      if (w === undefined || !DOMAIN_TYPES.includes(w)) {
        const text = w !== undefined ? `'${w}'${suggestion(w, DOMAIN_TYPES)}` : 'this';
        this.report(it.span, 'out-of-range', `default_domain must be ${DOMAIN_TYPES.join(', ')}; not ${text}`);
      }
    }
    if (v.kind === 'list' && chain.length > 0 && items.length !== chain.length) {
      this.report(v.span, 'arg-count', `default_domain lists ${items.length} types for a chain of ${chain.length} IOMMUs`);
    }
  }

  private mmDecl(d: MmDecl): void {
    const pageSize = this.platform?.pageSize ?? 4096n;
    const spans: [bigint, bigint, Span][] = [];
    for (const m of d.maps) {
      const addr = constValue(m.addr);
      if (addr === undefined) this.expr(m.addr);
      else if (addr % pageSize !== 0n) this.report(m.addr.span, 'out-of-range', `${hex(addr)} is not aligned to the ${formatSize(pageSize)} page size`);
      else if (addr >= 1n << 57n) this.report(m.addr.span, 'out-of-range', `${hex(addr)} is not a user address`);
      const tk = this.expr(m.target);
      if (!accepts('phys', tk) && tk !== 'coherent') this.report(m.target.span, 'arg-kind', `map needs a buffer or physical address, not ${KIND_NAMES[tk]}`);
      const size = constValue(m.size);
      if (size === undefined) this.intOperand(m.size, 'size');
      else if (size === 0n || size % pageSize !== 0n) this.report(m.size.span, 'out-of-range', `size must be a non-zero multiple of the ${formatSize(pageSize)} page size`);
      const perm = m.perm.text;
      if (!/^[rwx]{1,3}$/.test(perm) || new Set(perm).size !== perm.length) {
        this.report(m.perm.span, 'out-of-range', `permission '${perm}' must be made of r, w and x (e.g. r, rw)`);
      }
      if (addr !== undefined && size !== undefined) {
        const end = addr + size;
        const clash = spans.find(([s, e]) => addr < e && s < end);
        if (clash !== undefined) this.report(m.span, 'out-of-range', `overlaps the mapping on line ${clash[2].line}`);
        spans.push([addr, end, m.span]);
      }
    }
    this.declare(d.name, 'mm', 'mm');
  }
}

/** True when two checker states would check the statements after them alike. */
export function sameCheckerState(a: CheckerState, b: CheckerState): boolean {
  if (a.platform !== b.platform && JSON.stringify(a.platform, bigintJson) !== JSON.stringify(b.platform, bigintJson)) return false;
  if (a.globals.size !== b.globals.size || a.iommus.size !== b.iommus.size || a.groups.size !== b.groups.size) return false;
  for (const [k, x] of a.globals) {
    const y = b.globals.get(k);
    if (y === undefined || x.kind !== y.kind || x.origin !== y.origin || x.elem !== y.elem || x.iommuKind !== y.iommuKind || x.span.line !== y.span.line || x.span.column !== y.span.column) return false;
  }
  for (const [k, x] of a.iommus) {
    const y = b.iommus.get(k);
    if (y === undefined || x.kind !== y.kind || x.line !== y.line) return false;
  }
  for (const [k, x] of a.groups) {
    const y = b.groups.get(k);
    if (y === undefined || x.chain !== y.chain || x.device !== y.device) return false;
  }
  return true;
}

function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/**
 * The checker one top-level statement at a time, for the incremental front end
 * (incremental.ts): its state can be saved between statements and restored,
 * and its output lists swapped, so a re-check starts near an edit.
 */
export class StatementChecker {
  private readonly c: Checker;

  constructor(program: Program) {
    this.c = new Checker(program);
    this.c.prepare();
  }

  get diagnostics(): Diagnostic[] {
    return this.c.diagnostics;
  }

  get symbols(): SymbolInfo[] {
    return this.c.symbols;
  }

  /** Where the next statements' diagnostics and symbols go. */
  output(diagnostics: Diagnostic[], symbols: SymbolInfo[]): void {
    this.c.diagnostics = diagnostics;
    this.c.symbols = symbols;
  }

  /** Checks one top-level statement; a checker bug becomes a diagnostic on it, as in check(). */
  check(s: Statement): void {
    try {
      this.c.topLevel(s);
    } catch (e) {
      this.c.diagnostics.push(makeDiagnostic(s.span, 'internal', `internal checker error: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  save(): CheckerState {
    return this.c.saveState();
  }

  /** The globals of these names as one comparable string. */
  globalsSignature(names: readonly string[]): string {
    return this.c.globalsSignature(names);
  }

  restore(st: CheckerState): void {
    this.c.restoreState(st);
  }

  /** What a list of statements defines (names, first lines, origins), to tell whether an edit changed it. */
  static definitions(body: Statement[]): string[] {
    return Checker.definitions(body);
  }
}

/** Checks a parsed program. Deterministic, never throws. */
export function check(program: Program): CheckResult {
  const checker = new Checker(program);
  try {
    return checker.run();
  } catch (e) {
    // A bug must not take the editor down: report it where the user can see it.
    checker.diagnostics.push(makeDiagnostic(program.span, 'internal', `internal checker error: ${e instanceof Error ? e.message : String(e)}`));
    return { diagnostics: checker.diagnostics, symbols: checker.symbols };
  }
}
