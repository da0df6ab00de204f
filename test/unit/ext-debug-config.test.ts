// The launch configuration F5 gets without a launch.json, and the debugger's
// contribution in package.json.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { resolveLaunch } from '../../src/extension/debug/debug-config';
import { eventOfLink, parseGoToEvent } from '../../src/extension/debug/go-to-event';
import { parseTraceCondition } from '../../src/debug/breakpoints';
import { REPO_ROOT } from './fixtures';

describe('ext: debug configuration', () => {
  it('reads the event out of a Debug Console log line link, and nothing out of other URIs', () => {
    assert.equal(eventOfLink({ path: '/goToEvent', query: 'event=42' }), 42);
    assert.equal(eventOfLink({ path: '/goToEvent', query: 'x=1&event=7' }), 7);
    for (const u of [{ path: '/goToEvent', query: 'event=-1' }, { path: '/goToEvent', query: 'event=1e3' }, { path: '/other', query: 'event=1' }, { path: '/goToEvent', query: '' }]) assert.equal(eventOfLink(u), undefined, JSON.stringify(u));
  });

  it('F5 without launch.json debugs the active scenario, stopping at its first statement', () => {
    assert.deepEqual(resolveLaunch({}, '/ws/a.dmas'), { type: 'dmascope', request: 'launch', name: 'Debug scenario', program: '/ws/a.dmas', stopOnEntry: true });
  });

  it('keeps a launch.json configuration, filling ${file} from the active scenario', () => {
    const r = resolveLaunch({ type: 'dmascope', request: 'launch', name: 'mine', program: '${file}', stopOnEntry: false }, '/ws/b.dmas');
    assert.deepEqual(r, { type: 'dmascope', request: 'launch', name: 'mine', program: '/ws/b.dmas', stopOnEntry: false });
    const fixed = resolveLaunch({ type: 'dmascope', request: 'launch', name: 'x', program: '/ws/c.dmas' }, undefined);
    assert.equal(typeof fixed !== 'string' && fixed.program, '/ws/c.dmas');
  });

  it('F5 without launch.json on a kernel capture debugs the capture', () => {
    assert.deepEqual(resolveLaunch({}, '/ws/ath12k.log', true), { type: 'dmascope', request: 'launch', name: 'Debug capture', program: '/ws/ath12k.log', capture: true, stopOnEntry: true });
    // A launch.json naming its own program keeps it: the adapter tells a capture by its name and lines.
    const own = resolveLaunch({ type: 'dmascope', request: 'launch', name: 'x', program: '/ws/a.dmas' }, '/ws/ath12k.log', true);
    assert.equal(typeof own !== 'string' && own.capture, undefined);
  });

  it('says what to do when there is no scenario', () => {
    assert.equal(resolveLaunch({}, undefined), 'dmascope: open a .dmas scenario to debug (or set "program" in the launch configuration).');
  });

  it('contributes the debugger, breakpoints in .dmas files and the Debug button', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      activationEvents: string[];
      contributes: { debuggers: { type: string; languages: string[] }[]; breakpoints: { language: string }[]; menus: Record<string, { command: string }[]> };
    };
    assert.deepEqual(pkg.contributes.debuggers.map((d) => [d.type, d.languages]), [['dmascope', ['dmas', 'dmascope-capture']]]);
    assert.deepEqual(pkg.contributes.breakpoints, [{ language: 'dmas' }, { language: 'dmascope-capture' }]);
    assert.ok(pkg.contributes.menus['editor/title/run'].some((m) => m.command === 'dmascope.debugCapture'), 'Debug capture in the editor title of a capture');
    assert.ok(pkg.contributes.menus['editor/title/run'].some((m) => m.command === 'dmascope.debugScenario'));
    assert.ok(pkg.activationEvents.includes('onDebugResolve:dmascope'));
  });
});

describe('ext: Go to event input', () => {
  it('takes a 1-based event number, a percentage or an event name, and says what is wrong otherwise', () => {
    assert.deepEqual(parseGoToEvent('1234'), { event: 1233 });
    assert.deepEqual(parseGoToEvent(' 50% '), { percent: 50 });
    assert.deepEqual(parseGoToEvent('iommu:io_page_fault'), { kind: 'iommu:io_page_fault' });
    assert.deepEqual(parseGoToEvent('alloc_iova_fast'), { kind: 'alloc_iova_fast' });
    assert.equal(parseGoToEvent('0'), 'events are numbered from 1');
    assert.equal(parseGoToEvent('150%'), 'a percentage is at most 100%');
    assert.equal(parseGoToEvent('x y'), '"x y" is not an event number, a percentage or an event name');
  });
});

describe('debug: trace breakpoint conditions', () => {
  it('parses device, address range and PASID, and says what it does not understand', () => {
    assert.deepEqual(parseTraceCondition('device == 0000:02:00.0 && addr in 0xffff_0000..0x1_0000_0000 && pasid == 1'), { device: '0000:02:00.0', addr: { start: 0xffff0000n, end: 0x100000000n }, pasid: 1 });
    assert.deepEqual(parseTraceCondition(''), {});
    assert.equal(parseTraceCondition('addr in 0x2000..0x1000'), 'empty range in "addr in 0x2000..0x1000"');
    assert.equal(parseTraceCondition('size > 4'), '"size > 4" is not device == NAME, addr in START..END or pasid == N');
  });
});
