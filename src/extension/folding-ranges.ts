// Folding ranges of a scenario: `{ }` blocks (declarations, mm, for bodies,
// records) and multi-line `[ ]` / `( )`, sections introduced by a
// `# --- title ---` comment (as in the examples), `# region` / `# endregion`
// pairs, and runs of comment lines. No vscode import; lines are 0-based.

export interface FoldRange {
  start: number;
  end: number;
  kind?: 'comment' | 'region';
}

const SECTION = /^\s*(?:#|\/\/)\s*-{3,}/;
const REGION_START = /^\s*#\s*region\b/;
const REGION_END = /^\s*#\s*endregion\b/;
const COMMENT_ONLY = /^\s*(?:#|\/\/)/;

export function foldingRanges(text: string): FoldRange[] {
  const lines = text.split(/\r\n|\r|\n/);
  const out: FoldRange[] = [];

  // Brackets, skipping strings and comments.
  const open: { ch: string; line: number }[] = [];
  const closer: Record<string, string> = { '}': '{', ']': '[', ')': '(' };
  for (let ln = 0; ln < lines.length; ln++) {
    const s = lines[ln]!;
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c === '#' || (c === '/' && s[i + 1] === '/')) break;
      if (c === '"') {
        i++;
        while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
        continue;
      }
      if (c === '{' || c === '[' || c === '(') open.push({ ch: c, line: ln });
      else if (c in closer) {
        // Pop to the matching opener (tolerates stray brackets while typing).
        let k = open.length - 1;
        while (k >= 0 && open[k]!.ch !== closer[c]) k--;
        if (k < 0) continue;
        const o = open[k]!;
        open.length = k;
        const closerFirst = s.slice(0, i).trim() === '';
        const end = closerFirst ? ln - 1 : ln;
        if (end > o.line) out.push({ start: o.line, end });
      }
    }
  }

  // Sections: a `# --- title ---` line to the last non-blank line before the next one.
  const lastNonBlank = (from: number, to: number): number => {
    let e = to;
    while (e > from && lines[e]!.trim() === '') e--;
    return e;
  };
  const sections: number[] = [];
  for (let ln = 0; ln < lines.length; ln++) if (SECTION.test(lines[ln]!)) sections.push(ln);
  sections.forEach((start, i) => {
    const end = lastNonBlank(start, (sections[i + 1] ?? lines.length) - 1);
    if (end > start) out.push({ start, end, kind: 'region' });
  });

  // # region / # endregion.
  const regions: number[] = [];
  for (let ln = 0; ln < lines.length; ln++) {
    if (REGION_START.test(lines[ln]!)) regions.push(ln);
    else if (REGION_END.test(lines[ln]!)) {
      const start = regions.pop();
      if (start !== undefined && ln > start) out.push({ start, end: ln, kind: 'region' });
    }
  }

  // Runs of two or more comment-only lines (section headers start their own range).
  let runStart = -1;
  for (let ln = 0; ln <= lines.length; ln++) {
    const isComment = ln < lines.length && COMMENT_ONLY.test(lines[ln]!) && !SECTION.test(lines[ln]!) && !REGION_START.test(lines[ln]!) && !REGION_END.test(lines[ln]!);
    if (isComment && runStart < 0) runStart = ln;
    if (!isComment && runStart >= 0) {
      if (ln - 1 > runStart) out.push({ start: runStart, end: ln - 1, kind: 'comment' });
      runStart = -1;
    }
  }

  // One range per start line (the editor uses only one): the longest.
  out.sort((a, b) => a.start - b.start || b.end - a.end);
  return out.filter((r, i) => i === 0 || out[i - 1]!.start !== r.start);
}
