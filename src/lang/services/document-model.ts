// One parsed document for the language services: the source, its tree, the
// checker's symbols and diagnostics, and indexes built on first use. Build it
// once per document version (ModelCache does) and every provider reads the
// same model, so a hover on a 10,000-line file costs a binary search, not a
// parse. Never throws: the parser and checker recover from anything.

import type { DeviceDecl, ForStmt, IommuDecl, MmDecl, PlatformDecl, Program, Statement } from '../ast';
import type { ValueKind } from '../builtins';
import { check, type SymbolInfo } from '../checker';
import { matchBraces } from '../lexer';
import { parse } from '../parser';
import type { Diagnostic } from '../run-result';
import { flattenStatements, statementAt } from './ast-util';
import { guard } from './guard';
import { LineIndex, type Position } from './positions';

export type Declaration = IommuDecl | DeviceDecl | MmDecl;

export class DocumentModel {
  readonly program: Program;
  readonly parseDiagnostics: Diagnostic[];
  readonly lines: LineIndex;
  private checked?: { diagnostics: Diagnostic[]; symbols: SymbolInfo[] };
  private flat?: Statement[];
  private declMap?: Map<string, Declaration>;
  private platformDecl?: PlatformDecl | null;
  private kindMap?: Map<string, SymbolInfo>;
  private braceIndex?: { openers: number[]; pairs: Map<number, number> };

  constructor(readonly text: string) {
    // parse() and check() never throw by contract; a bug there must not take the editor features down.
    const emptyProgram: Program = { kind: 'program', body: [], span: { start: 0, end: 0, line: 1, column: 1, endLine: 1, endColumn: 1 } };
    const { program, diagnostics } = guard('parse', { program: emptyProgram, diagnostics: [] as Diagnostic[] }, () => parse(text));
    this.program = program;
    this.parseDiagnostics = diagnostics;
    this.lines = new LineIndex(text);
  }

  private ensureChecked(): { diagnostics: Diagnostic[]; symbols: SymbolInfo[] } {
    this.checked ??= guard('check', { diagnostics: [], symbols: [] }, () => check(this.program));
    return this.checked;
  }

  /** The checker's diagnostics (not the parser's). */
  get checkDiagnostics(): Diagnostic[] {
    return this.ensureChecked().diagnostics;
  }

  /** Names the scenario defines, first definition of each (loop variables once per loop). */
  get symbols(): SymbolInfo[] {
    return this.ensureChecked().symbols;
  }

  /** Every statement, for bodies included, in source order. */
  get statements(): Statement[] {
    this.flat ??= flattenStatements(this.program.body);
    return this.flat;
  }

  /** Statements (for bodies included) that end on or after a 1-based line and start on or before another, in order. */
  statementsInLines(first: number, last: number): Statement[] {
    const all = this.statements;
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid]!.span.line < first) lo = mid + 1;
      else hi = mid;
    }
    // Statements starting before `first` may reach into it (multi-line blocks); a few at most.
    let from = lo;
    while (from > 0 && lo - from < 64 && all[from - 1]!.span.endLine >= first) from--;
    const out: Statement[] = [];
    for (let i = from; i < all.length && all[i]!.span.line <= last; i++) if (all[i]!.span.endLine >= first) out.push(all[i]!);
    return out;
  }

  /** Declared devices, IOMMUs and address spaces by name (first declaration wins). */
  get declarations(): Map<string, Declaration> {
    if (this.declMap === undefined) {
      const m = new Map<string, Declaration>();
      for (const s of this.program.body) {
        if ((s.kind === 'iommu' || s.kind === 'device' || s.kind === 'mm') && s.name.text !== '' && !m.has(s.name.text)) m.set(s.name.text, s);
      }
      this.declMap = m;
    }
    return this.declMap;
  }

  get platform(): PlatformDecl | undefined {
    if (this.platformDecl === undefined) this.platformDecl = this.program.body.find((s): s is PlatformDecl => s.kind === 'platform') ?? null;
    return this.platformDecl ?? undefined;
  }

  /** Global names (declarations and variables) with their kinds; loop variables are not here. */
  get globals(): Map<string, SymbolInfo> {
    if (this.kindMap === undefined) {
      const m = new Map<string, SymbolInfo>();
      for (const s of this.symbols) if (s.origin !== 'loop' && !m.has(s.name)) m.set(s.name, s);
      this.kindMap = m;
    }
    return this.kindMap;
  }

  /** The static kind of a name (a loop variable at `offset` included), or undefined when unknown. */
  kindOf(name: string, offset?: number): ValueKind | undefined {
    if (offset !== undefined) {
      const loop = this.loopVariablesAt(offset).reverse().find((v) => v.name === name);
      if (loop !== undefined) return loop.kind;
    }
    return this.globals.get(name)?.kind;
  }

  /** The for loops holding an offset, outermost first (binary search at each level). */
  forsAt(offset: number): ForStmt[] {
    const out: ForStmt[] = [];
    let body: readonly Statement[] = this.program.body;
    for (;;) {
      let lo = 0;
      let hi = body.length - 1;
      let found: Statement | undefined;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (body[mid]!.span.start <= offset) { found = body[mid]; lo = mid + 1; } else hi = mid - 1;
      }
      if (found === undefined || found.kind !== 'for') return out;
      if (offset > found.span.end && !this.unclosedFor(found, offset)) return out;
      out.push(found);
      body = found.body;
    }
  }

  /** A for loop whose `{` is never closed holds everything after it (what is being typed). */
  private unclosedFor(f: ForStmt, offset: number): boolean {
    const open = this.text.indexOf('{', f.iterable.span.end);
    return open >= 0 && open < offset && !this.braces.pairs.has(open);
  }

  /** Loop variables visible at an offset, innermost last. */
  loopVariablesAt(offset: number): SymbolInfo[] {
    return this.forsAt(offset).map((f) => this.symbols.find((x) => x.origin === 'loop' && x.span.start === f.variable.span.start) ?? { name: f.variable.name, kind: 'int', origin: 'loop', span: f.variable.span });
  }

  /** The innermost statement at an offset. */
  statementAt(offset: number, inclusiveEnd = false): Statement | undefined {
    return statementAt(this.program.body, offset, inclusiveEnd);
  }

  offsetAt(p: Position): number {
    return this.lines.offsetAt(p);
  }

  positionAt(offset: number): Position {
    return this.lines.positionAt(offset);
  }

  /** `{` offsets in order with their matching `}` (skipping strings and comments). */
  get braces(): { openers: number[]; pairs: Map<number, number> } {
    if (this.braceIndex === undefined) {
      const pairs = matchBraces(this.text);
      const openers: number[] = [];
      let inComment = false;
      let inString = false;
      const t = this.text;
      // The same light scan as matchBraces, keeping unmatched openers too.
      for (let p = 0; p < t.length; p++) {
        const c = t.charCodeAt(p);
        if (inComment) { if (c === 10 || c === 13) inComment = false; continue; }
        if (inString) {
          if (c === 92) p++;
          else if (c === 34 || c === 10 || c === 13) inString = false;
          continue;
        }
        if (c === 35 || (c === 47 && t.charCodeAt(p + 1) === 47)) inComment = true;
        else if (c === 34) inString = true;
        else if (c === 123) openers.push(p);
      }
      this.braceIndex = { openers, pairs };
    }
    return this.braceIndex;
  }
}

/** Parsed documents by key (the document URI), rebuilt only when the version changes. */
export class ModelCache {
  private readonly models = new Map<string, { version: number; model: DocumentModel }>();

  constructor(private readonly capacity = 32) {}

  get(key: string, version: number, text: () => string): DocumentModel {
    const hit = this.models.get(key);
    if (hit !== undefined && hit.version === version) return hit.model;
    const model = new DocumentModel(text());
    this.models.delete(key);
    this.models.set(key, { version, model });
    while (this.models.size > this.capacity) {
      const oldest = this.models.keys().next().value;
      if (oldest === undefined) break;
      this.models.delete(oldest);
    }
    return model;
  }

  delete(key: string): void {
    this.models.delete(key);
  }
}
