// Spans of the parsed tree, which the nodes make from token rows on first
// read (src/lang/syntax-nodes.ts): every node's span must cover its own
// source text, agree with its line/column, nest inside its parent's, and a
// call's argument list and a binary operator must be found again exactly.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parse } from '../../src/lang/parser';
import type { Span } from '../../src/lang/ast';
import { acceptanceScenarios, dmasFiles, EXAMPLES_DIR } from './fixtures';

interface SpanNode { span: Span; kind?: string }

function isNode(v: unknown): v is SpanNode {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v) && 'span' in v;
}

/** Every node under `root` (a node or an array), with its parent. */
function nodes(root: unknown, parent?: SpanNode, out: { node: SpanNode; parent?: SpanNode }[] = []): { node: SpanNode; parent?: SpanNode }[] {
  if (Array.isArray(root)) {
    for (const x of root) nodes(x, parent, out);
    return out;
  }
  if (!isNode(root)) return out;
  out.push({ node: root, parent });
  for (const v of Object.values(root)) nodes(v, root, out);
  return out;
}

function lineStarts(src: string): number[] {
  const out = [0];
  for (let i = 0; i < src.length; i++) if (src[i] === '\n') out.push(i + 1);
  return out;
}

/** Asserts that `s` is where its offsets say, and returns its text. */
function checked(src: string, starts: number[], s: Span): string {
  assert.equal(starts[s.line - 1]! + s.column - 1, s.start, `line/column of ${JSON.stringify(s)} agree with start`);
  assert.equal(starts[s.endLine - 1]! + s.endColumn - 1, s.end, `endLine/endColumn of ${JSON.stringify(s)} agree with end`);
  assert.ok(s.start <= s.end);
  return src.slice(s.start, s.end);
}

/** Checks every node of `src`'s parse; returns how many it checked. */
function checkSpans(src: string): number {
  const starts = lineStarts(src);
  const all = nodes(parse(src).program.body);
  for (const { node, parent } of all) {
    const text = checked(src, starts, node.span);
    // An error placeholder is a zero-width mark; every other node is its own trimmed text.
    if (node.kind !== 'error') assert.ok(text.length > 0 && !/^\s|\s$/.test(text), `span text is trimmed: ${JSON.stringify(text)}`);
    if (parent !== undefined && parent.kind !== undefined && node.kind !== 'error') {
      assert.ok(parent.span.start <= node.span.start && node.span.end <= parent.span.end, `${node.kind ?? 'name'} ${JSON.stringify(text)} inside its ${parent.kind}`);
    }
    if (node.kind === 'binary') {
      const b = node as unknown as { op: string; opSpan: Span; left: SpanNode; right: SpanNode };
      assert.equal(checked(src, starts, b.opSpan), b.op);
      assert.ok(b.left.span.end <= b.opSpan.start && b.opSpan.end <= b.right.span.start);
    }
    if (node.kind === 'call') {
      const c = node as unknown as { argsSpan: Span; callee: SpanNode & { text: string } };
      const args = checked(src, starts, c.argsSpan);
      assert.ok(args.startsWith('(') && args.endsWith(')'), `argument list ${JSON.stringify(args)}`);
      assert.equal(c.argsSpan.end, node.span.end);
      assert.equal(checked(src, starts, c.callee.span), c.callee.text);
      assert.ok(c.callee.span.end <= c.argsSpan.start);
    }
  }
  return all.length;
}

describe('lang spans (made from token rows on first read)', () => {
  it('cover each node of every acceptance scenario and example exactly', () => {
    let n = 0;
    for (const f of [...acceptanceScenarios(), ...dmasFiles(EXAMPLES_DIR)]) n += checkSpans(f.source);
    assert.ok(n > 1000, `checked ${n} nodes`);
  });

  it('find the operator and the argument list past parentheses and line breaks', () => {
    const src = 'x = [(a) + (b),\n  (f)\n  (1, 2), g(\n3) == -(c)]\ny = ((h))(k = 1)\n';
    assert.ok(checkSpans(src) >= 15);
    const body = parse(src).program.body;
    const list = body[0]!.kind === 'assign' ? body[0]!.value : undefined;
    assert.equal(list?.kind, 'list');
    if (list?.kind !== 'list') return;
    const [sum, call, cmp] = list.items;
    assert.equal(sum?.kind === 'binary' && src.slice(sum.opSpan.start, sum.opSpan.end), '+');
    assert.equal(call?.kind === 'call' && src.slice(call.argsSpan.start, call.argsSpan.end), '(1, 2)');
    assert.deepEqual(call?.kind === 'call' && [call.argsSpan.line, call.argsSpan.column], [3, 3]);
    assert.equal(cmp?.kind === 'binary' && src.slice(cmp.opSpan.start, cmp.opSpan.end), '==');
    const y = body[1];
    assert.equal(y?.kind === 'assign' && y.value.kind === 'call' && src.slice(y.value.argsSpan.start, y.value.argsSpan.end), '(k = 1)');
  });

  it('read the same span object each time, and stay out of the data (JSON, keys)', () => {
    const s = parse('h = dma_map_page(d, b, 0, 4K, DMA_TO_DEVICE)\n').program.body[0]!;
    assert.equal(s.span, s.span);
    assert.equal(s.kind === 'assign' && s.value.span, s.kind === 'assign' && s.value.span);
    assert.deepEqual(Object.keys(s), ['kind', 'target', 'value']);
    assert.equal(JSON.stringify(s.kind === 'assign' ? s.target : undefined), '{"kind":"ident","name":"h"}');
  });

  it('hold for any expression with parentheses and line breaks inside brackets (property)', () => {
    const gap = fc.constantFrom('', ' ', '\n  ');
    const { expr } = fc.letrec<{ expr: string }>((tie) => ({
      expr: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('a', 'buf', '7', '0x10', '4K', '"s"', 'true'),
        fc.tuple(gap, tie('expr'), gap).map(([g, e, h]) => `(${g}${e}${h})`),
        fc.tuple(tie('expr'), gap, fc.constantFrom('+', '-', '*', '==', '&', '<<', '&&'), gap, tie('expr')).map(([l, g, op, h, r]) => `${l}${g}${op}${h}${r}`),
        fc.tuple(fc.constantFrom('-', '~', '!'), tie('expr')).map(([op, e]) => `${op}${e}`),
        fc.tuple(fc.constantFrom('f', '(g)', '((h))'), gap, fc.array(tie('expr'), { maxLength: 3 })).map(([f, g, args]) => `${f}${g}(${args.join(', ')})`),
        fc.tuple(tie('expr'), fc.constantFrom('.len', '[0]')).map(([e, post]) => `(${e})${post}`),
      ),
    }));
    fc.assert(fc.property(expr, (e) => {
      const src = `x = [${e}]\n`;
      const { diagnostics } = parse(src);
      assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), [], src);
      checkSpans(src);
    }), { numRuns: 300 });
  });

  it('hold for any sequence of tokens, brackets and line breaks (property)', () => {
    const TOKENS = ['a', 'f', '1', '0x10', '4K', '"s"', '(', ')', '[', ']', '{', '}', ',', '=', '+', '-', '*', '==', '&', '!', '..', ':', '.', 'len', '\n', '  ', 'x =', 'f(', 'expect', 'print', 'for i in 0 .. 2 {', 'device d : pci "00:01.0" { iommu = [s, t] }', 'k = '];
    fc.assert(fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }), (ts) => {
      checkSpans(ts.join(' '));
    }), { numRuns: 400 });
  });
});
