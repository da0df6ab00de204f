// A panel's webview asks the host to show a scenario line (a DMA sanitizer
// row of the IOVA map, a line link of the walk or bounce panel). The webview
// is untrusted: the message's types are checked by parseFromWebviewMessage,
// then the line against the document the panel shows by checkRevealTarget
// (panel-host.ts revealLine runs both before it moves the editor).

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { checkRevealTarget } from '../../src/panels/reveal-target';
import { parseFromWebviewMessage } from '../../src/protocol';

const SCENARIO = { uri: 'file:///ws/sanitizer-panels.dmas', lineCount: 24 };

/** What the host does with a message: parse it, then check an accepted reveal against its scenario; the line shown or why not. */
function hostReveal(raw: unknown, shown = SCENARIO): { line: number } | { refused: string } {
  const parsed = parseFromWebviewMessage(raw);
  if (!parsed.ok) return { refused: parsed.error };
  const m = parsed.message;
  if (m.type !== 'iovaMap/revealFinding' && m.type !== 'iovaMap/revealLine' && m.type !== 'walk/revealLine' && m.type !== 'bounce/revealLine') return { refused: `not a reveal: ${m.type}` };
  // As the hosts pass it: the document only from the message that names one (others' extra fields are not read).
  const err = checkRevealTarget(m.type === 'iovaMap/revealFinding' ? { uri: m.uri, line: m.line } : { line: m.line }, shown);
  return err ? { refused: err } : { line: m.line };
}

describe('panels: revealing a scenario line a webview asked for', () => {
  it('shows a DMA sanitizer row\'s line of the panel\'s scenario', () => {
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: SCENARIO.uri, line: 12 }), { line: 12 });
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: SCENARIO.uri, line: 24 }), { line: 24 });
  });

  it('refuses wrong types with the reason', () => {
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: SCENARIO.uri, line: '12' }), { refused: 'iovaMap/revealFinding: line must be a positive integer' });
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: SCENARIO.uri, line: 1.5 }), { refused: 'iovaMap/revealFinding: line must be a positive integer' });
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: SCENARIO.uri, line: 0 }), { refused: 'iovaMap/revealFinding: line must be a positive integer' });
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: SCENARIO.uri, line: Number.NaN }), { refused: 'iovaMap/revealFinding: line must be a positive integer' });
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: 7, line: 12 }), { refused: 'iovaMap/revealFinding: uri must be the scenario\'s URI' });
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', line: 12 }), { refused: 'iovaMap/revealFinding: uri must be the scenario\'s URI' });
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: `file:///${'a'.repeat(5000)}`, line: 12 }), { refused: 'iovaMap/revealFinding: uri must be the scenario\'s URI' });
    assert.deepEqual(hostReveal(['iovaMap/revealFinding', 12]), { refused: 'message is not an object' });
  });

  it('refuses a line past the end of the scenario, for every panel\'s reveal', () => {
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: SCENARIO.uri, line: 25 }), { refused: 'line 25 is past the end of the scenario (24 lines)' });
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealLine', line: 9000 }), { refused: 'line 9000 is past the end of the scenario (24 lines)' });
    assert.deepEqual(hostReveal({ type: 'walk/revealLine', line: 25 }), { refused: 'line 25 is past the end of the scenario (24 lines)' });
    assert.deepEqual(hostReveal({ type: 'bounce/revealLine', line: 2 ** 40 }), { refused: `line ${2 ** 40} is past the end of the scenario (24 lines)` });
    assert.deepEqual(hostReveal({ type: 'bounce/revealLine', line: 3 }), { line: 3 });
  });

  it('refuses another document than the one the panel shows, and any reveal before it shows one', () => {
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: 'file:///etc/passwd', line: 1 }), { refused: '"file:///etc/passwd" is not the scenario the panel shows' });
    assert.deepEqual(hostReveal({ type: 'iovaMap/revealFinding', uri: 'file:///ws/SANITIZER-panels.dmas', line: 1 }), { refused: '"file:///ws/SANITIZER-panels.dmas" is not the scenario the panel shows' });
    assert.equal(checkRevealTarget({ line: 1, uri: SCENARIO.uri }, undefined), 'the panel shows no scenario yet');
    assert.equal(checkRevealTarget({ line: 1 }, { uri: SCENARIO.uri, lineCount: 1 }), null);
    // A caller that passes a message's fields as they came: a uri that is not a string is refused, not thrown on.
    assert.equal(checkRevealTarget({ line: 1, uri: 0 as unknown as string }, SCENARIO), 'a document is not the scenario the panel shows');
  });

  it('never throws, and shows only lines 1..lineCount of the panel\'s own scenario (any message)', () => {
    const anyMessage = fc.oneof(
      fc.anything(),
      fc.record({
        type: fc.constantFrom('iovaMap/revealFinding', 'iovaMap/revealLine', 'walk/revealLine', 'bounce/revealLine'),
        uri: fc.oneof(fc.constant(SCENARIO.uri), fc.string(), fc.integer(), fc.constant(undefined)),
        line: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
      }, { requiredKeys: ['type'] }),
    );
    fc.assert(fc.property(anyMessage, fc.integer({ min: 1, max: 100_000 }), (raw, lineCount) => {
      const r = hostReveal(raw, { uri: SCENARIO.uri, lineCount });
      if ('line' in r) {
        assert.ok(Number.isSafeInteger(r.line) && r.line >= 1 && r.line <= lineCount);
        const uri = (raw as { uri?: unknown }).uri;
        if ((raw as { type: string }).type === 'iovaMap/revealFinding') assert.equal(uri, SCENARIO.uri);
      }
    }), { numRuns: 2000 });
  });
});
