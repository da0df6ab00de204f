// Fuzzing every reader with fast-check: random text and bytes, real lines
// mutated, files cut at any byte, binary data, adversarial long lines. No
// input may crash, hang or lose a line; converted scenarios always parse.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { checkScenario } from '../../src/lang/run';
import { startAmdVi } from '../../src/traceimport/dmesg/amd-vi';
import { startArmSmmu } from '../../src/traceimport/dmesg/arm-smmu';
import { startArmSmmuV3 } from '../../src/traceimport/dmesg/arm-smmu-v3';
import { startDmar } from '../../src/traceimport/dmesg/intel-dmar';
import { startIommuCore } from '../../src/traceimport/dmesg/iommu-core';
import { startRatelimit } from '../../src/traceimport/dmesg/ratelimit';
import type { LineCtx } from '../../src/traceimport/dmesg/record';
import { SplatRecord } from '../../src/traceimport/dmesg/splat';
import { startSwiotlb } from '../../src/traceimport/dmesg/swiotlb';
import { FORMATS_BY_EVENT, parsePayload } from '../../src/traceimport/event-parser';
import { parseBareEvent, parseFtraceLine } from '../../src/traceimport/ftrace-line';
import { CaptureImporter } from '../../src/traceimport/importer';
import { stripPrefix } from '../../src/traceimport/line-prefix';
import { replayCapture } from '../../src/traceimport/replay';
import { captureDevices, captureToScenario } from '../../src/traceimport/to-scenario';
import type { ImportResult, FormatChoice } from '../../src/traceimport/types';
import { Interner } from '../../src/traceimport/values';
import { REAL_DIR, SYNTHETIC_DIR, assertAccounted, captureFiles, importBytes } from './traceimport-helpers';

const FIXTURES = [...captureFiles(REAL_DIR).map((f) => path.join(REAL_DIR, f)), ...captureFiles(SYNTHETIC_DIR).map((f) => path.join(SYNTHETIC_DIR, f))];
const FIXTURE_BYTES = FIXTURES.map((f) => readFileSync(f));
const REAL_LINES = FIXTURE_BYTES.flatMap((b) => b.toString('utf8').split('\n')).filter((l) => l.trim() !== '' && !l.startsWith('#'));

/** Imports lines through the synchronous importer, the replay included. */
function importLines(lines: readonly string[], format: FormatChoice = 'auto'): ImportResult {
  const imp = new CaptureImporter({ format });
  for (const l of lines) imp.push(l);
  imp.end();
  const r = imp.result();
  replayCapture(r, imp.allEvents);
  return r;
}

/** A real line with one edit: cut, a character dropped, inserted or replaced, a piece doubled, spaces squeezed. */
const mutatedLine = fc
  .tuple(fc.constantFrom(...REAL_LINES), fc.nat(), fc.nat(), fc.constantFrom('cut', 'drop', 'insert', 'replace', 'double', 'squeeze', 'upper'), fc.string({ maxLength: 3 }))
  .map(([line, a, b, op, s]) => {
    const i = line.length === 0 ? 0 : a % line.length;
    const j = line.length === 0 ? 0 : b % line.length;
    switch (op) {
      case 'cut':
        return line.slice(0, i);
      case 'drop':
        return line.slice(0, i) + line.slice(i + 1);
      case 'insert':
        return line.slice(0, i) + s + line.slice(i);
      case 'replace':
        return line.slice(0, i) + s + line.slice(i + s.length);
      case 'double':
        return line.slice(0, Math.max(i, j)) + line.slice(Math.min(i, j));
      case 'squeeze':
        return line.replace(/ +/g, ' ');
      default:
        return line.toUpperCase();
    }
  });

const anyLine = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 120 }), mutatedLine, fc.constantFrom(...REAL_LINES));

describe('traceimport: fuzz', function () {
  this.timeout(120_000);

  it('each line reader takes any text without throwing', () => {
    const intern = new Interner();
    const events = [...FORMATS_BY_EVENT.keys()];
    const starters = [startDmar, startAmdVi, startArmSmmu, startArmSmmuV3, startSwiotlb, startIommuCore, startRatelimit];
    fc.assert(
      fc.property(anyLine, fc.constantFrom(...events), (line, event) => {
        parsePayload(event, line, intern);
        parseFtraceLine(line);
        parseBareEvent(line);
        const prefix = stripPrefix(line);
        assert.equal(typeof prefix.body, 'string');
        const ctx: LineCtx = { no: 1, raw: line, body: prefix.body, prefix };
        for (const s of starters) s(ctx);
        if (SplatRecord.starts(ctx.body)) new SplatRecord(ctx).finish({ finding: () => undefined, malformed: () => undefined });
      }),
      { numRuns: 3000 },
    );
  });

  it('any sequence of lines (random, real, mutated) is read whole, every line accounted for', () => {
    fc.assert(
      fc.property(fc.array(anyLine, { maxLength: 60 }), fc.constantFrom<FormatChoice>('auto', 'ftrace', 'trace-cmd', 'dmesg'), (lines, format) => {
        const r = importLines(lines, format);
        assert.equal(r.lines, lines.length);
        assertAccounted(r);
        for (const f of r.findings) assert.ok(f.line >= 1 && f.line <= lines.length, JSON.stringify(f));
        for (const e of r.events) assert.ok(e.line >= 1 && e.line <= lines.length);
      }),
      { numRuns: 1500 },
    );
  });

  it('a fixture cut at any byte imports without rejecting: accounted, and an error only when it says truncated or binary', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(FIXTURE_BYTES.length - 1), fc.nat(), async (k, at) => {
        const bytes = FIXTURE_BYTES[k];
        const cut = bytes.subarray(0, at % (bytes.length + 1));
        const r = await importBytes(cut);
        assertAccounted(r);
        if (r.error !== undefined) assert.ok(r.error.code === 'truncated' || r.error.code === 'binary', JSON.stringify(r.error));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes (binary or not) import without rejecting; a NUL byte is a binary error at its line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
        const r = await importBytes(bytes);
        assertAccounted(r);
        const nul = bytes.indexOf(0);
        const magic = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
        if (nul >= 0 || magic) {
          assert.equal(r.error?.code, 'binary');
          if (!magic && !(bytes.length >= 3 && bytes[0] === 0x17 && bytes[1] === 0x08 && bytes[2] === 0x44)) {
            const line = bytes.subarray(0, nul).filter((b) => b === 10).length + 1;
            assert.equal(r.error?.line, line);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('long adversarial lines finish quickly', () => {
    const unit = fc.constantFrom('a-1 [', '-1 ', '[<ffff>] ', 'x=', '0x', '[DMA Read', ' Request device [', '{0x1,', 'Event logged [', '] ', '  ', ': ');
    fc.assert(
      fc.property(fc.array(unit, { minLength: 1, maxLength: 8 }), fc.integer({ min: 100, max: 4000 }), (units, times) => {
        const line = units.join('').repeat(times).slice(0, 60_000);
        const start = Date.now();
        const r = importLines([line, line + ']', '  ' + line]);
        assertAccounted(r);
        assert.ok(Date.now() - start < 2000, `took ${Date.now() - start} ms`);
      }),
      { numRuns: 60 },
    );
  });

  it('every device of a mutated capture converts to a scenario that parses and checks', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(mutatedLine, fc.constantFrom(...REAL_LINES)), { minLength: 1, maxLength: 40 }), (lines) => {
        const r = importLines(lines);
        const imp = new CaptureImporter();
        for (const l of lines) imp.push(l);
        imp.end();
        for (const d of captureDevices(r, imp.allEvents)) {
          const s = captureToScenario(r, imp.allEvents, d.device);
          const errors = checkScenario(s.source).filter((x) => x.severity === 'error');
          assert.deepEqual(errors, [], s.source);
        }
      }),
      { numRuns: 500 },
    );
  });
});
