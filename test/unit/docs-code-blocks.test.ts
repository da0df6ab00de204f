// Every code block of the documentation says what it is, and the scenario
// blocks work as written: ```dmas blocks are whole scenarios and must run
// green; ```dmas-fragment blocks are lines shown inside a larger scenario and
// must parse and check, short of the names that scenario would declare.
// Every example file runs green too.

import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from '../../src/lang/parser';
import { parseAndCheck } from '../../src/lang/frontend';
import { runScenario } from '../../src/lang/run';
import { EXAMPLES_DIR, REPO_ROOT, dmasFiles } from './fixtures';

/** Names a fragment may use without declaring them: the surrounding scenario declares them. */
const CONTEXT_ERRORS = /^(unknown name|no IOMMU named|no device named)/;

function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : d.name.endsWith('.md') ? [path.join(dir, d.name)] : []));
  return ['README.md', ...walk('docs'), ...walk('media')];
}

interface Block {
  file: string;
  line: number;
  info: string;
  source: string;
}

function codeBlocks(file: string): Block[] {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const out: Block[] = [];
  for (const m of text.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)) {
    out.push({ file, line: text.slice(0, m.index).split('\n').length, info: m[1], source: m[2] });
  }
  return out;
}

function failures(source: string): string[] {
  const r = runScenario(source, 'doc.dmas');
  return [
    ...r.diagnostics.filter((d) => d.severity === 'error').map((d) => `line ${d.line}: ${d.message}`),
    ...r.expectations.filter((e) => !e.passed).map((e) => `line ${e.line}: ${e.message}`),
    ...r.checks.filter((c) => c.severity === 'error' && !c.expected).map((c) => `line ${c.line}: ${c.message}`),
    ...r.faults.filter((f) => !f.expected).map((f) => `line ${f.line}: fault: ${f.reason}`),
  ];
}

describe('documentation code blocks', () => {
  const blocks = markdownFiles().flatMap(codeBlocks);

  it('finds the documentation and tags every code block', () => {
    assert.ok(blocks.length > 100, `${blocks.length} blocks`);
    assert.deepEqual(blocks.filter((b) => b.info === '').map((b) => `${b.file}:${b.line}`), [], 'untagged blocks (use dmas, dmas-fragment, text, sh, json, ...)');
  });

  for (const b of blocks.filter((x) => x.info === 'dmas')) {
    it(`${b.file}:${b.line} runs green`, () => assert.deepEqual(failures(b.source), []));
  }

  it('every dmas-fragment block parses and checks, short of the names its scenario declares', () => {
    const bad: string[] = [];
    for (const b of blocks.filter((x) => x.info === 'dmas-fragment')) {
      for (const d of parse(b.source).diagnostics) bad.push(`${b.file}:${b.line + d.line}: syntax: ${d.message}`);
      for (const d of parseAndCheck(b.source).diagnostics) {
        if (d.severity === 'error' && !CONTEXT_ERRORS.test(d.message)) bad.push(`${b.file}:${b.line + d.line}: ${d.message}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  for (const f of dmasFiles(EXAMPLES_DIR)) {
    it(`examples/${f.name} runs green`, () => assert.deepEqual(failures(f.source), []));
  }
});
