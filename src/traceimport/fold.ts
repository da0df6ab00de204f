// Folds runs of identical findings (the same fault printed again and again,
// as ratelimited drivers do) into one finding with a count and the lines of
// its repeats, so a flood does not drown the rest.

import type { Finding } from './types';

/** Repeat lines kept per folded finding. */
const MAX_REPEAT_LINES = 100;

/** Fields that differ between repeats without making them different findings. */
const VOLATILE = new Set(['line', 'endLine', 'startLine', 'ts', 'cpu', 'count', 'repeat_lines', 'pid']);

function sameFinding(a: Finding, b: Finding): boolean {
  if (a.kind !== b.kind || a.kind === 'callbacks_suppressed') return false;
  // Most neighbours differ in their text: that answers without listing their keys.
  if (typeof a.message === 'string' && a.message !== b.message) return false;
  const ka = Object.keys(a).filter((k) => !VOLATILE.has(k));
  const kb = Object.keys(b).filter((k) => !VOLATILE.has(k));
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return false;
  }
  return true;
}

/** Findings sorted by line, consecutive identical ones folded into the first (`count`, `repeat_lines`). */
export function foldRepeats(sorted: readonly Finding[]): Finding[] {
  const out: Finding[] = [];
  for (const f of sorted) {
    const prev = out[out.length - 1];
    if (prev !== undefined && sameFinding(prev, f)) {
      prev.count = (prev.count ?? 1) + (f.count ?? 1);
      const lines = (prev.repeat_lines as number[] | undefined) ?? [];
      if (lines.length < MAX_REPEAT_LINES) lines.push(f.line);
      prev.repeat_lines = lines;
      continue;
    }
    out.push(f);
  }
  return out;
}

/**
 * Sorts findings by line (stably) unless they already are: they mostly
 * arrive in line order, and one pass reading each line once costs less
 * than a sort's comparisons, each reading two.
 */
export function sortByLine<T extends { line: number }>(list: T[]): T[] {
  let prev = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < list.length; i++) {
    const line = list[i].line;
    if (line < prev) return list.sort((a, b) => a.line - b.line);
    prev = line;
  }
  return list;
}
