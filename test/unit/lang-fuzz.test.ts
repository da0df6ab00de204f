import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parseAndCheck } from '../../src/lang/frontend';
import type { Diagnostic } from '../../src/lang/run-result';
import type { Program, Span } from '../../src/lang/ast';
import { acceptanceScenarios } from './fixtures';

const corpus = acceptanceScenarios().map((f) => f.source);

/** Every run must end in a well-formed result: no throw, sane diagnostic ranges, bounded time. */
function runChecked(src: string, budgetMs = 2000): { program: Program; diagnostics: Diagnostic[] } {
  const t0 = performance.now();
  const r = parseAndCheck(src);
  const ms = performance.now() - t0;
  assert.ok(ms < budgetMs, `took ${ms.toFixed(0)} ms for ${src.length} chars`);
  const lines = src.split(/\r\n|\r|\n/).length;
  for (const d of r.diagnostics) {
    assert.ok(Number.isInteger(d.line) && d.line >= 1 && d.line <= lines + 1, `line ${d.line} of ${lines}`);
    assert.ok(Number.isInteger(d.column) && d.column >= 1, `column ${d.column}`);
    assert.ok(d.endLine > d.line || (d.endLine === d.line && d.endColumn > d.column), `non-empty range ${JSON.stringify(d)}`);
    assert.ok(['error', 'warning', 'info'].includes(d.severity));
    assert.ok(d.code.length > 0 && d.message.length > 0);
  }
  assert.ok(r.diagnostics.length <= 201, 'diagnostics are capped');
  const internal = r.diagnostics.find((d) => d.code === 'internal');
  assert.equal(internal, undefined, internal?.message);
  return r;
}

/** Language-shaped noise: real tokens in random order hit far more parser paths than random bytes. */
const TOKENS = [
  'platform', 'iommu', 'device', 'mm', 'map', 'size', 'for', 'in', 'expect', 'fault', 'error', 'violation', 'stale',
  'bounced', 'no_leaks', 'print', 'checkpoint', 'true', 'false', 'x', 'nvme0', 'smmu0', 'dma_map_page', 'sg_table',
  'EINVAL', 'DMA_TO_DEVICE', 'arm-smmu-v3', 'dma-fq', 'granule', '0x1000', '4K', '1G', '0b101', '99999999999999999999999',
  '"s"', '"unterminated', 'hex"de ad"', 'hex"abc"', '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<<', '>>', '==',
  '!=', '<', '<=', '>', '>=', '&&', '||', '=', '(', ')', '[', ']', '{', '}', ',', ';', ':', '.', '..', '->', '\n', '\n',
  '\\\n', '# c\n', '// c\n', '@', '\0', ' ',
];

describe('lang fuzz', function () {
  this.timeout(120000);

  it('never throws on random strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => { runChecked(s); }), { numRuns: 400 });
  });

  it('never throws on random token soup', () => {
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 120 }).map((ts) => ts.join(' '));
    fc.assert(fc.property(soup, (s) => { runChecked(s); }), { numRuns: 600 });
  });

  it('never throws on mutated acceptance scenarios (insert, delete, replace)', () => {
    const edit = fc.record({
      kind: fc.constantFrom('insert', 'delete', 'replace'),
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 12 }),
      text: fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom(...TOKENS)),
    });
    const mutated = fc.tuple(fc.nat({ max: corpus.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([i, edits]) => {
      let s = corpus[i]!;
      for (const e of edits) {
        const at = e.at % (s.length + 1);
        if (e.kind === 'insert') s = s.slice(0, at) + e.text + s.slice(at);
        else if (e.kind === 'delete') s = s.slice(0, at) + s.slice(at + e.len);
        else s = s.slice(0, at) + e.text + s.slice(at + e.len);
      }
      return s;
    });
    fc.assert(fc.property(mutated, (s) => { runChecked(s); }), { numRuns: 500 });
  });

  it('gives every node a span whose line and column agree with its offsets', () => {
    const check = (src: string): void => {
      const lineStarts = [0];
      for (let i = 0; i < src.length; i++) {
        const c = src[i];
        if (c === '\n' || (c === '\r' && src[i + 1] !== '\n')) lineStarts.push(i + 1);
      }
      const at = (offset: number): [number, number] => {
        let line = 0;
        while (line + 1 < lineStarts.length && lineStarts[line + 1]! <= offset) line++;
        return [line + 1, offset - lineStarts[line]! + 1];
      };
      const visit = (v: unknown): void => {
        if (Array.isArray(v)) { for (const x of v) visit(x); return; }
        if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return;
        for (const [k, x] of Object.entries(v)) {
          if (k === 'span' || k === 'opSpan' || k === 'argsSpan' || k === 'keyword') {
            const sp = x as Span;
            assert.ok(sp.start <= sp.end && sp.end <= src.length, `span ${JSON.stringify(sp)}`);
            assert.deepEqual([sp.line, sp.column], at(sp.start), `start of ${JSON.stringify(sp)}`);
            if (sp.end > sp.start) assert.deepEqual([sp.endLine, sp.endColumn], at(sp.end - 1).map((n, i) => (i === 1 ? n + 1 : n)), `end of ${JSON.stringify(sp)}`);
          } else visit(x);
        }
      };
      for (const st of parseAndCheck(src).program.body) visit(st);
    };
    for (const src of corpus) check(src);
    fc.assert(fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 100 }), (ts) => { check(ts.join(' ')); }), { numRuns: 300 });
  });

  it('is deterministic', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }), (ts) => {
      const s = ts.join(' ');
      const a = JSON.stringify(parseAndCheck(s), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      const b = JSON.stringify(parseAndCheck(s), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      assert.equal(a, b);
    }), { numRuns: 150 });
  });

  it('keeps one error from hiding the next: a bad line leaves later statements parsed', () => {
    fc.assert(fc.property(fc.nat({ max: corpus.length - 1 }), fc.nat(), fc.constantFrom(')', '= =', '(', '"', '@', '{', 'expect fault 1'), (i, pick, junk) => {
      const lines = corpus[i]!.split('\n');
      const at = pick % lines.length;
      const broken = [...lines.slice(0, at), junk, ...lines.slice(at)].join('\n');
      const before = parseAndCheck(corpus[i]!).program.body.length;
      const after = runChecked(broken);
      assert.ok(after.diagnostics.some((d) => d.severity === 'error'));
      // The junk line may swallow at most the statement it lands in (a `{` or `(` may take one block).
      assert.ok(after.program.body.length >= before - 2, `${after.program.body.length} statements left of ${before}`);
    }), { numRuns: 200 });
  });

  describe('hostile input ends in diagnostics, never a throw or a hang', () => {
    const cases: [string, () => string][] = [
      ['10,000 nested parentheses', () => 'x = ' + '('.repeat(10000) + '1' + ')'.repeat(10000)],
      ['10,000 unclosed parentheses', () => 'x = ' + '('.repeat(10000)],
      ['10,000 nested brackets', () => 'x = ' + '['.repeat(10000) + ']'.repeat(10000)],
      ['10,000 nested records', () => 'x = ' + '{a = '.repeat(10000)],
      ['10,000 unclosed braces', () => '{'.repeat(10000)],
      ['10,000 nested for loops', () => 'for i in 0..1 {\n'.repeat(10000)],
      ['10,000 unmatched closing braces', () => '}\n'.repeat(10000)],
      ['a 10,000-term sum', () => 'x = ' + Array(10000).fill('1').join(' + ')],
      ['10,000 unary minuses', () => 'x = ' + '-'.repeat(10000) + '1'],
      ['a million-digit number', () => 'x = ' + '9'.repeat(1_000_000)],
      ['a megabyte string', () => 'x = "' + 'a'.repeat(1_000_000)],
      ['NUL bytes', () => '\0'.repeat(100_000)],
      ['garbage bytes', () => Array.from({ length: 100_000 }, (_, i) => String.fromCharCode((i * 7919) % 65536)).join('')],
      ['a 10 MB file', () => 'x = alloc_pages(0)\n'.repeat(550_000)],
      ['100,000 bad lines', () => 'x = )\n'.repeat(100_000)],
      ['unbalanced braces in declarations', () => 'platform {\niommu a : generic {\ndevice d : pci "0000:00:00.0" {\n}}}}}\n'.repeat(2000)],
    ];
    for (const [name, make] of cases) {
      it(name, () => {
        const r = runChecked(make(), 5000);
        assert.ok(r.diagnostics.length > 0);
      });
    }
  });

  it('parses and checks a 10,000-line scenario with no diagnostics and no blow-up', function () {
    this.retries(2); // wall-clock timing on a shared machine
    const lines = ['platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 64M }',
      'iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }',
      'device nvme0 : pci "0000:01:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }'];
    for (let k = 0; lines.length < 10000; k++) {
      lines.push(
        `# round ${k}`,
        `a${k} = alloc_pages(${k % 4})`,
        `cpu_write(a${k}, 0x10, "hello")`,
        `h${k} = dma_map_page(nvme0, a${k}, 0, 4K, DMA_TO_DEVICE)`,
        `expect !dma_mapping_error(nvme0, h${k})`,
        `expect dev_read(nvme0, h${k} + 0x10, 5) == "hello"`,
        `expect fault dev_write(nvme0, h${k}, hex"de ad")`,
        `dma_unmap_page(nvme0, h${k}, 4K, DMA_TO_DEVICE)`,
        `iommu s${k} : intel-vtd { aw = 48; iotlb = 0 }`,
        `device d${k} : pci "0000:02:00.${k % 8}" { iommu = [smmu0, s${k}]; default_domain = [dma, identity] }`,
      );
    }
    const src = lines.slice(0, 10000).join('\n');
    assert.deepEqual(parseAndCheck(src).diagnostics, []);
    // Speed is measured by `npm run bench` (parse_check_10k_lines_ms, docs/performance.md), not by a
    // timed test. This only guards against a blow-up: linear work must not turn quadratic.
    const t0 = performance.now();
    parseAndCheck(src);
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `parse and check of 10,000 lines took ${ms.toFixed(0)} ms: something went quadratic`);
  });
});
