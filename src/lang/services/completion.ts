// Completion: kernel calls with their arguments as snippets in kernel order,
// declared names of the kind an argument takes, constants of the family a
// parameter takes, declaration keys with their docs, IOMMU kinds and buses,
// `expect` sub-forms and errno names. Positions are 0-based (positions.ts).

import {
  BUILTINS, DECL_KEYS, DEVICE_BUSES, DOMAIN_TYPES, IOMMU_KINDS, MEMBERS,
  type BuiltinSpec, type KeySpec, type ParamKind, type ParamSpec, type ValueKind,
} from '../builtins';
import type { SymbolInfo } from '../checker';
import { CONSTANTS, type ConstantFamily, type ConstantInfo } from '../constants';
import { KIND_LABEL, activeParameter, builtinMarkdown } from './builtin-docs';
import { cursorInfo, type CallFrame, type CursorContext } from './cursor-context';
import type { DocumentModel } from './document-model';
import { WORD_DOCS } from './docs';
import { guard } from './guard';
import { hex } from './format';
import type { Position, Range } from './positions';

export type CompletionKind =
  | 'function' | 'variable' | 'constant' | 'keyword' | 'property' | 'enum-member' | 'snippet' | 'value' | 'field' | 'module' | 'class' | 'struct' | 'event';

export interface CompletionEntry {
  label: string;
  kind: CompletionKind;
  /** One line shown next to the label (a signature, a kind, a value). */
  detail?: string;
  /** Markdown. */
  documentation?: string;
  /** Text to insert (the label when absent). */
  insertText?: string;
  /** insertText is a snippet (`${1:dev}` placeholders). */
  snippet?: boolean;
  sortText?: string;
  filterText?: string;
  /** Range the item replaces (0-based); the word at the cursor when absent. */
  range?: Range;
  /** Open signature help after inserting (calls). */
  triggerParameterHints?: boolean;
}

export interface CompletionResult {
  items: CompletionEntry[];
  /** The word at the cursor that items replace. */
  range: Range;
  /** Not every name was offered (a huge file): ask again as the user types. */
  incomplete?: boolean;
}


/** Can a value of kind `k` go where a parameter of kind `pk` is expected? (The checker's rule, unknown accepted.) */
export function acceptsKind(pk: ParamKind, k: ValueKind): boolean {
  if (k === 'unknown' || pk === 'any') return true;
  switch (pk) {
    case 'int': case 'dir': case 'prot': case 'attrs': case 'bool': return k === 'int' || k === 'bool';
    case 'phys': return k === 'int' || k === 'buffer';
    case 'buffer': return k === 'buffer' || k === 'coherent';
    case 'bytes': return k === 'bytes' || k === 'string';
    case 'data': return k === 'bytes' || k === 'string' || k === 'int';
    case 'sg_entry': return k === 'sg_entry' || k === 'buffer';
    default: return k === pk;
  }
}

const FAMILY_OF: Partial<Record<ParamKind, ConstantFamily>> = { dir: 'dir', prot: 'prot', attrs: 'attrs' };
const REF_KINDS: ReadonlySet<ParamKind> = new Set(['device', 'iommu', 'domain', 'iova_state', 'sva_handle', 'coherent', 'sg', 'mm', 'buffer']);

const ACCESS_CALLS = ['dev_read', 'dev_write', 'user_read', 'user_write', 'translate'];
const READ_CALLS = ['dev_read', 'cpu_read', 'user_read'];

function constantsOf(family: ConstantFamily): ConstantInfo[] {
  return [...CONSTANTS.values()].filter((c) => c.family === family);
}

function constantEntry(c: ConstantInfo, sort = '1'): CompletionEntry {
  return {
    label: c.name,
    kind: c.family === 'errno' || c.family === 'dir' ? 'enum-member' : 'constant',
    detail: `${hex(c.value)} (${c.header})`,
    documentation: c.doc,
    sortText: `${sort}${c.name}`,
  };
}

export function paramLabel(spec: BuiltinSpec): string {
  return spec.params.map((p) => (p.variadic ? `${p.name}...` : p.namedOnly ? `[${p.name} = ...]` : p.optional ? `[${p.name}]` : p.name)).join(', ');
}


function escapeChoice(s: string): string {
  return s.replace(/[$}\\,|]/g, (c) => `\\${c}`);
}

function escapePlaceholder(s: string): string {
  return s.replace(/[$}\\]/g, (c) => `\\${c}`);
}

/** The snippet of a call: required parameters as placeholders in kernel order, declared names or constants offered as choices. */
export function callSnippet(spec: BuiltinSpec, namesFor: (pk: ParamKind) => string[]): string {
  const parts: string[] = [];
  let n = 1;
  for (const p of spec.params) {
    if (p.optional || p.namedOnly) continue;
    if (p.variadic) {
      parts.push(`\${${n++}:buf} : \${${n++}:len}`);
      continue;
    }
    const family = FAMILY_OF[p.kind];
    const choices = family === 'dir' ? ['DMA_TO_DEVICE', 'DMA_FROM_DEVICE', 'DMA_BIDIRECTIONAL'] : REF_KINDS.has(p.kind) ? namesFor(p.kind) : [];
    if (choices.length > 1) parts.push(`\${${n++}|${choices.map(escapeChoice).join(',')}|}`);
    else parts.push(`\${${n++}:${escapePlaceholder(choices[0] ?? p.name)}}`);
  }
  return `${spec.name}(${parts.join(', ')})$0`;
}

interface Env {
  model: DocumentModel;
  offset: number;
  /** Names visible here: global symbols defined before the cursor's line, and loop variables around it. */
  visible: SymbolInfo[];
  /** namesOfParam results by parameter kind (and IOMMU kinds). */
  memo: Map<string, SymbolInfo[]>;
}

/** Choices offered in a call snippet's placeholder: the names defined nearest above the cursor first. */
const MAX_CHOICES = 8;

/** Variables offered at once; with more, the nearest ones matching the typed prefix (and the list is marked incomplete). */
const MAX_SYMBOLS = 500;

function visibleSymbols(model: DocumentModel, offset: number, prefix: string): { list: SymbolInfo[]; capped: boolean } {
  const line1 = model.positionAt(offset).line + 1;
  let out: SymbolInfo[] = [];
  for (const s of model.globals.values()) if (s.span.line < line1 || (s.origin !== 'variable' && s.span.line <= line1 && s.span.end < offset)) out.push(s);
  let capped = false;
  if (out.length > MAX_SYMBOLS) {
    capped = true;
    const p = prefix.toLowerCase();
    // Declarations always; variables matching the prefix, nearest the cursor first.
    const decls = out.filter((s) => s.origin !== 'variable');
    const vars = out.filter((s) => s.origin === 'variable' && (p === '' || s.name.toLowerCase().startsWith(p)));
    out = [...decls, ...vars.slice(Math.max(0, vars.length - (MAX_SYMBOLS - decls.length)))];
  }
  for (const s of model.loopVariablesAt(offset)) out.push(s);
  return { list: out, capped };
}

function namesOfParam(env: Env, pk: ParamKind, spec?: BuiltinSpec): SymbolInfo[] {
  const key = `${pk}|${pk === 'iommu' ? spec?.iommuKinds?.join(',') ?? '' : ''}`;
  let hit = env.memo.get(key);
  if (hit === undefined) {
    hit = env.visible.filter((s) => {
      if (!acceptsKind(pk, s.kind) || s.kind === 'unknown') return false;
      if (pk === 'iommu' && spec?.iommuKinds !== undefined && s.iommuKind !== undefined) return spec.iommuKinds.includes(s.iommuKind);
      return true;
    });
    env.memo.set(key, hit);
  }
  return hit;
}

function symbolEntry(s: SymbolInfo, sort: string): CompletionEntry {
  const what = s.origin === 'device' || s.origin === 'iommu' || s.origin === 'mm' ? `${s.origin}${s.iommuKind ? ` : ${s.iommuKind}` : ''}` : KIND_LABEL[s.kind] ?? 'variable';
  return {
    label: s.name,
    kind: s.origin === 'device' || s.origin === 'iommu' ? 'module' : s.origin === 'mm' ? 'struct' : 'variable',
    detail: `${what} (line ${s.span.line})`,
    sortText: `${sort}${s.name}`,
  };
}

function builtinEntry(env: Env, spec: BuiltinSpec, withParens: boolean, sort: string): CompletionEntry {
  const entry: CompletionEntry = {
    label: spec.name,
    kind: 'function',
    detail: `${spec.name}(${paramLabel(spec)})${spec.returns !== 'void' ? ` → ${KIND_LABEL[spec.returns] ?? spec.returns}` : ''}`,
    documentation: builtinMarkdown(spec),
    sortText: `${sort}${spec.name}`,
  };
  if (withParens) {
    entry.insertText = callSnippet(spec, (pk) => {
      const names = namesOfParam(env, pk, spec);
      return names.slice(Math.max(0, names.length - MAX_CHOICES)).map((s) => s.name);
    });
    entry.snippet = true;
    entry.triggerParameterHints = true;
  }
  return entry;
}

/** Items for an expression position: variables, calls that return a value, constants (non-errno first). */
function expressionItems(env: Env, withParens: boolean, opts: { statement?: boolean } = {}): CompletionEntry[] {
  const items: CompletionEntry[] = [];
  for (const s of env.visible) items.push(symbolEntry(s, '1'));
  for (const spec of BUILTINS.values()) {
    if (!opts.statement && spec.returns === 'void') continue;
    items.push(builtinEntry(env, spec, withParens, '2'));
  }
  for (const c of CONSTANTS.values()) items.push(constantEntry(c, c.family === 'errno' || c.family === 'vhost_perm' ? '4' : '3'));
  items.push({ label: 'true', kind: 'keyword', sortText: '5true' }, { label: 'false', kind: 'keyword', sortText: '5false' });
  return items;
}

const STATEMENT_KEYWORDS: [string, string, string][] = [
  ['platform', 'platform {\n\tpage_size = ${1|4K,16K,64K|}\n\tmemory = ${2:0x8000_0000 .. 0x2_0000_0000}\n}$0', 'The machine: CPU page size, RAM, cache line, swiotlb, CPUs.'],
  ['iommu', 'iommu ${1:smmu0} : ${2|' + IOMMU_KINDS.map(escapeChoice).join(',') + '|} { $0 }', 'Declares an IOMMU instance: `iommu NAME : KIND { keys }`.'],
  ['device', 'device ${1:nvme0} : ${2|pci,platform,virtio|} "${3:0000:01:00.0}" { iommu = ${4:smmu0}$0 }', 'Declares (and probes) a device: `device NAME : BUS "id" { keys }`.'],
  ['mm', 'mm ${1:p1} { map ${2:0x7f00_0000_0000} -> ${3:buf} size ${4:4K} ${5|rw,r,w,rx,rwx|} }$0', 'A process address space for SVA.'],
  ['for', 'for ${1:i} in ${2:0} .. ${3:16} {\n\t$0\n}', 'Loop over a range or a list.'],
  ['expect', 'expect $0', 'An expectation: fails the run when it does not hold.'],
  ['print', 'print $0', 'Prints a value to the run log.'],
  ['checkpoint', 'checkpoint "${1:label}"$0', 'A named point in the trace.'],
];

function statementItems(env: Env, withParens: boolean): CompletionEntry[] {
  const items = expressionItems(env, withParens, { statement: true });
  for (const [word, snippet, doc] of STATEMENT_KEYWORDS) {
    items.push({ label: word, kind: 'keyword', insertText: snippet, snippet: true, documentation: doc, sortText: `0${word}` });
  }
  return items;
}

const EXPECT_FORMS: [string, string, string][] = [
  ['fault', 'fault ${1:dev_read}($0)', '`expect fault CALL`: the device access must raise an IO page fault.'],
  ['error', 'error ${1|EINVAL,EIO,ENOMEM,EBUSY,ENODEV,EOPNOTSUPP,ENOENT,ENOSPC|} $0', '`expect error ERRNO CALL`: the call must return -ERRNO.'],
  ['violation', 'violation "${1:different size}" $0', '`expect violation "text" [CALL]`: a check whose message contains the text must fire (from the call, or so far); `violation kernel "..."` / `violation dmascope "..."` name whose report it is; `NAME = CALL` keeps the call\'s value.'],
  ['violations', 'violations ["${1:different size}", "${2:different direction}"] $0', '`expect violations ["a", "b"] CALL`: the call\'s findings are exactly these (`[]`: none).'],
  ['!violation', '!violation $0', '`expect !violation CALL`: the call draws no finding.'],
  ['stale', 'stale ${1:cpu_read}($0)', '`expect stale CALL`: the read must see stale data.'],
  ['bounced', 'bounced ${1:h}$0', '`expect bounced ADDR`: the mapping went through swiotlb or a bounce page.'],
  ['!bounced', '!bounced ${1:h}$0', '`expect !bounced ADDR`: the mapping did not bounce.'],
  ['log', 'log "${1:unaligned}"$0', '`expect log "text" [CALL]`: the kernel log has a line containing the text (printed by the call, or so far).'],
  ['!log', '!log "${1:swiotlb buffer is full}"$0', '`expect !log "text" [CALL]`: no kernel log line contains the text.'],
  ['no_leaks', 'no_leaks', '`expect no_leaks`: nothing is left mapped at this point.'],
];

function argumentItems(env: Env, frame: CallFrame, withParens: boolean): CompletionEntry[] {
  const spec = BUILTINS.get(frame.callee);
  if (spec === undefined) return expressionItems(env, withParens);
  const idx = activeParameter(spec, frame.argIndex, frame.named);
  const prm: ParamSpec | undefined = idx === undefined ? undefined : spec.params[idx];
  const items: CompletionEntry[] = [];
  // Named-only parameters (`pasid = `) can go at any argument start.
  if (frame.named === undefined && frame.argTokens.length === 0) {
    for (const p of spec.params) {
      if (!p.namedOnly) continue;
      items.push({ label: `${p.name} =`, kind: 'field', insertText: `${p.name} = `, detail: `named argument of ${spec.name}`, documentation: p.doc, sortText: `6${p.name}` });
    }
  }
  if (prm === undefined) return items.length > 0 ? items : expressionItems(env, withParens);
  const family = FAMILY_OF[prm.kind];
  if (family !== undefined) {
    // Flags combine with `|`: keep offering the family after an operator.
    for (const c of constantsOf(family)) {
      if (family === 'dir' && c.name === 'DMA_NONE') { items.push(constantEntry(c, '8')); continue; }
      items.push(constantEntry(c, '0'));
    }
    for (const s of namesOfParam(env, 'int')) items.push(symbolEntry(s, '5'));
    return items;
  }
  if (REF_KINDS.has(prm.kind) && frame.argTokens.length > 0) return expressionItems(env, withParens);
  for (const s of namesOfParam(env, prm.kind, spec)) items.push(symbolEntry(s, '0'));
  // Calls that make a value of the right kind (alloc_pages where a buffer goes).
  for (const b of BUILTINS.values()) {
    if (b.returns === 'void' || b.returns === 'unknown' || !acceptsKind(prm.kind, b.returns)) continue;
    // Integer-returning calls fit every integer argument: offering them all is noise.
    if (b.returns === 'int' || b.returns === 'bool') continue;
    items.push(builtinEntry(env, b, withParens, '3'));
  }
  if (prm.kind === 'int' || prm.kind === 'phys' || prm.kind === 'bool' || prm.kind === 'data' || prm.kind === 'any') {
    for (const s of env.visible) if (s.kind === 'unknown') items.push(symbolEntry(s, '4'));
    if (prm.kind === 'bool') items.push({ label: 'true', kind: 'keyword', sortText: '0true' }, { label: 'false', kind: 'keyword', sortText: '0false' });
    if (prm.name === 'pasid') items.push(constantEntry(CONSTANTS.get('IOMMU_NO_PASID')!, '2'));
  }
  return items;
}

function keyDetail(k: KeySpec): string {
  const hint = k.words ? k.words.join(' | ') : k.oneOf ? k.oneOf.map((v) => sizeText(v)).join(' | ') : k.value;
  return `${hint}${k.default !== undefined ? ` (default ${k.default})` : ''}`;
}

function sizeText(v: bigint): string {
  for (const [s, sh] of [['G', 30n], ['M', 20n], ['K', 10n]] as const) if (v >= 1n << sh && v % (1n << sh) === 0n) return `${v >> sh}${s}`;
  return v.toString();
}

function keyItems(decl: 'platform' | 'iommu' | 'device', iommuKind: string | undefined, used: string[]): CompletionEntry[] {
  const items: CompletionEntry[] = [];
  for (const k of DECL_KEYS[decl].values()) {
    if (used.includes(k.name)) continue;
    const applies = k.kinds === undefined || iommuKind === undefined || k.kinds.includes(iommuKind);
    const value = k.value === 'bool' ? '${1|true,false|}' : k.words ? `\${1|${k.words.join(',')}|}` : k.oneOf ? `\${1|${k.oneOf.map(sizeText).join(',')}|}` : `\${1:${escapePlaceholder(k.default ?? '')}}`;
    items.push({
      label: k.name,
      kind: 'property',
      detail: keyDetail(k),
      documentation: `${k.doc}${k.kinds ? `\n\nApplies to: ${k.kinds.join(', ')}.` : ''}${k.default !== undefined ? `\n\nDefault: \`${k.default}\`.` : ''}`,
      insertText: `${k.name} = ${value}`,
      snippet: true,
      sortText: `${applies ? '0' : '9'}${k.name}`,
    });
  }
  return items;
}


function wordItems(words: readonly string[], range: Range, kind: CompletionKind = 'enum-member'): CompletionEntry[] {
  return words.map((w, i) => ({ label: w, kind, range, documentation: WORD_DOCS[w], sortText: `${i.toString().padStart(2, '0')}` }));
}

function valueItems(env: Env, ctx: Extract<CursorContext, { kind: 'decl-value' }>, dashed: Range): CompletionEntry[] {
  const spec = ctx.decl === 'mm' ? undefined : DECL_KEYS[ctx.decl].get(ctx.key);
  if (spec === undefined) return [];
  switch (spec.value) {
    case 'bool': return wordItems(['true', 'false'], dashed, 'keyword');
    case 'word': return wordItems(spec.words ?? [], dashed);
    case 'domain-type': return wordItems(DOMAIN_TYPES, dashed);
    case 'iommu-ref': {
      const line1 = env.model.positionAt(env.offset).line + 1;
      return [...env.model.declarations.values()].filter((d) => d.kind === 'iommu' && d.name.span.line <= line1).map((d) => ({
        label: d.name.text, kind: 'module' as const, detail: `iommu : ${d.kind === 'iommu' ? d.iommuKind.text : ''} (line ${d.name.span.line})`, sortText: `0${d.name.text}`,
      }));
    }
    case 'name': {
      // Groups already named by other devices.
      const groups = new Set<string>();
      for (const d of env.model.declarations.values()) {
        if (d.kind !== 'device') continue;
        for (const kv of d.entries) if (kv.key.text === 'group' && kv.value.kind === 'ident') groups.add(kv.value.name);
      }
      return [...groups].map((g) => ({ label: g, kind: 'value' as const, detail: 'IOMMU group' }));
    }
    default: {
      const out: CompletionEntry[] = [];
      if (spec.oneOf) spec.oneOf.forEach((v, i) => out.push({ label: sizeText(v), kind: 'value', detail: hex(v), sortText: `0${i}` }));
      else if (spec.default !== undefined) out.push({ label: spec.default, kind: 'value', detail: 'default', sortText: '0' });
      return out;
    }
  }
}

function memberItems(kind: ValueKind | undefined): CompletionEntry[] {
  const kinds: ValueKind[] = kind === undefined || kind === 'unknown' ? (Object.keys(MEMBERS) as ValueKind[]) : [kind];
  const seen = new Set<string>();
  const items: CompletionEntry[] = [];
  for (const k of kinds) {
    for (const [name, m] of Object.entries(MEMBERS[k] ?? {})) {
      if (seen.has(name)) continue;
      seen.add(name);
      items.push({ label: name, kind: 'field', detail: `${KIND_LABEL[k] ?? k}.${name}: ${KIND_LABEL[m.kind] ?? m.kind}`, documentation: m.doc });
    }
  }
  return items;
}

const VDUSE_FIELDS: [string, string][] = [
  ['start', 'First IOVA of the range.'], ['last', 'Last IOVA of the range (inclusive).'], ['addr', 'Userspace/physical address the range maps to.'],
  ['perm', 'RO, WO or RW.'], ['file', 'Backing file name.'], ['offset', 'Offset in the file.'],
];

/** Completion items at a 0-based position. Never throws. */
export function complete(model: DocumentModel, pos: Position): CompletionResult {
  const empty = { line: pos.line, character: pos.character };
  return guard('completion', { items: [], range: { start: empty, end: empty } }, () => {
    const offset = model.offsetAt(pos);
    const info = cursorInfo(model, offset);
    const range: Range = { start: model.positionAt(info.wordStart), end: model.positionAt(info.wordEnd) };
    const dashed: Range = { start: model.positionAt(info.dashedStart), end: model.positionAt(info.wordEnd) };
    const vis = visibleSymbols(model, offset, info.prefix);
    const env: Env = { model, offset, visible: vis.list, memo: new Map() };
    const parens = !info.followedByParen;
    const ctx = info.ctx;
    let items: CompletionEntry[];
    switch (ctx.kind) {
      case 'none': items = []; break;
      case 'statement-start': items = statementItems(env, parens); break;
      case 'expression': items = expressionItems(env, parens); break;
      case 'expect-form': {
        items = EXPECT_FORMS.map(([label, snippet, doc], i) => ({ label, kind: 'keyword' as const, insertText: snippet, snippet: true, documentation: doc, sortText: `0${i}` }));
        items.push(...expressionItems(env, parens));
        break;
      }
      case 'expect-errno': items = constantsOf('errno').map((c) => constantEntry(c, '0')); break;
      case 'expect-call': {
        const names = ctx.mode === 'fault' ? ACCESS_CALLS : ctx.mode === 'stale' ? READ_CALLS : [...BUILTINS.keys()];
        items = names.map((n) => BUILTINS.get(n)).filter((s): s is BuiltinSpec => s !== undefined)
          .filter((s) => ctx.mode !== 'error' || s.returns !== 'void')
          .map((s) => builtinEntry(env, s, parens, '0'));
        break;
      }
      case 'expect-bounced': items = env.visible.filter((s) => s.kind === 'int' || s.kind === 'unknown' || s.kind === 'coherent' || s.kind === 'iova_state').map((s) => symbolEntry(s, '0')); break;
      case 'argument': items = ctx.frame.afterOperand ? [] : argumentItems(env, ctx.frame, parens); break;
      case 'record-field': items = ctx.callee === 'vduse_domain_set_map' ? VDUSE_FIELDS.map(([n, d]) => ({ label: n, kind: 'field' as const, insertText: `${n} = `, documentation: d })) : []; break;
      case 'member': items = memberItems(ctx.objectKind); break;
      case 'iommu-kind': items = wordItems(IOMMU_KINDS, dashed); break;
      case 'bus': items = wordItems(DEVICE_BUSES, dashed); break;
      case 'decl-key': items = ctx.decl === 'mm' ? [] : keyItems(ctx.decl, ctx.iommuKind, ctx.used); break;
      case 'decl-value': items = valueItems(env, ctx, dashed); break;
      case 'mm-map':
        items = ctx.step === 'keyword' ? [{ label: 'map', kind: 'keyword', insertText: 'map ${1:0x7f00_0000_0000} -> ${2:buf} size ${3:4K} ${4|rw,r,w,rx,rwx|}', snippet: true, documentation: '`map ADDR -> TARGET size SIZE PERM`: a VMA of the address space.' }]
          : ctx.step === 'target' ? env.visible.filter((s) => s.kind === 'buffer' || s.kind === 'int' || s.kind === 'coherent').map((s) => symbolEntry(s, '0'))
            : ctx.step === 'perm' ? wordItems(['rw', 'r', 'w', 'rx', 'rwx'], dashed) : [];
        break;
    }
    return vis.capped ? { items, range, incomplete: true } : { items, range };
  });
}
