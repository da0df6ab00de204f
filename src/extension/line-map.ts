// Where a line of an older version of a document is now. Results arrive for
// the version they were computed from; while the user types, this moves
// them with the text (a diagnostic on line 40 stays on its statement after
// a line is inserted above) until the next result replaces them. No vscode
// import: edits arrive as plain LineChange values.

/** One replaced range: 1-based lines, 0-based columns, and how many line breaks the new text has. */
export interface LineChange {
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
  newLineBreaks: number;
}

/** True when the change can move or remove lines (edits inside one line cannot). */
export function changesLines(c: LineChange): boolean {
  return c.newLineBreaks > 0 || c.endLine > c.startLine;
}

/**
 * The line that `line` (of the text before the change) is on after it, or
 * undefined when the change removed it. A line whose start is cut off (the
 * change starts at its column 0 and goes on to a later line) counts as removed.
 */
export function mapLineThrough(line: number, c: LineChange): number | undefined {
  const { startLine: sl, startColumn: sc, endLine: el, endColumn: ec, newLineBreaks: k } = c;
  if (line < sl) return line;
  const after = (l: number): number => l + k - (el - sl);
  if (line > el) return after(line);
  if (line === el && el > sl && ec === 0) return after(line); // the change ended before this line's first character
  if (line === sl && line === el) return sc > 0 ? sl : sl + k; // text inserted before the line's start pushes it down
  if (line === sl) return sc > 0 ? sl : undefined;
  return undefined;
}

/** How many line breaks (\n, \r\n or \r) a text has. */
export function countLineBreaks(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13) {
      n++;
      if (text.charCodeAt(i + 1) === 10) i++;
    }
  }
  return n;
}

/** The edits of one document that moved lines, by document version, so any older line can be mapped to now. */
export class EditLog {
  private edits: { version: number; change: LineChange }[] = [];
  /** Mapping from versions below this is unknown (edits were dropped). */
  private knownFrom = -Infinity;

  constructor(private readonly capacity = 2000) {}

  /**
   * The changes of one edit, in the order the editor applied them; `version`
   * is the version after it. Returns true when lines moved.
   */
  record(version: number, changes: readonly LineChange[]): boolean {
    let moved = false;
    for (const change of changes) {
      if (!changesLines(change)) continue;
      this.edits.push({ version, change });
      moved = true;
    }
    if (this.edits.length > this.capacity) {
      const drop = this.edits.length - this.capacity;
      this.knownFrom = this.edits[drop - 1]!.version;
      this.edits = this.edits.slice(drop);
    }
    return moved;
  }

  /** Maps a line of version `from` to the current text; undefined when it was removed (or cannot be known). */
  mapLine(from: number, line: number): number | undefined {
    if (from < this.knownFrom) return undefined;
    let l: number | undefined = line;
    for (const e of this.edits) {
      if (e.version <= from) continue;
      l = mapLineThrough(l, e.change);
      if (l === undefined) return undefined;
    }
    return l;
  }

  /** True when no edit since version `from` moved a line (mapping is the identity). */
  unchangedSince(from: number): boolean {
    if (from < this.knownFrom) return false;
    const last = this.edits[this.edits.length - 1];
    return last === undefined || last.version <= from;
  }
}
