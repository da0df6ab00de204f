// Moving result lines with edits (line-map.ts) and the run store's API
// (run-store.ts) that the editor's providers read.

import * as assert from 'node:assert/strict';
import { countLineBreaks, EditLog, type LineChange, mapLineThrough } from '../../src/extension/line-map';
import { summarizeRun } from '../../src/extension/run-diagnostics';
import { RunStore, type RunStoreChange } from '../../src/extension/run-store';
import type { RunResult } from '../../src/lang/run-result';

/** A change replacing (sl:sc)-(el:ec) (1-based lines) with `text`. */
const ch = (sl: number, sc: number, el: number, ec: number, text: string): LineChange => ({
  startLine: sl, startColumn: sc, endLine: el, endColumn: ec, newLineBreaks: countLineBreaks(text),
});

const mapAll = (c: LineChange, n = 8): (number | undefined)[] => Array.from({ length: n }, (_, i) => mapLineThrough(i + 1, c));

describe('ext: line map', () => {
  it('counts line breaks of every style', () => {
    assert.equal(countLineBreaks('a\nb\r\nc\rd'), 3);
    assert.equal(countLineBreaks(''), 0);
  });

  it('leaves lines alone for edits inside a line', () => {
    assert.deepEqual(mapAll(ch(3, 2, 3, 5, 'xyz')), [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('moves lines down when Enter is pressed at the end of a line', () => {
    assert.deepEqual(mapAll(ch(3, 10, 3, 10, '\n')), [1, 2, 3, 5, 6, 7, 8, 9]);
  });

  it('moves the line itself when text with line breaks is inserted at its start', () => {
    assert.deepEqual(mapAll(ch(3, 0, 3, 0, 'a\nb\n')), [1, 2, 5, 6, 7, 8, 9, 10]);
  });

  it('removes deleted whole lines and pulls the rest up', () => {
    // Delete lines 3 and 4 entirely: (3:0)-(5:0).
    assert.deepEqual(mapAll(ch(3, 0, 5, 0, '')), [1, 2, undefined, undefined, 3, 4, 5, 6]);
  });

  it('joins lines: the start line stays, the lines after move up', () => {
    // Backspace at the start of line 4: (3:12)-(4:0).
    assert.deepEqual(mapAll(ch(3, 12, 4, 0, '')), [1, 2, 3, 3, 4, 5, 6, 7]);
  });

  it('removes lines cut in the middle of a multi-line replacement', () => {
    assert.deepEqual(mapAll(ch(2, 4, 5, 3, 'x')), [1, 2, undefined, undefined, undefined, 3, 4, 5]);
  });

  it('composes edits by version and knows when nothing moved', () => {
    const log = new EditLog();
    log.record(2, [ch(1, 5, 1, 6, 'x')]);
    assert.ok(log.unchangedSince(1));
    assert.ok(log.record(3, [ch(1, 0, 1, 0, '# header\n')]));
    assert.ok(!log.record(4, [ch(2, 1, 2, 1, 'y')]), 'an in-line edit moves nothing');
    log.record(5, [ch(10, 0, 12, 0, '')]);
    assert.equal(log.mapLine(1, 1), 2);
    assert.equal(log.mapLine(1, 8), 9);
    assert.equal(log.mapLine(1, 9), undefined, 'line 9 of v1 is line 10 of v3, deleted in v5 with line 11');
    assert.equal(log.mapLine(1, 10), undefined);
    assert.equal(log.mapLine(1, 11), 10, 'line 12 of v3 moves up by two');
    assert.equal(log.mapLine(1, 13), 12);
    assert.equal(log.mapLine(3, 1), 1, 'results of v3 only see the v5 deletion');
    assert.equal(log.mapLine(5, 42), 42);
    assert.ok(!log.unchangedSince(3));
    assert.ok(log.unchangedSince(5));
  });

  it('applies the changes of one edit in order (multi-cursor edits come last-first)', () => {
    const log = new EditLog();
    log.record(2, [ch(10, 0, 10, 0, '\n'), ch(2, 0, 2, 0, '\n')]);
    assert.equal(log.mapLine(1, 1), 1);
    assert.equal(log.mapLine(1, 5), 6);
    assert.equal(log.mapLine(1, 12), 14);
  });

  it('forgets old edits past its capacity, and then cannot map from before them', () => {
    const log = new EditLog(3);
    for (let v = 2; v <= 6; v++) log.record(v, [ch(1, 0, 1, 0, '\n')]);
    assert.equal(log.mapLine(1, 1), undefined);
    assert.equal(log.mapLine(3, 1), 4);
  });
});

describe('ext: run store', () => {
  const result: RunResult = { ok: true, diagnostics: [], expectations: [], checks: [], faults: [], values: {}, events: [], log: [], statements: [] };
  const uri = { toString: () => 'file:///a.dmas' };
  const summary = summarizeRun(result);

  it('keeps the latest run per document and tells listeners', () => {
    const store = new RunStore();
    const seen: RunStoreChange[] = [];
    const sub = store.onDidChange((e) => seen.push(e));
    assert.equal(store.get(uri), undefined);
    store.setRunning(uri, true);
    store.setRunning(uri, true);
    assert.ok(store.isRunning('file:///a.dmas'));
    store.set(uri, { version: 3, result, fileName: 'a.dmas', durationMs: 2, checkDiagnostics: [], summary });
    store.setRunning(uri, false);
    assert.equal(store.get('file:///a.dmas')?.version, 3);
    assert.equal(store.get(uri)?.result, result);
    store.noteEdit(uri, 4, [ch(1, 3, 1, 4, 'x')]);
    store.noteEdit(uri, 5, [ch(1, 0, 1, 0, '\n')]);
    assert.equal(store.currentLine(uri, 7), 8);
    assert.equal(store.mapLine(uri, 5, 7), 7);
    store.delete(uri);
    assert.equal(store.get(uri), undefined);
    sub.dispose();
    store.set(uri, { version: 6, result, fileName: 'a.dmas', durationMs: 2, checkDiagnostics: [], summary });
    assert.deepEqual(seen.map((e) => e.kind), ['busy', 'result', 'busy', 'edit', 'removed']);
    assert.ok(seen.every((e) => e.uri === 'file:///a.dmas'));
  });

  it('maps lines as the identity for documents it has no edits of', () => {
    const store = new RunStore();
    assert.equal(store.mapLine('x', 1, 12), 12);
    assert.equal(store.currentLine('x', 12), 12);
  });

  it('passes thisArgs and collects disposables like vscode.Event', () => {
    const store = new RunStore();
    const owner = { n: 0, bump(this: { n: number }) { this.n++; } };
    const bag: { dispose(): void }[] = [];
    store.onDidChange(owner.bump, owner, bag);
    store.setRunning('u', true);
    assert.equal(owner.n, 1);
    assert.equal(bag.length, 1);
    bag[0]!.dispose();
    store.setRunning('u', false);
    assert.equal(owner.n, 1);
  });
});
