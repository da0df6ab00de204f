// dmascope/inspect's messages: what a panel may ask, and what it accepts as
// the debug session's answer (anything else is refused with the reason).

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { answerInspectRequest } from '../../src/debug/inspect-request';
import { DebugRuntime } from '../../src/debug/runtime';
import { parseBounceInspectAnswer, parseInspectAnswer, parseWalkInspectAnswer, parseWalkInspectArguments, type WalkInspectResponse } from '../../src/protocol';
import { REPO_ROOT } from './fixtures';

const POSITION = { event: 3, total: 10, line: 7, backwards: false, statements: [{ event: 1, line: 6 }, { event: 3, line: 7 }] };

describe('dmascope/inspect messages', () => {
  it('asks for a walk by target, by line, or with the run\'s walk sites; refuses the rest', () => {
    assert.deepEqual(parseWalkInspectArguments({ kind: 'walk', line: 9, withTargets: true }), { ok: true, message: { kind: 'walk', event: undefined, target: undefined, line: 9, withTargets: true } });
    assert.deepEqual(parseWalkInspectArguments({ kind: 'walk', line: -1 }), { ok: false, error: 'line must be a non-negative integer' });
    assert.deepEqual(parseWalkInspectArguments({ kind: 'walk', withTargets: 'yes' }), { ok: false, error: 'withTargets must be a boolean' });
    assert.deepEqual(parseWalkInspectArguments({ kind: 'walk', target: { device: 'gpu', addr: '0x1', pasid: null, access: 'exec', line: 0 } }), { ok: false, error: 'target.access must be read, write or null' });
  });

  it('accepts a session\'s answers with their position and refuses malformed or hostile ones', () => {
    const walk = { event: 3, target: null, model: null, error: 'Nothing to walk', devices: ['gpu'], position: POSITION };
    assert.equal(parseWalkInspectAnswer(walk).ok, true);
    assert.deepEqual(parseWalkInspectAnswer({ ...walk, position: { ...POSITION, statements: 'all' } }), { ok: false, error: 'dmascope/inspect answer: position.statements must be a list of { event, line }' });
    assert.deepEqual(parseWalkInspectAnswer({ ...walk, targets: [{ device: 'gpu', addr: '<script>', pasid: null, access: null, line: 0 }] }), { ok: false, error: 'dmascope/inspect answer: targets must be a list of walk targets' });
    assert.deepEqual(parseWalkInspectAnswer({ ...walk, position: undefined }), { ok: false, error: 'dmascope/inspect answer: position must be an object' });
    assert.deepEqual(parseBounceInspectAnswer({ event: 3, model: {}, position: POSITION }), { ok: false, error: 'dmascope/inspect answer: model must be a bounce model' });
    assert.deepEqual(parseInspectAnswer({ event: 'x' }), { ok: false, error: 'dmascope/inspect answer: event must be an integer >= -1' });
    assert.deepEqual(parseInspectAnswer(null), { ok: false, error: 'dmascope/inspect answer: the answer is not an object' });
  });

  it('walks without a target: an empty answer that says why, not a crash', () => {
    const rt = new DebugRuntime(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'debug', 'map-fault.dmas'), 'utf8'));
    rt.start(true);
    const r = answerInspectRequest(rt.machine()!, { kind: 'walk' }, rt.position) as WalkInspectResponse;
    assert.equal(r.target, null);
    assert.equal(r.model, null);
    assert.match(r.error ?? '', /^Nothing to walk/);
    assert.deepEqual(rt.walkTargets().map((t) => [t.device, t.addr, t.access, t.line]), [['eth0', '0xfffff000', 'write', 9]]);
    assert.deepEqual(rt.statementsAround(rt.position, 2).map((s) => s.line), [3, 4, 5]);
  });
});
