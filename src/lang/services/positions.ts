// Positions for the language services.
//
// Convention: every service function takes and returns **0-based** positions
// (`line` and `character` both start at 0, characters count UTF-16 code
// units), the convention of VS Code and LSP, so the editor glue passes them
// through unchanged. The AST and the RunResult are **1-based** (Span.line,
// Span.column, endColumn exclusive; RunResult `line` fields); the helpers
// here convert between the two.

import type { Span } from '../ast';

/** 0-based line and character. */
export interface Position {
  line: number;
  character: number;
}

/** 0-based, end exclusive. */
export interface Range {
  start: Position;
  end: Position;
}

/** The 0-based range of an AST span (1-based, endColumn exclusive). */
export function spanToRange(s: Span): Range {
  return { start: { line: s.line - 1, character: s.column - 1 }, end: { line: s.endLine - 1, character: s.endColumn - 1 } };
}

/** A whole-line range for a 1-based line number. */
export function lineRange(line1: number, length = 0): Range {
  return { start: { line: line1 - 1, character: 0 }, end: { line: line1 - 1, character: length } };
}

export function comparePositions(a: Position, b: Position): number {
  return a.line - b.line || a.character - b.character;
}

export function rangesIntersect(a: Range, b: Range): boolean {
  return comparePositions(a.start, b.end) <= 0 && comparePositions(b.start, a.end) <= 0;
}

/** Offsets of line starts, for offset <-> position conversion in O(log n). */
export class LineIndex {
  readonly starts: number[];

  constructor(readonly text: string) {
    const starts = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      }
    }
    this.starts = starts;
  }

  get lineCount(): number {
    return this.starts.length;
  }

  /** Offset of a 0-based position, clamped to the text. */
  offsetAt(p: Position): number {
    const line = Math.max(0, Math.min(this.starts.length - 1, Math.floor(p.line)));
    const start = this.starts[line]!;
    const end = this.lineEnd(line);
    return Math.max(start, Math.min(end, start + Math.max(0, Math.floor(p.character))));
  }

  /** 0-based position of an offset, clamped to the text. */
  positionAt(offset: number): Position {
    const o = Math.max(0, Math.min(this.text.length, offset));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.starts[lo]! };
  }

  /** Offset just past the last character of a 0-based line (before its line break). */
  lineEnd(line: number): number {
    if (line < 0) return 0;
    if (line >= this.starts.length - 1) return this.text.length;
    let e = this.starts[line + 1]!;
    if (e > 0 && this.text.charCodeAt(e - 1) === 10) e--;
    if (e > 0 && this.text.charCodeAt(e - 1) === 13) e--;
    return e;
  }

  /** Text of a 0-based line without its line break ('' outside the text). */
  lineText(line: number): string {
    if (line < 0 || line >= this.starts.length) return '';
    return this.text.slice(this.starts[line], this.lineEnd(line));
  }
}
