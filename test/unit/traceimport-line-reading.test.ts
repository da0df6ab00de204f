// The importer's line reading: the byte splitter gives the lines readline
// gave (\n, \r\n and a lone \r end a line, across any chunking), the
// header scan reads pid, cpu and timestamp as Number() reads their digits,
// and the copies findings keep of their text are exact.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { parseFtraceLine } from '../../src/traceimport/ftrace-line';
import { importCaptureFile } from '../../src/traceimport/import-stream';
import { CaptureLineSplitter, CUT_LINE_BYTES } from '../../src/traceimport/line-splitter';
import { SharedStrings, detachStrings, ownString } from '../../src/traceimport/values';

/** Lines and cut flags the splitter gives for `bytes` fed in chunks of `size`. */
function split(bytes: Buffer, size: number): { lines: string[]; cuts: boolean[]; splitter: CaptureLineSplitter } {
  const lines: string[] = [];
  const cuts: boolean[] = [];
  const splitter = new CaptureLineSplitter((l, cut) => {
    lines.push(l);
    cuts.push(cut);
  });
  for (let i = 0; i < bytes.length; i += size) if (!splitter.push(bytes.subarray(i, i + size))) break;
  splitter.end();
  return { lines, cuts, splitter };
}

describe('capture line reading', () => {
  it('splits at \\n, \\r\\n and a lone \\r, whatever the chunk size, as readline does', () => {
    const text = 'a\rb\r\nc\n\r\nd é€\n\ne';
    for (const size of [1, 2, 3, 5, 64]) assert.deepEqual(split(Buffer.from(text), size).lines, ['a', 'b', 'c', '', 'd é€', '', 'e'], `chunks of ${size}`);
    fc.assert(
      fc.property(fc.array(fc.constantFrom('x', 'é', '€', ' ', '\n', '\r', '\r\n'), { maxLength: 60 }), fc.integer({ min: 1, max: 9 }), (parts, size) => {
        const text = parts.join('');
        const expected = text.split(/\r?\n|\r(?!\n)/);
        if (expected[expected.length - 1] === '') expected.pop();
        assert.deepEqual(split(Buffer.from(text), size).lines, expected);
      }),
      { numRuns: 500 },
    );
  });

  it('splits all-ASCII chunks (each line decoded as latin1) as readline does, counting the newlines, with CRs and non-ASCII chunks between them', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('x', 'ab', ' ', '[1]', '\n', '\n', '\r', '\r\n', 'é'), { maxLength: 80 }), fc.integer({ min: 1, max: 40 }), (parts, size) => {
        const text = parts.join('');
        const expected = text.split(/\r?\n|\r(?!\n)/);
        if (expected[expected.length - 1] === '') expected.pop();
        const r = split(Buffer.from(text), size);
        assert.deepEqual(r.lines, expected);
        assert.ok(r.cuts.every((c) => !c));
        assert.equal(r.splitter.newlines, text.split('\n').length - 1);
      }),
      { numRuns: 1000 },
    );
  });

  it('cuts a line longer than the limit inside one all-ASCII chunk and flags it; the lines around it are whole', () => {
    const r = split(Buffer.from('first\n' + 'x'.repeat(CUT_LINE_BYTES + 10) + '\nnext\n'), CUT_LINE_BYTES * 2);
    assert.deepEqual([r.lines[0], r.lines[1].length, r.cuts[1], r.lines[2], r.cuts[2]], ['first', CUT_LINE_BYTES, true, 'next', false]);
  });

  it('stops at a NUL byte: the text before it is a line, its line number counts the newlines before it', () => {
    const r = split(Buffer.from('one\ntwo\r\nthr\u0000ee\nfour\n'), 4);
    assert.deepEqual(r.lines, ['one', 'two', 'thr']);
    assert.deepEqual(r.splitter.binary, { offset: 12, line: 3, what: 'binary data (a NUL byte)' });
  });

  it('cuts a line longer than the limit at the limit and flags it; the next line is whole', () => {
    const r = split(Buffer.from('x'.repeat(CUT_LINE_BYTES + 10) + '\nnext\n'), 100_000);
    assert.deepEqual([r.lines[0].length, r.cuts[0], r.lines[1], r.cuts[1]], [CUT_LINE_BYTES, true, 'next', false]);
  });

  it('reads pid, cpu and timestamp of a header as Number() reads their digits', () => {
    fc.assert(
      // Past 15 digits a pid or timestamp is read by Number() itself (the scan sums shorter ones as their digits go by).
      fc.property(fc.oneof(fc.nat({ max: 4_000_000 }).map(String), fc.stringMatching(/^\d{14,20}$/)), fc.nat({ max: 99_999 }), fc.stringMatching(/^\d{1,12}(\.\d{0,9})?$/), (pid, cpu, ts) => {
        const h = parseFtraceLine(`  kworker/0:1H-${pid}   [${String(cpu).padStart(3, '0')}] .....  ${ts}: dma_map_phys: 0000:01:00.0 dir=TO_DEVICE`);
        assert.deepEqual(h && [h.pid, h.cpu, h.ts], [Number(pid), cpu, Number(ts)]);
      }),
      { numRuns: 2000 },
    );
  });

  it('the copy a finding keeps of a string is the same text, whatever its characters (lone surrogates too)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom('a', 'é', '\u00ff', '€', '\ud83d', '\ude00', '"', '\\', '\n'), fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 40 }), fc.nat(), (s, cut) => {
        const line = `[ 1.0] ${s} tail`;
        const piece = line.slice(cut % line.length);
        assert.equal(ownString(piece), piece);
      }),
      { numRuns: 2000 },
    );
  });

  it('a finding whose strings are shared with other findings keeps every value (message, nested lists and objects), past the sharing limit too', () => {
    // A limit of 3 strings: the later findings' strings are copied, not shared, and read the same.
    const shared = new SharedStrings(3);
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', 'é', '€', '\ud83d', ' ', ':'), maxLength: 200 }), fc.nat(), (s, cut) => {
        const line = `[ 1000.000001] DMAR: ${s} fault addr 0xfff00000 [fault reason 0x06] PTE Read access is not set`;
        const piece = line.slice(cut % line.length);
        const finding: Record<string, unknown> = { line: 7, kind: 'io_page_fault', device: piece, reason: line.slice(22), message: piece, call_trace: [piece, 'dma_free_attrs+0x76/0xe0'], mappings: [{ addr: piece, size: 4096 }] };
        const expected = structuredClone(finding);
        detachStrings(finding, shared);
        assert.deepEqual(finding, expected);
        assert.equal(shared.get(piece), piece);
      }),
      { numRuns: 1000 },
    );
  });

  describe('a long import', () => {
    let dir = '';
    let file = '';
    const LINES = 70_000;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'dmascope-progress-'));
      file = path.join(dir, 'long.trace');
      const line = (i: number): string => `  kworker/0:1H-300   [000] .....  ${1000 + i / 1000}: dma_map_phys: 0000:01:00.0 dir=TO_DEVICE dma_addr=${(0x10000 + i * 0x1000).toString(16)} size=4096 phys_addr=1000 attrs=`;
      writeFileSync(file, Array.from({ length: LINES }, (_, i) => line(i)).join('\n') + '\n');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('reports its progress (bytes and lines read, growing) and ends with the whole file', async () => {
      const calls: [number, number][] = [];
      const r = await importCaptureFile(file, { onProgress: (bytes, lines) => calls.push([bytes, lines]), replay: false });
      assert.equal(r.lines, LINES);
      assert.ok(calls.length >= 4, `${calls.length} progress calls`);
      for (let i = 1; i < calls.length; i++) assert.ok(calls[i][0] >= calls[i - 1][0] && calls[i][1] >= calls[i - 1][1]);
      assert.deepEqual(calls[calls.length - 1], [statSync(file).size, LINES]);
    });

    it('reads every chunk of a file many chunks long once and in order (the next chunk is read while one is split)', async () => {
      const r = await importCaptureFile(file, { keepEvents: true, replay: false });
      assert.equal(r.events.length, LINES);
      for (let i = 0; i < LINES; i += 997) {
        const e = r.events.at(i);
        assert.equal(e.line, i + 1);
        assert.equal(e.addr, '0x' + (0x10000 + i * 0x1000).toString(16));
      }
      assert.equal(r.events.at(LINES - 1).addr, '0x' + (0x10000 + (LINES - 1) * 0x1000).toString(16));
    });

    it('stops when cancelled, rejecting with an AbortError', async () => {
      const abort = new AbortController();
      let seen = 0;
      let calls = 0;
      await assert.rejects(
        importCaptureFile(file, {
          signal: abort.signal,
          onProgress: (_bytes, lines) => {
            calls++;
            seen = lines;
            abort.abort();
          },
        }),
        (e: Error) => e.name === 'AbortError',
      );
      assert.ok(seen > 0 && seen < LINES, `cancelled after ${seen} lines`);
      assert.equal(calls, 1, 'no progress after the cancel');
    });
  });
});
