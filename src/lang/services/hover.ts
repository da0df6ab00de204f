// Hovers: what a kernel call does and what it returned in the last run; a
// number in hex, decimal and size and what held it in the last run; a
// device, IOMMU or domain with its configuration (keys written, defaults the
// engine applied) and its mappings at the end of the run; a constant with
// its value and kernel header. Positions are 0-based (positions.ts).

import type { DeviceDecl, Expr, IommuDecl, MmDecl, Span, Statement } from '../ast';
import { Lexer } from '../lexer';
import { BUILTINS, DECL_KEYS, MEMBERS, type BuiltinSpec, type DeclKind, type ValueKind } from '../builtins';
import { CONSTANTS } from '../constants';
import type { JsonValue, MachineSummary, RunResult } from '../run-result';
import { hitAt, type Hit } from './ast-util';
import { builtinMarkdown } from './builtin-docs';
import type { DocumentModel } from './document-model';
import { WORD_DOCS } from './docs';
import { guard } from './guard';
import { alignmentOf, describeNumber, friendlyValue, hex, humanSize, toBigInt, truncate } from './format';
import { spanToRange, type Position, type Range } from './positions';
import { describeRegions, runIndex, type LineMapper, type RunIndex } from './run-index';
import { signatureOf } from './signature-help';

export interface HoverResult {
  /** Markdown. */
  contents: string;
  range: Range;
}

const KIND_NAMES: Partial<Record<ValueKind, string>> = {
  int: 'integer', bool: 'boolean', string: 'string', bytes: 'bytes', list: 'list', record: 'record', buffer: 'buffer', coherent: 'coherent allocation',
  device: 'device', iommu: 'IOMMU', domain: 'IOMMU domain', iova_state: 'IOVA state (struct dma_iova_state)', sva_handle: 'SVA handle (struct iommu_sva)',
  attach_handle: 'attach handle', sg: 'scatterlist (struct sg_table)', sg_entry: 'scatterlist entry', mm: 'address space (mm_struct)', walk: 'translation walk',
};

const MAX_LIST = 12;

function src(model: DocumentModel, s: Span): string {
  return model.text.slice(s.start, s.end);
}

function renderJson(v: JsonValue | undefined): string {
  if (v === undefined) return 'no value';
  if (v === null) return 'nothing';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.slice(0, 8).map((x) => renderJson(x)).join(', ')}${v.length > 8 ? ', …' : ''}]`;
  return `{ ${Object.entries(v).slice(0, 8).map(([k, x]) => `${k}: ${renderJson(x)}`).join(', ')} }`;
}

/** The last run's results on a 1-based line: call values, expectations, checks, faults, walks. */
function lastRunAt(ix: RunIndex, line: number, call?: { column: number; callee: string }): string[] {
  const out: string[] = [];
  if (call !== undefined) {
    const c = ix.callAt(line, call.column, call.callee);
    if (c !== undefined) {
      const times = c.count > 1 ? ` (ran ${c.count} times; last value)` : '';
      out.push(c.value !== undefined ? `returned \`${friendlyValue(c.value)}\`${times}` : `returned nothing${times}`);
    }
    const w = ix.walkAt(line, call.column, call.callee);
    if (w !== undefined) out.push(walkText(w));
  }
  if (out.length === 0) {
    for (const s of ix.statements.get(line) ?? []) if (s.value !== undefined) out.push(`returned \`${friendlyValue(s.value)}\``);
  }
  for (const e of ix.expectations.get(line) ?? []) out.push(`${e.passed ? '✓ expectation holds' : '✗ expectation failed'}: ${e.message}`);
  for (const c of ix.checks.get(line) ?? []) out.push(`${c.severity === 'error' ? '⛔' : '⚠'} ${c.id}${c.expected ? ' (expected)' : ''}: ${c.message}${c.relatedLine !== undefined ? ` (see line ${c.relatedLine})` : ''}`);
  for (const f of ix.faults.get(line) ?? []) out.push(`⚡ IO page fault${f.expected ? ' (expected)' : ''}: ${f.device} ${f.access} ${f.addr}${f.pasid !== null ? ` PASID ${f.pasid}` : ''}: ${f.reason}`);
  return out;
}

export function walkText(w: { addr: string; phys: string | null; accesses: number; iotlbHit: boolean; staleIotlb?: boolean; fault: string | null; faulted: boolean; faultReason?: string | null; pasid: number | null }): string {
  const pasid = w.pasid !== null ? ` PASID ${w.pasid}` : '';
  if (w.phys === null) return `walk of ${w.addr}${pasid}: fault after ${w.accesses} table reads: ${w.fault ?? 'fault'}`;
  const how = w.iotlbHit ? (w.staleIotlb === true ? 'stale IOTLB hit' : 'IOTLB hit') : `${w.accesses} table reads`;
  const fault = w.faulted ? `; the access faulted: ${w.faultReason ?? 'fault'}` : '';
  return `walk of ${w.addr}${pasid} → phys ${w.phys} (${how})${fault}`;
}

function section(title: string, lines: readonly string[]): string {
  if (lines.length === 0) return '';
  return `\n\n**${title}**\n\n${lines.slice(0, MAX_LIST).map((l) => `- ${l}`).join('\n')}${lines.length > MAX_LIST ? `\n- … ${lines.length - MAX_LIST} more` : ''}`;
}

function callHover(spec: BuiltinSpec, line: number, column: number, run: RunIndex | undefined): string {
  const sig = signatureOf(spec).label;
  let md = `\`${sig}\`\n\n${builtinMarkdown(spec)}`;
  if (run !== undefined) md += section(`Last run (line ${line})`, lastRunAt(run, line, { column, callee: spec.name }));
  return md;
}

function numberHover(value: bigint, run: RunIndex | undefined, title?: string): string {
  let md = `${title !== undefined ? `${title}\n\n` : ''}\`${describeNumber(value)}\``;
  const align = alignmentOf(value);
  if (align >= 16n && value !== 0n) md += `\n\naligned to ${humanSize(align)}`;
  if (run !== undefined) {
    const regions = run.regionsAt(value);
    md += section('In the last run, as a device (DMA) address', describeRegions(value, regions.filter((r) => r.space === 'dma')));
    md += section('In the last run, as a physical address', describeRegions(value, regions.filter((r) => r.space === 'phys')));
  }
  return md;
}

function constantHover(name: string): string | undefined {
  const c = CONSTANTS.get(name);
  if (c === undefined) return undefined;
  const v = c.value;
  return `**${c.name}** = \`${hex(v)}\`${v < 1n << 53n ? ` (${v})` : ''}\n\n\`${c.header}\`\n\n${c.doc}`;
}

/** `key = value` rows: written ones from the tree, the rest from the engine's values (or the table defaults). */
function keyRows(model: DocumentModel, decl: DeclKind, entries: readonly { key: { text: string }; value: Expr }[], applied: Record<string, string | undefined>, iommuKind?: string): string[] {
  const rows: string[] = [];
  const written = new Set<string>();
  for (const kv of entries) {
    written.add(kv.key.text);
    rows.push(`\`${kv.key.text} = ${truncate(src(model, kv.value.span), 60)}\``);
  }
  for (const k of DECL_KEYS[decl].values()) {
    if (written.has(k.name)) continue;
    if (k.kinds !== undefined && iommuKind !== undefined && !k.kinds.includes(iommuKind)) continue;
    const v = applied[k.name] ?? k.default;
    if (v !== undefined) rows.push(`\`${k.name} = ${v}\` *(default)*`);
  }
  return rows;
}

function sizeOf(h: string): string {
  const v = toBigInt(h);
  return v === undefined ? h : humanSize(v);
}

function deviceHover(model: DocumentModel, decl: DeviceDecl | undefined, name: string, run: RunIndex | undefined): string {
  const m = run?.machine;
  const d = m?.devices.find((x) => x.name === name);
  let md = decl !== undefined ? `**device ${name}** : ${decl.bus.text} "${decl.id.value}" (line ${decl.name.span.line})` : `**device ${name}**`;
  const applied: Record<string, string | undefined> = d === undefined ? {} : {
    coherent: String(d.coherent), untrusted: String(d.untrusted), dma_mask: String(d.dmaMaskBits), max_segment_size: d.maxSegmentSize,
    segment_boundary: d.segmentBoundary, pasid_bits: String(d.pasidBits), ats: String(d.ats), pri: String(d.pri), min_align_mask: d.minAlignMask,
    iommu: d.path.length === 0 ? 'none (dma-direct)' : undefined,
    default_domain: d.path.length > 0 ? d.path.map((p) => p.domainType ?? '?').join(', ') : undefined,
  };
  if (decl !== undefined) md += section('Configuration', keyRows(model, 'device', decl.entries, applied));
  if (d !== undefined) {
    const path = d.path.map((p) => `${p.iommu}: group ${p.group}, domain ${p.domain ?? 'none'}${p.domainType ? ` (${p.domainType})` : ''}${p.pasids.length > 0 ? `; PASIDs ${p.pasids.map((x) => `${x.pasid} → ${x.domain}`).join(', ')}` : ''}`);
    md += section('At the end of the last run', path.length > 0 ? path : ['dma-direct (no IOMMU)']);
    const live = m!.mappings.filter((r) => r.device === name && r.live);
    md += section(`Live mappings (${live.length})`, live.map((r) => `${r.dma} +${sizeOf(r.size)} → ${r.phys}${r.bounce ? ` (bounced via ${r.bounce})` : ''} ${r.dir}, ${r.kind}, line ${r.line}`));
  } else if (run !== undefined) {
    md += '\n\n*Not in the last run (it did not get this far, or the file did not run).*';
  }
  return md;
}

function iommuHover(model: DocumentModel, decl: IommuDecl | undefined, name: string, run: RunIndex | undefined): string {
  const m = run?.machine;
  const i = m?.iommus.find((x) => x.name === name);
  const kind = decl?.iommuKind.text ?? i?.kind;
  let md = `**iommu ${name}** : ${kind ?? '?'}${decl !== undefined ? ` (line ${decl.name.span.line})` : ''}`;
  if (kind !== undefined && WORD_DOCS[kind] !== undefined) md += `\n\n${WORD_DOCS[kind]}`;
  const applied: Record<string, string | undefined> = i === undefined ? {} : {
    granule: `${i.granule} (${sizeOf(i.granule)})`, ias: String(i.ias), oas: String(i.oas), iotlb: String(i.iotlbEntries),
    deferred_flush: String(i.deferredFlush), pasid_bits: String(i.pasidBits),
  };
  if (decl !== undefined) md += section('Configuration', keyRows(model, 'iommu', decl.entries, applied, kind));
  if (i !== undefined && m !== undefined) {
    const lines = [
      `driver ${i.driver}; ${i.needsSyncMap ? 'new mappings need iotlb_sync_map' : 'walks see new mappings without iotlb_sync_map'}`,
      `IOTLB: ${i.iotlbEntries} entries, ${i.iotlbHits} hits, ${i.iotlbMisses} misses`,
    ];
    for (const d of m.devices) if (d.path.some((p) => p.iommu === name)) lines.push(`device ${d.name} (${d.busId})`);
    for (const dom of m.domains) if (dom.iommu === name) lines.push(`domain ${dom.label} (${dom.type}): ${dom.mappings.length} live range(s)`);
    md += section('At the end of the last run', lines);
  }
  return md;
}

function domainHover(label: string, m: MachineSummary | undefined): string | undefined {
  const d = m?.domains.find((x) => x.label === label);
  if (d === undefined) return undefined;
  const lines = [
    `type ${d.type} on ${d.iommu}${d.format ? `, page table ${d.format}` : ''}, granule ${sizeOf(d.granule)}`,
    ...(d.aperture ? [`aperture ${d.aperture[0]} .. ${d.aperture[1]}`] : []),
    `attached: ${d.users.length > 0 ? d.users.join(', ') : 'nothing'}`,
  ];
  let md = section(`Domain ${d.label} at the end of the last run`, lines);
  md += section(`Live ranges (${d.mappings.length})`, d.mappings.map((r) => `${r.iova} +${sizeOf(r.size)} → ${r.phys} (${r.via}, line ${r.line})`));
  return md;
}

function mmHover(model: DocumentModel, decl: MmDecl): string {
  return `**mm ${decl.name.text}** (line ${decl.name.span.line}): a process address space for SVA` +
    section('VMAs', decl.maps.map((mp) => `\`map ${src(model, mp.addr.span)} -> ${src(model, mp.target.span)} size ${src(model, mp.size.span)} ${mp.perm.text}\``));
}

function variableHover(model: DocumentModel, name: string, offset: number, run: RunIndex | undefined): string | undefined {
  const loop = model.loopVariablesAt(offset).reverse().find((v) => v.name === name);
  if (loop !== undefined) return `**${name}**: loop variable (line ${loop.span.line})`;
  const sym = model.globals.get(name);
  if (sym === undefined) return undefined;
  if (sym.origin === 'device') return deviceHover(model, model.declarations.get(name) as DeviceDecl | undefined, name, run);
  if (sym.origin === 'iommu') return iommuHover(model, model.declarations.get(name) as IommuDecl | undefined, name, run);
  if (sym.origin === 'mm') {
    const d = model.declarations.get(name);
    return d?.kind === 'mm' ? mmHover(model, d) : undefined;
  }
  let md = `**${name}**: ${KIND_NAMES[sym.kind] ?? 'value'} (assigned on line ${sym.span.line})`;
  if (run === undefined) return md;
  const v = run.run.values?.[name];
  if (v === undefined) return `${md}\n\n*No value in the last run.*`;
  md += `\n\nLast run: \`${truncate(friendlyValue(renderJson(v)), 200)}\``;
  const n = toBigInt(v);
  if (n !== undefined && n >= 0n) md += `\n\n${numberHover(n, run)}`;
  if (sym.kind === 'domain' && typeof v === 'string') md += domainHover(v, run.machine) ?? '';
  if (sym.kind === 'buffer' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const phys = toBigInt(v.phys);
    const size = toBigInt(v.size);
    if (phys !== undefined && size !== undefined && run.machine !== undefined) {
      const maps = run.machine.mappings.filter((r) => {
        const p = toBigInt(r.phys);
        return p !== undefined && p >= phys && p < phys + size;
      });
      md += section(`Mappings of ${name} (${maps.length})`, maps.map((r) => `${r.device} ${r.dma} +${sizeOf(r.size)} ${r.dir}, line ${r.line}${r.live ? ', still mapped' : ''}${r.bounce ? `, bounced via ${r.bounce}` : ''}`));
    }
  }
  return md;
}

function memberHover(model: DocumentModel, hit: Extract<Hit, { kind: 'member' }>, offset: number, run: RunIndex | undefined): string | undefined {
  const obj = hit.object;
  let kind: ValueKind | undefined;
  if (obj.kind === 'ident') kind = model.kindOf(obj.name, offset);
  else if (obj.kind === 'index' && obj.object.kind === 'ident' && model.kindOf(obj.object.name, offset) === 'sg') kind = 'sg_entry';
  else if (obj.kind === 'call') kind = BUILTINS.get(obj.callee.text)?.returns;
  const name = hit.property.text;
  const spec = kind !== undefined ? MEMBERS[kind]?.[name] : undefined;
  let md = spec !== undefined ? `**.${name}** of ${KIND_NAMES[kind!] ?? kind}: ${spec.doc}` : `**.${name}**`;
  if (run !== undefined && obj.kind === 'ident') {
    const v = run.run.values?.[obj.name];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && v[name] !== undefined) {
      md += `\n\nLast run: \`${renderJson(v[name])}\``;
      const n = toBigInt(v[name]);
      if (n !== undefined && n >= 0n) md += `\n\n${numberHover(n, run)}`;
    }
  }
  return md;
}

function keyHover(decl: DeclKind, key: string): string | undefined {
  const k = DECL_KEYS[decl].get(key);
  if (k === undefined) return undefined;
  const parts = [`**${key}** (${decl} key): ${k.doc}`];
  if (k.words) parts.push(`Values: ${k.words.map((w) => `\`${w}\``).join(', ')}.`);
  if (k.default !== undefined) parts.push(`Default: \`${k.default}\`.`);
  if (k.kinds) parts.push(`Applies to ${k.kinds.join(', ')}.`);
  return parts.join('\n\n');
}

function keywordHover(stmt: Statement, run: RunIndex | undefined): string | undefined {
  if (stmt.kind !== 'expect') return undefined;
  let md = `**expect ${stmt.mode === 'value' ? '' : stmt.mode}**`;
  if (run !== undefined) md += section('Last run', lastRunAt(run, stmt.span.line));
  return md;
}

function hoverFor(model: DocumentModel, hit: Hit, offset: number, run: RunIndex | undefined): { md: string; span: Span } | undefined {
  switch (hit.kind) {
    case 'callee': {
      const spec = BUILTINS.get(hit.call.callee.text);
      if (spec === undefined) return undefined;
      return { md: callHover(spec, hit.call.span.line, hit.call.span.column, run), span: hit.call.callee.span };
    }
    case 'number': return { md: numberHover(hit.value, run), span: hit.span };
    case 'ident': {
      const c = constantHover(hit.name);
      if (c !== undefined && !model.globals.has(hit.name)) return { md: c, span: hit.span };
      const b = BUILTINS.get(hit.name);
      if (b !== undefined && !model.globals.has(hit.name)) return { md: builtinMarkdown(b), span: hit.span };
      const v = variableHover(model, hit.name, offset, run);
      if (v !== undefined) return { md: v, span: hit.span };
      // A word inside a declaration value (dma-fq) or an IOMMU named before its declaration.
      const w = WORD_DOCS[hit.name];
      if (w !== undefined) return { md: `**${hit.name}**: ${w}`, span: hit.span };
      const d = model.declarations.get(hit.name);
      if (d?.kind === 'iommu') return { md: iommuHover(model, d, hit.name, run), span: hit.span };
      return undefined;
    }
    case 'member': {
      const md = memberHover(model, hit, offset, run);
      return md === undefined ? undefined : { md, span: hit.property.span };
    }
    case 'named-arg': {
      const spec = BUILTINS.get(hit.call.callee.text);
      const p = spec?.params.find((x) => x.name === hit.arg.name.text);
      return p === undefined ? undefined : { md: `**${p.name}** (argument of ${spec!.name}): ${p.doc}`, span: hit.arg.name.span };
    }
    case 'decl-name': {
      const d = hit.decl;
      const md = d.kind === 'device' ? deviceHover(model, d, d.name.text, run) : d.kind === 'iommu' ? iommuHover(model, d, d.name.text, run) : mmHover(model, d);
      return { md, span: d.name.span };
    }
    case 'decl-key': {
      const md = keyHover(hit.decl.kind, hit.kv.key.text);
      return md === undefined ? undefined : { md, span: hit.kv.key.span };
    }
    case 'iommu-kind': {
      const w = WORD_DOCS[hit.decl.iommuKind.text];
      return w === undefined ? undefined : { md: `**${hit.decl.iommuKind.text}**: ${w}`, span: hit.decl.iommuKind.span };
    }
    case 'bus': {
      const w = WORD_DOCS[hit.decl.bus.text];
      return w === undefined ? undefined : { md: `**${hit.decl.bus.text}** bus: ${w}`, span: hit.decl.bus.span };
    }
    case 'keyword': {
      const md = keywordHover(hit.stmt, run);
      const s = hit.stmt.span;
      return md === undefined ? undefined : { md, span: { start: s.start, end: s.start + hit.word.length, line: s.line, column: s.column, endLine: s.line, endColumn: s.column + hit.word.length } };
    }
  }
}

/** A line that does not parse (being typed): hover the token under the cursor, a number or a name. */
function tokenHover(model: DocumentModel, offset: number, run: RunIndex | undefined): { md: string; span: Span } | undefined {
  const line = model.positionAt(offset).line;
  const start = model.lines.starts[line] ?? 0;
  const lexer = new Lexer(model.lines.lineText(line));
  for (let i = 0; i < 10_000; i++) {
    const t = lexer.next();
    if (t.kind === 'eof' || t.start + start > offset) return undefined;
    if (offset >= t.end + start) continue;
    const span: Span = { start: t.start + start, end: t.end + start, line: line + 1, column: t.start + 1, endLine: line + 1, endColumn: t.end + 1 };
    if (t.kind === 'number' && t.value !== undefined) return { md: numberHover(t.value, run), span };
    if (t.kind !== 'ident') return undefined;
    const stmt: Statement = { kind: 'expr', expr: { kind: 'ident', name: t.text, span }, span };
    const b = BUILTINS.get(t.text);
    if (b !== undefined) return { md: builtinMarkdown(b), span };
    return hoverFor(model, { kind: 'ident', name: t.text, span, stmt, parent: undefined, call: undefined }, offset, run);
  }
  return undefined;
}

/**
 * The hover at a 0-based position. `run` is the document's last run result
 * (its lines may be stale after an edit: `lines` maps them to the current
 * text, and results are matched to calls by line, column and callee, so a
 * moved call shows nothing rather than a wrong value). Never throws.
 */
export function hover(model: DocumentModel, pos: Position, runResult?: RunResult, lines?: LineMapper): HoverResult | undefined {
  return guard('hover', undefined, () => {
    const run = runResult === undefined ? undefined : runIndex(runResult, lines);
    const offset = model.offsetAt(pos);
    const stmt = model.statementAt(offset);
    const hit = stmt !== undefined ? hitAt(stmt, offset, model.text) : undefined;
    const h = hit !== undefined ? hoverFor(model, hit, offset, run) : tokenHover(model, offset, run);
    return h === undefined ? undefined : { contents: h.md, range: spanToRange(h.span) };
  });
}
