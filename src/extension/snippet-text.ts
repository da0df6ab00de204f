// The scenario templates (snippets/dmas.json) as data, and the text a snippet
// becomes when every placeholder keeps its default. Shared by the "New
// scenario from a template" command and the unit tests; no vscode import.

import snippetFile from '../../snippets/dmas.json';

export interface ScenarioTemplate {
  /** The snippet's key in snippets/dmas.json (shown in the quick pick). */
  label: string;
  prefix: string;
  description: string;
  /** Snippet syntax (placeholders `${1:default}`, mirrors `$1`, final `$0`). */
  body: string;
}

interface SnippetEntry {
  prefix: string | string[];
  description?: string;
  body: string | string[];
}

function templatesFrom(file: Record<string, SnippetEntry>): ScenarioTemplate[] {
  return Object.entries(file).map(([label, s]) => ({
    label,
    prefix: Array.isArray(s.prefix) ? (s.prefix[0] ?? label) : s.prefix,
    description: s.description ?? '',
    body: Array.isArray(s.body) ? s.body.join('\n') : s.body,
  }));
}

/** Every template, in the order of snippets/dmas.json (the blank scenario first). */
export const SCENARIO_TEMPLATES: readonly ScenarioTemplate[] = templatesFrom(snippetFile as Record<string, SnippetEntry>);

/**
 * The text a snippet inserts when the user accepts every default: `${1:x}`
 * becomes `x`, a later `$1` mirrors it, `${1|a,b|}` becomes `a`, `$0` and
 * variables without a default become empty, `\$ \} \\` lose their backslash.
 */
export function expandSnippet(body: string): string {
  const defaults = new Map<string, string>();
  // First pass: the default of each numbered placeholder (its first occurrence with one).
  const collect = new Parser(body, defaults, true);
  collect.parse();
  return new Parser(body, defaults, false).parse();
}

class Parser {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly defaults: Map<string, string>,
    private readonly collecting: boolean,
  ) {}

  parse(stopAt?: string): string {
    let out = '';
    const s = this.src;
    while (this.pos < s.length) {
      const c = s[this.pos]!;
      if (stopAt !== undefined && c === stopAt) return out;
      if (c === '\\' && this.pos + 1 < s.length && '$}\\,|'.includes(s[this.pos + 1]!)) {
        out += s[this.pos + 1];
        this.pos += 2;
      } else if (c === '$') {
        out += this.dollar();
      } else {
        out += c;
        this.pos++;
      }
    }
    return out;
  }

  private mirror(id: string): string {
    return this.defaults.get(id) ?? '';
  }

  private dollar(): string {
    const s = this.src;
    const start = this.pos;
    this.pos++;
    const simple = /^(\d+|[A-Za-z_][A-Za-z0-9_]*)/.exec(s.slice(this.pos));
    if (simple) {
      this.pos += simple[0].length;
      return /^\d/.test(simple[0]) ? this.mirror(simple[0]) : '';
    }
    if (s[this.pos] !== '{') return '$';
    this.pos++;
    const id = /^(\d+|[A-Za-z_][A-Za-z0-9_]*)/.exec(s.slice(this.pos));
    if (!id) {
      this.pos = start + 1;
      return '$';
    }
    this.pos += id[0].length;
    const name = id[0];
    const numbered = /^\d/.test(name);
    const next = s[this.pos];
    if (next === '}') {
      this.pos++;
      return numbered ? this.mirror(name) : '';
    }
    if (next === ':') {
      this.pos++;
      const value = this.parse('}');
      this.pos++; // the closing brace
      if (numbered && this.collecting && !this.defaults.has(name)) this.defaults.set(name, value);
      return numbered ? (this.defaults.get(name) ?? value) : value;
    }
    if (next === '|') {
      this.pos++;
      const end = s.indexOf('|}', this.pos);
      const choices = s.slice(this.pos, end < 0 ? s.length : end);
      this.pos = end < 0 ? s.length : end + 2;
      const first = (choices.split(/(?<!\\),/)[0] ?? '').replace(/\\(.)/g, '$1');
      if (numbered && this.collecting && !this.defaults.has(name)) this.defaults.set(name, first);
      return numbered ? (this.defaults.get(name) ?? first) : first;
    }
    // `${VAR/regex/format/}` and other forms: keep nothing of them.
    const close = s.indexOf('}', this.pos);
    this.pos = close < 0 ? s.length : close + 1;
    return '';
  }
}
