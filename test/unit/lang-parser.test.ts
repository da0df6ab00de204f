import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, MAX_NESTING } from '../../src/lang/parser';
import type { Expr, Program, Span, Statement } from '../../src/lang/ast';
import { SCENARIOS_DIR, acceptanceScenarios } from './fixtures';

const sharedDir = SCENARIOS_DIR;

/** The tree without spans and with bigints as strings: easy to compare. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (k, x: unknown) => {
    if (k === 'span' || k === 'opSpan' || k === 'argsSpan' || k === 'keyword') return undefined;
    if (typeof x === 'bigint') return `${x}n`;
    if (x instanceof Uint8Array) return [...x];
    return x;
  }));
}

function ok(src: string): Program {
  const { program, diagnostics } = parse(src);
  assert.deepEqual(diagnostics, [], `unexpected diagnostics for:\n${src}`);
  return program;
}

function one(src: string): Statement {
  const body = ok(src).body;
  assert.equal(body.length, 1);
  return body[0]!;
}

function exprOf(src: string): Expr {
  const s = one(`x = ${src}`);
  assert.equal(s.kind, 'assign');
  return s.kind === 'assign' ? s.value : s as never;
}

/** Compact prefix rendering: (op a b). */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number': return e.value.toString();
    case 'ident': return e.name;
    case 'string': return JSON.stringify(e.value);
    case 'bool': return String(e.value);
    case 'unary': return `(${e.op} ${show(e.operand)})`;
    case 'binary': return `(${e.op} ${show(e.left)} ${show(e.right)})`;
    case 'range': return `(.. ${show(e.start)} ${show(e.end)})`;
    case 'member': return `${show(e.object)}.${e.property.text}`;
    case 'index': return `${show(e.object)}[${show(e.index)}]`;
    case 'list': return `[${e.items.map(show).join(' ')}]`;
    case 'record': return `{${e.fields.map((f) => `${f.name.text}=${show(f.value)}`).join(' ')}}`;
    case 'call': return `${e.callee.text}(${[...e.args.map(show), ...e.named.map((n) => `${n.name.text}=${show(n.value)}`)].join(' ')})`;
    case 'sg_entry': return `${show(e.addr)}:${show(e.length)}`;
    default: return e.kind;
  }
}

/** The source text a span covers, checked against its line/column fields. */
function textOf(src: string, s: Span): string {
  const lines = src.split('\n');
  let offset = 0;
  for (let i = 0; i < s.line - 1; i++) offset += lines[i]!.length + 1;
  assert.equal(offset + s.column - 1, s.start, 'line/column agree with start');
  return src.slice(s.start, s.end);
}

describe('lang parser', () => {
  describe('expressions', () => {
    it('follows C precedence', () => {
      assert.equal(show(exprOf('1 + 2 * 3')), '(+ 1 (* 2 3))');
      assert.equal(show(exprOf('a << 1 + 2')), '(<< a (+ 1 2))');
      assert.equal(show(exprOf('a | b ^ c & d')), '(| a (^ b (& c d)))');
      assert.equal(show(exprOf('a == b && c != d || e')), '(|| (&& (== a b) (!= c d)) e)');
      assert.equal(show(exprOf('a < b == c > d')), '(== (< a b) (> c d))');
      assert.equal(show(exprOf('1 - 2 - 3')), '(- (- 1 2) 3)');
      assert.equal(show(exprOf('-a * ~b')), '(* (- a) (~ b))');
      assert.equal(show(exprOf('!!x')), '(! (! x))');
      assert.equal(show(exprOf('(1 + 2) * 3')), '(* (+ 1 2) 3)');
      assert.equal(show(exprOf('IOMMU_READ | IOMMU_WRITE')), '(| IOMMU_READ IOMMU_WRITE)');
    });

    it('gives ranges the lowest precedence', () => {
      assert.equal(show(exprOf('0x8000_0000 .. 0x2_0000_0000')), '(.. 2147483648 8589934592)');
      assert.equal(show(exprOf('a + 1 .. b * 2')), '(.. (+ a 1) (* b 2))');
    });

    it('parses sizes in expressions exactly', () => {
      assert.equal(show(exprOf('1G + 128M')), '(+ 1073741824 134217728)');
    });

    it('parses member access, indexing and calls', () => {
      assert.equal(show(exprOf('sgl[0].dma_address')), 'sgl[0].dma_address');
      assert.equal(show(exprOf('translate(gpu, 0x1000).iotlb_hit')), 'translate(gpu 4096).iotlb_hit');
      assert.equal(show(exprOf('dev_read(accel, 0x10_0000, 7, pasid = h.pasid)')), 'dev_read(accel 1048576 7 pasid=h.pasid)');
      assert.equal(show(exprOf('iommu_paging_domain_alloc(gpu, nest_parent = true)')), 'iommu_paging_domain_alloc(gpu nest_parent=true)');
      assert.equal(show(exprOf('f()')), 'f()');
    });

    it('parses lists and records, across lines and with trailing commas', () => {
      assert.equal(show(exprOf('[a, b,]')), '[a b]');
      const e = exprOf('vduse_domain_set_map(vd1, [\n  {start = 0x1000, last = 0x1fff, perm = RW, file = "g", offset = 0},\n])');
      assert.equal(show(e), 'vduse_domain_set_map(vd1 [{start=4096 last=8191 perm=RW file="g" offset=0}])');
    });

    it('parses scatterlist entries addr : len in calls', () => {
      const e = exprOf('sg_table(buf + 0x200 : 0x600, buf2 : 4K)');
      assert.equal(show(e), 'sg_table((+ buf 512):1536 buf2:4096)');
    });

    it('keeps exact spans on every node', () => {
      const src = 'h = dma_map_page(nvme0, a, 0, 4K, DMA_TO_DEVICE)';
      const s = one(src);
      assert.equal(s.kind, 'assign');
      if (s.kind !== 'assign' || s.value.kind !== 'call') return;
      assert.deepEqual(s.span, { start: 0, end: src.length, line: 1, column: 1, endLine: 1, endColumn: src.length + 1 });
      assert.equal(textOf(src, s.value.span), 'dma_map_page(nvme0, a, 0, 4K, DMA_TO_DEVICE)');
      assert.equal(textOf(src, s.value.argsSpan), '(nvme0, a, 0, 4K, DMA_TO_DEVICE)');
      assert.equal(textOf(src, s.value.callee.span), 'dma_map_page');
      assert.equal(textOf(src, s.value.args[3]!.span), '4K');
      const b = exprOf('a  +  b');
      assert.equal(b.kind, 'binary');
      if (b.kind === 'binary') assert.equal(textOf('x = a  +  b', b.opSpan), '+');
    });

    it('spans multi-line calls from the callee to the closing parenthesis', () => {
      const src = 'x = f(1,\n  2)\ny = 3';
      const s = ok(src).body[0]!;
      assert.equal(s.kind === 'assign' && s.value.kind === 'call' && textOf(src, s.value.span), 'f(1,\n  2)');
      assert.deepEqual([s.span.line, s.span.endLine, s.span.endColumn], [1, 2, 5]);
    });

    it('joins hyphenated words only inside declarations', () => {
      const d = one('device d : pci "0000:00:01.0" { default_domain = [dma, dma-fq] }');
      assert.equal(d.kind, 'device');
      if (d.kind === 'device') assert.equal(show(d.entries[0]!.value), '[dma dma-fq]');
      assert.equal(show(exprOf('dma-fq')), '(- dma fq)');
      const spaced = one('iommu a : generic { levels = x - y }');
      if (spaced.kind === 'iommu') assert.equal(show(spaced.entries[0]!.value), '(- x y)');
    });
  });

  describe('statements', () => {
    it('parses assignments, index assignments and bare calls', () => {
      assert.deepEqual(plain(ok('a = 1\nhs[i] = 2\ncpu_fill(buf, 0xa5)').body.map((s) => s.kind)), ['assign', 'assign', 'expr']);
      const s = one('hs[i + 1] = f(i)');
      assert.equal(s.kind === 'assign' && s.target.kind, 'index');
    });

    it('separates statements with ; and joins lines with \\', () => {
      assert.equal(ok('a = 1; b = 2;c = 3').body.length, 3);
      assert.equal(ok('a = 1 + \\\n 2').body.length, 1);
    });

    it('parses for loops', () => {
      const s = one('for i in 0 .. 16 {\n  hs[i] = dma_map_page(old, big, i * 256K, 256K, DMA_TO_DEVICE)\n}');
      assert.equal(s.kind, 'for');
      if (s.kind !== 'for') return;
      assert.equal(s.variable.name, 'i');
      assert.equal(show(s.iterable), '(.. 0 16)');
      assert.equal(s.body.length, 1);
      assert.equal(ok('for i in 0..3 { a = i; b = i }').body.length, 1);
    });

    it('parses every expect form', () => {
      const src = [
        'expect h1 == 0xfffff000',
        'expect !dma_mapping_error(nvme0, h1)',
        'expect fault dev_write(nvme0, h1, "x")',
        'expect error EIO dma_iova_link(tb0, st2, 0x8020_1800, 0x1000, 0x800, DMA_TO_DEVICE)',
        'expect error -EINVAL f(1)',
        'expect violation "different size" dma_unmap_page(eth0, h, 0x400, DMA_TO_DEVICE)',
        'expect stale cpu_read(frame, 0, 6)',
        'expect bounced h',
        'expect !bounced coh.dma',
        'expect no_leaks',
        'expect fault == 1',
      ].join('\n');
      const modes = ok(src).body.map((s) => (s.kind === 'expect' ? s.mode + (s.mode === 'bounced' && s.negated ? '!' : '') : s.kind));
      assert.deepEqual(modes, ['value', 'value', 'fault', 'error', 'error', 'violation', 'stale', 'bounced', 'bounced!', 'no_leaks', 'value']);
      const v = ok(src).body[5]!;
      assert.equal(v.kind === 'expect' && v.mode === 'violation' && v.text.value, 'different size');
    });

    it('parses print and checkpoint', () => {
      assert.deepEqual(plain(ok('print h + 1\ncheckpoint "after map"').body), [
        { kind: 'print', expr: { kind: 'binary', op: '+', left: { kind: 'ident', name: 'h' }, right: { kind: 'number', value: '1n', raw: '1' } } },
        { kind: 'checkpoint', label: { kind: 'string', value: 'after map', bytes: [...Buffer.from('after map')] } },
      ]);
    });
  });

  describe('declarations', () => {
    it('parses platform keys separated by ; and new lines', () => {
      const p = one('platform {\n  page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000\n  swiotlb = 64M\n}');
      assert.equal(p.kind, 'platform');
      if (p.kind === 'platform') assert.deepEqual(p.entries.map((e) => [e.key.text, show(e.value)]), [['page_size', '4096'], ['memory', '(.. 2147483648 8589934592)'], ['swiotlb', '67108864']]);
    });

    it('parses iommu kinds with hyphens and empty blocks', () => {
      const src = 'iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48 }\niommu amd0 : amd-vi { }\niommu v : virtio-iommu';
      const body = ok(src).body;
      assert.deepEqual(body.map((s) => (s.kind === 'iommu' ? `${s.name.text}:${s.iommuKind.text}:${s.entries.length}` : '')), ['smmu0:arm-smmu-v3:2', 'amd0:amd-vi:0', 'v:virtio-iommu:0']);
      const first = body[0]!;
      if (first.kind === 'iommu') assert.equal(textOf(src, first.iommuKind.span), 'arm-smmu-v3');
    });

    it('parses devices with chains and lists', () => {
      const d = one('device ipu : pci "0000:00:05.0" { iommu = [ipu_mmu, vtd0]; default_domain = [dma, identity] }');
      assert.equal(d.kind, 'device');
      if (d.kind !== 'device') return;
      assert.deepEqual([d.name.text, d.bus.text, d.id.value], ['ipu', 'pci', '0000:00:05.0']);
      assert.deepEqual(d.entries.map((e) => show(e.value)), ['[ipu_mmu vtd0]', '[dma identity]']);
    });

    it('parses mm blocks', () => {
      const m = one('mm p1 {\n  map 0x7f00_0000_0000 -> buf size 16K rw\n  map 0x7f00_1000_0000 -> buf + 4K size 4K r\n}');
      assert.equal(m.kind, 'mm');
      if (m.kind !== 'mm') return;
      assert.deepEqual(m.maps.map((x) => `${show(x.addr)} ${show(x.target)} ${show(x.size)} ${x.perm.text}`), [
        '139637976727552 buf 16384 rw', '139638245163008 (+ buf 4096) 4096 r',
      ]);
    });

    it('accepts declarations anywhere and the words platform/iommu/mm as variables', () => {
      const body = ok('a = 1\ndevice fn0 : pci "0000:6b:00.0" { group = g1 }\niommu = 3\nmm = iommu + 1\nb = platform').body;
      assert.deepEqual(body.map((s) => s.kind), ['assign', 'device', 'assign', 'assign', 'assign']);
    });
  });

  describe('error recovery', () => {
    it('reports two errors on two lines and still parses what follows', () => {
      const { program, diagnostics } = parse('a = 1 +\nb = (2\nc = 3\nd = )\ne = 5');
      assert.deepEqual(diagnostics.map((d) => [d.line, d.code]), [[1, 'parse'], [2, 'parse'], [4, 'parse']]);
      assert.deepEqual(program.body.map((s) => (s.kind === 'assign' && s.target.kind === 'ident' ? `${s.target.name}:${s.value.kind}` : s.kind)), [
        'a:error', 'b:error', 'c:number', 'd:error', 'e:number',
      ]);
    });

    it('gives precise ranges', () => {
      const { diagnostics } = parse('x = foo(1, 2 3)');
      assert.equal(diagnostics.length, 1);
      assert.deepEqual([diagnostics[0]!.line, diagnostics[0]!.column, diagnostics[0]!.endColumn], [1, 14, 15]);
      assert.match(diagnostics[0]!.message, /expected '\)'/);
    });

    it('reports an unclosed ( at the opener and resumes on the next statement line', () => {
      const { program, diagnostics } = parse('x = f(a, b\ny = g(1)\n');
      assert.equal(diagnostics.length, 1);
      assert.deepEqual([diagnostics[0]!.line, diagnostics[0]!.column], [1, 6]);
      assert.match(diagnostics[0]!.message, /unclosed '\('/);
      assert.equal(program.body.length, 2);
    });

    it('closes an unclosed { where the indentation ends', () => {
      const { program, diagnostics } = parse('device d : pci "0000:00:01.0" {\n  coherent = true\na = alloc_pages(0)\n');
      assert.equal(diagnostics.length, 1);
      assert.match(diagnostics[0]!.message, /unclosed '\{'/);
      assert.deepEqual(program.body.map((s) => s.kind), ['device', 'assign']);
      const d = program.body[0]!;
      if (d.kind === 'device') assert.equal(d.entries.length, 1);
    });

    it('reports unmatched closing braces', () => {
      const { program, diagnostics } = parse('a = 1 }\n}\nb = 2');
      assert.deepEqual(diagnostics.map((d) => [d.line, d.message]), [[1, "unmatched '}'"], [2, "unmatched '}'"]]);
      assert.equal(program.body.length, 2);
    });

    it('skips only the bad key of a declaration', () => {
      const { program, diagnostics } = parse('iommu s : generic { granule = ; ias = 32\n  levels 2\n  iotlb = 0 }\nx = 1');
      assert.equal(diagnostics.length, 2);
      const d = program.body[0]!;
      assert.equal(d.kind, 'iommu');
      if (d.kind === 'iommu') assert.deepEqual(d.entries.map((e) => e.key.text), ['ias', 'iotlb']);
      assert.equal(program.body.length, 2);
    });

    it('keeps a declaration whose header is broken', () => {
      const { program, diagnostics } = parse('device nvme0 pci "0000:01:00.0" { coherent = true }\nx = nvme0');
      assert.equal(diagnostics.length, 1);
      const d = program.body[0]!;
      assert.equal(d.kind === 'device' && d.name.text, 'nvme0');
      assert.equal(d.kind === 'device' && d.entries.length, 1);
    });

    it('reports trailing junk after a statement and keeps the statement', () => {
      const { program, diagnostics } = parse('a = 1 2\nb = 2');
      assert.equal(diagnostics.length, 1);
      assert.equal(diagnostics[0]!.column, 7);
      assert.equal(program.body.length, 2);
    });

    it('requires a call after expect fault/stale/error/violation', () => {
      const { diagnostics } = parse('expect fault h');
      assert.match(diagnostics[0]!.message, /needs a call/);
    });

    it('refuses assignments to reserved words and non-names', () => {
      assert.match(parse('expect = 1').diagnostics[0]!.message, /reserved word/);
      assert.match(parse('a.b = 1').diagnostics[0]!.message, /only a name/);
    });

    it('warns about C precedence traps unless parenthesised', () => {
      const { diagnostics } = parse('expect x & 1 == 0');
      assert.equal(diagnostics.length, 1);
      assert.equal(diagnostics[0]!.severity, 'warning');
      assert.deepEqual(parse('expect (x & 1) == 0').diagnostics, []);
      assert.deepEqual(parse('expect x & (a == 0)').diagnostics, []);
    });

    it('caps nesting instead of overflowing the stack', () => {
      for (const src of ['x = ' + '('.repeat(10000) + '1' + ')'.repeat(10000), 'x = ' + '['.repeat(10000), 'x = ' + '-'.repeat(10000) + '1', 'x = ' + Array(5000).fill('1').join(' + '), 'x = a' + '.b'.repeat(5000)]) {
        const { diagnostics } = parse(src);
        assert.equal(diagnostics.length, 1, src.slice(0, 20));
        assert.match(diagnostics[0]!.message, new RegExp(`deeper than ${MAX_NESTING}`));
      }
      const nested = parse('for i in 0..1 {\n'.repeat(1000) + '}\n'.repeat(1000) + 'y = 1');
      assert.equal(nested.diagnostics.length, 1);
      assert.equal(nested.program.body.length, 2);
    });

    it('refuses files over the size limit with one diagnostic', () => {
      const { program, diagnostics } = parse('a = 1\n'.repeat(2_000_000));
      assert.equal(program.body.length, 0);
      assert.deepEqual(diagnostics.map((d) => d.code), ['too-large']);
    });

    it('does not repeat lexer errors when it rewinds', () => {
      const { diagnostics } = parse('x = f(1,\n@ 2\ny = 3');
      assert.equal(diagnostics.filter((d) => d.message.includes("'@'")).length, 1);
    });
  });

  describe('acceptance scenarios', () => {
    const files = acceptanceScenarios().map((f) => f.name);
    it('finds the acceptance scenarios', () => {
      assert.ok(files.length >= 9);
    });
    for (const f of files) {
      it(`parses ${f} with no diagnostics and consistent spans`, () => {
        const src = readFileSync(path.join(sharedDir, f), 'utf8');
        const { program, diagnostics } = parse(src);
        assert.deepEqual(diagnostics, []);
        assert.ok(program.body.length > 0);
        for (const s of program.body) {
          const text = textOf(src, s.span);
          assert.ok(text.length > 0);
          assert.ok(!/^\s|\s$/.test(text), `statement span is trimmed: ${JSON.stringify(text)}`);
        }
      });
    }
  });
});
