// Parse and check again after an edit, reusing what did not change: the
// editor's keystroke path on large files. The previous version's top-level
// statements, their diagnostics and the checker's state every CHECKPOINT_EVERY
// statements are kept. An edit inside lines (the line count unchanged) parses
// only the statements on the changed lines, checks them from the nearest
// checkpoint, and keeps every other statement's diagnostics as they were when
// the edited statements leave the checker in the same state (same names, kinds
// and declarations). Anything else (lines added or removed, a parse error in
// the edited lines, a line continuation, a changed definition) parses and
// checks the whole file, as parseAndCheck does; the result is the same either
// way. Statement offsets after an edit are not kept current: the program here
// is this class's own, callers get diagnostics.

import type { Statement } from './ast';
import { StatementChecker, sameCheckerState, type CheckerState } from './checker';
import { parse } from './parser';
import type { Diagnostic } from './run-result';
import { MAX_DIAGNOSTICS } from './tokens';

/** Top-level statements between two saved checker states. */
const CHECKPOINT_EVERY = 256;

interface Checked {
  source: string;
  /** Offset where each line starts (line 1 at index 0). */
  lineStarts: number[];
  body: Statement[];
  parseDiagnostics: Diagnostic[];
  /** Check diagnostics of statement i: checkDiagnostics[diagStart[i] .. diagStart[i + 1]). */
  checkDiagnostics: Diagnostic[];
  diagStart: number[];
  /** State before statement k * CHECKPOINT_EVERY. */
  checkpoints: CheckerState[];
  checker: StatementChecker;
}

export interface RecheckResult {
  diagnostics: Diagnostic[];
  /** True when the edit was re-checked alone; false when the whole file was. */
  incremental: boolean;
}

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.line - b.line || a.column - b.column || a.endLine - b.endLine || a.endColumn - b.endColumn;
}

function lineStartsOf(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The 1-based line holding `offset`. */
function lineAt(lineStarts: number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Diagnostics as parseAndCheck orders and caps them. */
function merged(parseDiagnostics: Diagnostic[], checkDiagnostics: Diagnostic[]): Diagnostic[] {
  const all = [...parseDiagnostics, ...checkDiagnostics].sort(byPosition);
  if (all.length <= MAX_DIAGNOSTICS + 1) return all;
  const capped = all.slice(0, MAX_DIAGNOSTICS);
  capped.push({ ...capped[capped.length - 1], severity: 'error', code: 'too-many-errors', message: `more than ${MAX_DIAGNOSTICS} problems; the rest are not shown` });
  return capped;
}

export class IncrementalChecker {
  private last: Checked | undefined;

  /** The diagnostics parseAndCheck(source) gives, reusing the previous call's work where the edit allows. */
  update(source: string): RecheckResult {
    const prev = this.last;
    if (prev !== undefined) {
      if (prev.source === source) return { diagnostics: merged(prev.parseDiagnostics, prev.checkDiagnostics), incremental: true };
      const again = this.recheck(prev, source);
      if (again !== undefined) return { diagnostics: again, incremental: true };
    }
    return { diagnostics: this.full(source), incremental: false };
  }

  /** Forget the previous version (the document closed). */
  reset(): void {
    this.last = undefined;
  }

  private full(source: string): Diagnostic[] {
    const parsed = parse(source);
    const body = parsed.program.body;
    const checker = new StatementChecker(parsed.program);
    const diagStart: number[] = [];
    const checkpoints: CheckerState[] = [];
    for (let i = 0; i < body.length; i++) {
      if (i % CHECKPOINT_EVERY === 0) checkpoints.push(checker.save());
      diagStart.push(checker.diagnostics.length);
      checker.check(body[i]);
    }
    diagStart.push(checker.diagnostics.length);
    this.last = { source, lineStarts: lineStartsOf(source), body, parseDiagnostics: parsed.diagnostics, checkDiagnostics: checker.diagnostics, diagStart, checkpoints, checker };
    // The same list parseAndCheck makes (its checker ran the same statements in the same order).
    return parseAndCheckDiagnostics(parsed.diagnostics, checker.diagnostics);
  }

  /** Diagnostics after an edit inside lines, or undefined when the whole file must be checked. */
  private recheck(prev: Checked, source: string): Diagnostic[] | undefined {
    const old = prev.source;
    if (prev.checkDiagnostics.length >= MAX_DIAGNOSTICS || prev.parseDiagnostics.length > 0) return undefined;
    // The changed range: [p, old.length - s) in the old text, [p, source.length - s) in the new.
    const max = Math.min(old.length, source.length);
    // Whole blocks compare natively; the last block char by char.
    const BLOCK = 4096;
    let p = 0;
    while (p + BLOCK <= max && old.slice(p, p + BLOCK) === source.slice(p, p + BLOCK)) p += BLOCK;
    while (p < max && old.charCodeAt(p) === source.charCodeAt(p)) p++;
    let s = 0;
    while (s + BLOCK <= max - p && old.slice(old.length - s - BLOCK, old.length - s) === source.slice(source.length - s - BLOCK, source.length - s)) s += BLOCK;
    while (s < max - p && old.charCodeAt(old.length - 1 - s) === source.charCodeAt(source.length - 1 - s)) s++;
    const oldEnd = old.length - s;
    const newEnd = source.length - s;
    const newlines = countNewlines(source, p, newEnd);
    if (newlines !== countNewlines(old, p, oldEnd)) return undefined;
    const firstLine = lineAt(prev.lineStarts, p);
    const lastLine = firstLine + newlines;
    // The top-level statements on the changed lines (a block is one statement over its lines).
    const body = prev.body;
    let a = 0;
    let hi = body.length;
    while (a < hi) {
      const mid = (a + hi) >> 1;
      if (body[mid].span.endLine < firstLine) a = mid + 1;
      else hi = mid;
    }
    let b = a;
    while (b < body.length && body[b].span.line <= lastLine) b++;
    const regionFirst = a < b ? Math.min(firstLine, body[a].span.line) : firstLine;
    const regionLast = a < b ? Math.max(lastLine, body[b - 1].span.endLine) : lastLine;
    // Lines keep their numbers; those after the change move by the length difference.
    const delta = source.length - old.length;
    const lineStarts = prev.lineStarts.slice();
    for (let i = firstLine; i < lineStarts.length; i++) lineStarts[i] += delta;
    // Lines that start inside the changed text (an edit across lines) are found again.
    for (let line = firstLine + 1, at = lineStarts[firstLine - 1]; line <= lastLine; line++) {
      at = source.indexOf('\n', at) + 1;
      lineStarts[line - 1] = at;
    }
    const from = lineStarts[regionFirst - 1];
    const to = regionLast < lineStarts.length ? lineStarts[regionLast] : source.length;
    const region = source.slice(from, to);
    const before = regionFirst >= 2 ? source.slice(lineStarts[regionFirst - 2], from) : '';
    // A line continuation joins lines across the region's edge: the whole file decides.
    if (region.includes('\\') || before.includes('\\')) return undefined;
    const reparsed = parse('\n'.repeat(regionFirst - 1) + region);
    if (reparsed.diagnostics.length > 0) return undefined;
    const fresh = reparsed.program.body;
    if (fresh.some((st) => st.kind === 'platform') || body.slice(a, b).some((st) => st.kind === 'platform')) return undefined;
    const defsOld = StatementChecker.definitions(body.slice(a, b));
    const defsNew = StatementChecker.definitions(fresh);
    if (defsOld.length !== defsNew.length || defsOld.some((d, i) => d !== defsNew[i])) return undefined;

    // Check the new statements from the state before them; the old ones must have left the same state.
    // Statements other than declarations change only the globals of the names they assign (defsNew):
    // those are compared; a declaration (IOMMU groups, devices) compares the whole state.
    const declares = (st: Statement): boolean => st.kind === 'iommu' || st.kind === 'device' || st.kind === 'mm';
    const whole = fresh.some(declares) || body.slice(a, b).some(declares);
    const names = defsNew.map((d) => d.slice(0, d.lastIndexOf('@')));
    const checker = prev.checker;
    const k = Math.floor(a / CHECKPOINT_EVERY);
    const scratchDiags: Diagnostic[] = [];
    checker.output(scratchDiags, []);
    checker.restore(prev.checkpoints[k]);
    for (let i = k * CHECKPOINT_EVERY; i < a; i++) checker.check(body[i]);
    const atRegion = checker.save();
    for (let i = a; i < b; i++) checker.check(body[i]);
    const oldAfter = whole ? checker.save() : undefined;
    const oldSignature = whole ? '' : checker.globalsSignature(names);
    checker.restore(atRegion);
    const regionDiags: Diagnostic[] = [];
    checker.output(regionDiags, []);
    for (const st of fresh) checker.check(st);
    if (oldAfter !== undefined ? !sameCheckerState(oldAfter, checker.save()) : oldSignature !== checker.globalsSignature(names)) return undefined;

    // Splice the new statements and their diagnostics in; checkpoints before a stay, later ones move by the count change.
    const newBody = body.slice(0, a).concat(fresh, body.slice(b));
    const keptBefore = prev.checkDiagnostics.slice(0, prev.diagStart[a]);
    const keptAfter = prev.checkDiagnostics.slice(prev.diagStart[b]);
    const checkDiagnostics = keptBefore.concat(regionDiags, keptAfter);
    const diagStart = prev.diagStart.slice(0, a);
    const regionStart = keptBefore.length;
    // Region statements share one range (the first holds them all); later ones shift by the count change.
    for (let i = 0; i < fresh.length; i++) diagStart.push(i === 0 ? regionStart : regionStart + regionDiags.length);
    const shift = regionDiags.length - (prev.diagStart[b] - prev.diagStart[a]);
    for (let i = b; i < prev.diagStart.length; i++) diagStart.push(prev.diagStart[i] + shift);
    const checkpoints = fresh.length === b - a ? prev.checkpoints : this.rebuildCheckpoints(checker, newBody, prev.checkpoints, a);
    this.last = { source, lineStarts, body: newBody, parseDiagnostics: [], checkDiagnostics, diagStart, checkpoints, checker };
    return parseAndCheckDiagnostics([], checkDiagnostics);
  }

  /** Checkpoints after a change in the statement count: those before `a` stay, the rest are taken again. */
  private rebuildCheckpoints(checker: StatementChecker, body: Statement[], old: CheckerState[], a: number): CheckerState[] {
    const k = Math.floor(a / CHECKPOINT_EVERY);
    const out = old.slice(0, k + 1);
    checker.output([], []);
    checker.restore(old[k]);
    for (let i = k * CHECKPOINT_EVERY; i < body.length; i++) {
      if (i % CHECKPOINT_EVERY === 0 && i > k * CHECKPOINT_EVERY) out.push(checker.save());
      checker.check(body[i]);
    }
    return out;
  }
}

/** The merge parseAndCheck does, from the two lists. */
function parseAndCheckDiagnostics(parseDiagnostics: Diagnostic[], checkDiagnostics: Diagnostic[]): Diagnostic[] {
  return merged(parseDiagnostics, checkDiagnostics);
}
