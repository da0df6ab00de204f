// Semantic tokens for the names a grammar cannot know: declared devices,
// IOMMUs and address spaces, and variables by the kind of value assigned to
// them (domains, buffers, handles). Positions are 0-based (positions.ts).

import type { Expr, Statement } from '../ast';
import type { ValueKind } from '../builtins';
import { statementExprs, forEachExpr } from './ast-util';
import type { DocumentModel } from './document-model';
import { guard } from './guard';

/**
 * Token types of the legend. The first five are custom types (package.json
 * `semanticTokenTypes` declares them with `variable` as their superType so
 * themes without rules for them still colour them as variables).
 */
export const TOKEN_TYPES = ['device', 'iommu', 'domain', 'buffer', 'handle', 'variable', 'parameter'] as const;
export const TOKEN_MODIFIERS = ['declaration', 'readonly', 'defaultLibrary'] as const;

export type TokenType = (typeof TOKEN_TYPES)[number];
export type TokenModifier = (typeof TOKEN_MODIFIERS)[number];

export interface SemanticToken {
  /** 0-based. */
  line: number;
  character: number;
  length: number;
  type: TokenType;
  modifiers: TokenModifier[];
}

/** The token type of a value kind. */
export function tokenTypeOf(kind: ValueKind, origin?: string): TokenType {
  if (origin === 'device' || kind === 'device') return 'device';
  if (origin === 'iommu' || kind === 'iommu') return 'iommu';
  switch (kind) {
    case 'domain': return 'domain';
    case 'buffer': case 'coherent': return 'buffer';
    case 'iova_state': case 'sva_handle': case 'attach_handle': case 'sg': case 'sg_entry': case 'mm': case 'walk': return 'handle';
    default: return 'variable';
  }
}

/**
 * Tokens for a 0-based line range (whole document when absent), in document
 * order (the order SemanticTokensBuilder needs). Never throws.
 */
export function semanticTokens(model: DocumentModel, range?: { startLine: number; endLine: number }): SemanticToken[] {
  return guard('semanticTokens', [], () => {
    const out: SemanticToken[] = [];
    const globals = model.globals;
    const firstLine = range !== undefined ? range.startLine + 1 : 1;
    const lastLine = range !== undefined ? range.endLine + 1 : Number.MAX_SAFE_INTEGER;
    const push = (span: { line: number; column: number; start: number; end: number }, type: TokenType, modifiers: TokenModifier[]): void => {
      if (span.end <= span.start || span.line < firstLine || span.line > lastLine) return;
      out.push({ line: span.line - 1, character: span.column - 1, length: span.end - span.start, type, modifiers });
    };
    const loopScopes: Map<string, ValueKind>[] = [];
    const lookup = (name: string): { type: TokenType; mods: TokenModifier[] } | undefined => {
      for (let i = loopScopes.length - 1; i >= 0; i--) {
        const k = loopScopes[i]!.get(name);
        if (k !== undefined) return { type: k === 'int' || k === 'unknown' ? 'parameter' : tokenTypeOf(k), mods: [] };
      }
      const s = globals.get(name);
      if (s === undefined) return undefined;
      const decl = s.origin === 'device' || s.origin === 'iommu' || s.origin === 'mm';
      return { type: tokenTypeOf(s.kind, s.origin), mods: decl ? ['readonly'] : [] };
    };
    const visitExprs = (roots: Expr[], skip?: Expr): void => {
      forEachExpr(roots, (e) => {
        if (e === skip || e.kind !== 'ident') return;
        const t = lookup(e.name);
        if (t !== undefined) push(e.span, t.type, t.mods);
      });
    };
    const visit = (body: readonly Statement[]): void => {
      for (const s of body) {
        if (s.span.endLine < firstLine) continue;
        if (s.span.line > lastLine) return;
        switch (s.kind) {
          case 'iommu': case 'device': case 'mm': {
            push(s.name.span, s.kind === 'mm' ? 'handle' : s.kind, ['declaration', 'readonly']);
            if (s.kind === 'device') {
              // `iommu = smmu0` / `[ipu, vtd0]` name IOMMUs; `group = g1` names a group (left to the grammar).
              for (const kv of s.entries) if (kv.key.text === 'iommu') visitExprs([kv.value]);
            } else if (s.kind === 'mm') {
              visitExprs(s.maps.flatMap((m) => [m.addr, m.target, m.size]));
            }
            break;
          }
          case 'assign': {
            const t = s.target;
            const id = t.kind === 'ident' ? t : t.object.kind === 'ident' ? t.object : undefined;
            if (id !== undefined && id.kind === 'ident') {
              const l = lookup(id.name);
              if (l !== undefined) push(id.span, l.type, ['declaration', ...l.mods]);
            }
            if (t.kind === 'index') visitExprs([t.index]);
            visitExprs([s.value]);
            break;
          }
          case 'for': {
            push(s.variable.span, 'parameter', ['declaration']);
            visitExprs([s.iterable]);
            const sym = model.symbols.find((x) => x.origin === 'loop' && x.span.start === s.variable.span.start);
            loopScopes.push(new Map([[s.variable.name, sym?.kind ?? 'int']]));
            visit(s.body);
            loopScopes.pop();
            break;
          }
          case 'platform':
            break;
          default:
            visitExprs(statementExprs(s));
        }
      }
    };
    visit(model.program.body);
    out.sort((a, b) => a.line - b.line || a.character - b.character);
    return out;
  });
}
