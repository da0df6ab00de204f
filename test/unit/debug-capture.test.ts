// The debug adapter stepping through real kernel captures (issue 12):
// dist/debug-adapter.js over stdio, driven by DebugClient as VS Code drives
// it, with a capture file as the launch `program`.

import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { isCaptureProgram } from '../../src/debug/capture-session';
import { parseInspectAnswer } from '../../src/protocol';
import { launchAndConfigure, startDebugClient, useDebugClientPerTest } from './debug-client';
import { REPO_ROOT } from './fixtures';

const REAL = path.join(REPO_ROOT, 'test', 'fixtures', 'captures', 'real');
/** ath12k on AMD-Vi, v6.12: iommu:map, dma_alloc, dma_free, iommu:unmap, then an io_page_fault on the freed IOVA (every event wrapped over two lines). */
const ATH12K = path.join(REAL, '28-ftrace-iommu-dma-events-ath12k-6.12.log');
const AMD_SPLIT = path.join(REAL, '07-amdvi-io-page-fault-legacy-split.log');
const DEVICE = '0000:c2:00.0';

type Vars = Record<string, unknown>;

describe('debug adapter on a kernel capture', function () {
  this.timeout(30_000);
  let dc: DebugClient;

  useDebugClientPerTest((c) => (dc = c), () => dc);

  async function launch(program: string, extra: Record<string, unknown> = {}, setup?: () => Promise<unknown>): Promise<void> {
    await launchAndConfigure(dc, { program, ...extra }, setup);
  }

  async function frame(): Promise<DebugProtocol.StackFrame> {
    const frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.equal(frames.length, 1);
    return frames[0];
  }

  /** Every scope, expanded all the way down, as plain values (what a user could see in Variables). */
  async function variables(): Promise<Record<string, Vars>> {
    const f = await frame();
    const scopes = (await dc.scopesRequest({ frameId: f.id })).body.scopes;
    const expand = async (ref: number, depth: number): Promise<Vars> => {
      const out: Vars = {};
      for (const v of (await dc.variablesRequest({ variablesReference: ref })).body.variables) {
        out[v.name] = v.variablesReference > 0 && depth < 6 ? { value: v.value, children: await expand(v.variablesReference, depth + 1) } : v.value;
      }
      return out;
    };
    const out: Record<string, Vars> = {};
    for (const s of scopes) out[s.name] = await expand(s.variablesReference, 0);
    return out;
  }

  async function device(name = DEVICE): Promise<{ value: string; children: Vars }> {
    const vars = await variables();
    const scope = Object.keys(vars).find((k) => k.startsWith('Devices'));
    assert.ok(scope, `no Devices scope in ${Object.keys(vars).join(', ')}`);
    return vars[scope][name] as { value: string; children: Vars };
  }

  const step = (): Promise<unknown> => Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
  const back = (): Promise<unknown> => Promise.all([dc.stepBackRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);

  it('tells a capture from a scenario by extension and by its first lines', () => {
    assert.equal(isCaptureProgram(ATH12K), true, 'a .log whose lines after its notes are ftrace events');
    assert.equal(isCaptureProgram(AMD_SPLIT), true, 'a .log of kernel messages');
    assert.equal(isCaptureProgram(path.join(REPO_ROOT, 'test', 'fixtures', 'debug', 'map-fault.dmas')), false);
    assert.equal(isCaptureProgram(path.join(REPO_ROOT, 'README.md')), false);
    assert.equal(isCaptureProgram(path.join(REPO_ROOT, 'docs', 'run-output.md')), false, 'a document quoting a kernel message now and then');
    for (const dir of [REAL, path.join(REPO_ROOT, 'test', 'fixtures', 'captures', 'synthetic')]) {
      for (const name of readdirSync(dir).filter((n) => n !== 'README.md')) assert.equal(isCaptureProgram(path.join(dir, name)), true, name);
    }
    assert.equal(isCaptureProgram('/no/such/file.log'), false);
    assert.equal(isCaptureProgram('/no/such/file.ftrace'), true, 'by its extension: the launch then says it cannot be read');
  });

  it('stops on entry at the first event line, steps one event at a time, and shows the device mapping with its line', async () => {
    const [, stopped, progress] = await Promise.all([launch(ATH12K, { stopOnEntry: true }), dc.waitForEvent('stopped'), dc.waitForEvent('progressUpdate')]);
    assert.equal((stopped as DebugProtocol.StoppedEvent).body.reason, 'entry');
    assert.deepEqual((progress as DebugProtocol.ProgressUpdateEvent).body, { progressId: 'dmascope-import-28-ftrace-iommu-dma-events-ath12k-6.12.log', message: '13 lines', percentage: 100 });
    let f = await frame();
    assert.equal(f.source?.path, ATH12K);
    assert.equal(f.line, 4, 'the iommu:map event');
    assert.equal(f.endLine, undefined, 'no range: VS Code would select it');
    const atEntry = await variables();
    assert.deepEqual(Object.keys(atEntry), ['Devices', 'Record', 'IOMMU map/unmap', 'Findings so far', 'Capture'], 'scope names without counts: VS Code keeps rows expanded across steps by them');
    assert.equal(atEntry.Record.line, '4');
    assert.equal(atEntry.Record.endLine, '5', 'its mail-wrapped second line is part of it');
    assert.match(f.name, /^iommu:map {2}addr=0xfe980000 size=524288 iova_end=0xfea00000 paddr=0x10ec80000$/);
    const space = (await variables())['IOMMU map/unmap']['(iommu)'] as { value: string; children: Vars };
    assert.equal(space.value, '1 live mapping, 524288 bytes');
    await step();
    f = await frame();
    assert.equal(f.line, 6);
    assert.match(f.name, /^dma:dma_alloc 0000:c2:00\.0 {2}/);
    const dev = await device();
    assert.equal(dev.value, '1 live mapping, 524288 bytes');
    const mappings = dev.children.mappings as { value: string; children: Vars };
    assert.equal((mappings.children['[0]'] as { value: string }).value, '0xfe980000+0x80000 (dma_alloc, line 6)');
    assert.equal(dev.children.iova_space, '0xfe980000..0xfe9fffff (524288 bytes spanned so far)');
    await step();
    assert.equal((await frame()).line, 8, 'dma_free');
    assert.equal((await device()).value, '0 live mappings, 0 bytes');
  });

  it('stops at a breakpoint on a capture line (moved to the record that holds it) and reverse-continues to one behind', async () => {
    let verified: DebugProtocol.Breakpoint[] = [];
    await Promise.all([
      launch(ATH12K, {}, async () => {
        verified = (await dc.setBreakpointsRequest({ source: { path: ATH12K }, breakpoints: [{ line: 9 }, { line: 2 }, { line: 40 }] })).body.breakpoints;
      }),
      dc.waitForEvent('stopped'),
    ]);
    assert.deepEqual(verified.map((b) => [b.verified, b.line]), [[true, 8], [true, 4], [false, 40]], 'line 9 is dma_free\'s wrapped tail; line 2 is a note before the first event');
    assert.equal((await frame()).line, 4);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await frame()).line, 8);
    const unmapped = (await device()).children.unmapped as { children: Vars };
    assert.equal((unmapped.children['[0]'] as { value: string }).value, '0xfe980000+0x80000 mapped line 6, unmapped line 8');
    const [, behind] = await Promise.all([dc.reverseContinueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((behind as DebugProtocol.StoppedEvent).body.reason, 'breakpoint');
    assert.equal((await frame()).line, 4, 'back to the breakpoint of line 2, at the first event');
    assert.equal((await device()), undefined, 'before dma_alloc the device has done nothing');
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await frame()).line, 8);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('terminated')]);
  });

  it('stops on the io_page_fault trace breakpoint with the fault and the replay\'s explanation, and step back gives identical variables', async () => {
    const [, stopped] = await Promise.all([launch(ATH12K, {}, () => dc.setExceptionBreakpointsRequest({ filters: ['io_page_fault'] })), dc.waitForEvent('stopped')]);
    const stop = stopped as DebugProtocol.StoppedEvent;
    assert.equal(stop.body.reason, 'exception');
    assert.equal(
      stop.body.text,
      'io_page_fault 0000:c2:00.0 write 0xfe980000: io_page_fault tracepoint (report_iommu_fault) [iommu:io_page_fault] — fault_after_unmap 0000:c2:00.0 write 0xfe980000: fault at 0xfe980000: mapped at line 6 (dma_alloc 0xfe980000+524288) and unmapped at line 8',
    );
    assert.equal((await frame()).line, 12);
    const info = await dc.customRequest('exceptionInfo', { threadId: 1 }) as DebugProtocol.ExceptionInfoResponse;
    assert.equal(info.body.exceptionId, 'IO page fault');
    const hover = await dc.evaluateRequest({ expression: '0xfe980000', context: 'hover', frameId: (await frame()).id });
    assert.equal(hover.body.result, '0xfe980000: not mapped; on 0000:c2:00.0 it was mapped at line 6 and unmapped at line 8');
    const atFault = await variables();
    assert.deepEqual(Object.keys(atFault), ['Devices', 'Record', 'IOMMU map/unmap', 'Findings so far', 'Capture'], 'the same scope names at another record');
    assert.equal(Object.keys(atFault['Findings so far']).length, 2);

    // Step back to the allocation, remember everything shown there, step forward and back again.
    await back();
    await back();
    await back();
    assert.equal((await frame()).line, 6);
    const at6 = await variables();
    assert.equal((await device()).value, '1 live mapping, 524288 bytes');
    await step();
    await step();
    await step();
    assert.equal((await frame()).line, 12);
    assert.notDeepEqual(await variables(), at6);
    await back();
    await back();
    await back();
    assert.equal((await frame()).line, 6);
    assert.deepEqual(await variables(), at6);
  });

  it('stops at function breakpoints named by tracepoint, finding kind or device, with conditions', async () => {
    let set: DebugProtocol.Breakpoint[] = [];
    const [, first] = await Promise.all([
      launch(ATH12K, {}, async () => {
        set = (await dc.setFunctionBreakpointsRequest({
          breakpoints: [
            { name: 'iommu:unmap' },
            { name: 'dma:dma_alloc', condition: 'device == "0000:01:00.0"' },
            { name: 'dma_free', condition: `device == "${DEVICE}" && size >= 0x80000` },
            { name: 'sched:sched_switch' },
            { name: 'dma:dma_map_phys', condition: 'size >>> 1' },
          ],
        })).body.breakpoints;
      }),
      dc.waitForEvent('stopped'),
    ]);
    assert.deepEqual(set.map((b) => b.verified), [true, true, true, false, false]);
    assert.match(set[3].message ?? '', /no sched:sched_switch in this capture/);
    assert.match(set[4].message ?? '', /is not FIELD == VALUE/);
    assert.equal((first as DebugProtocol.StoppedEvent).body.reason, 'function breakpoint');
    assert.equal((first as DebugProtocol.StoppedEvent).body.text, 'dma_free');
    assert.equal((await frame()).line, 8, 'dma_alloc at line 6 is another device\'s condition');
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await frame()).line, 10, 'iommu:unmap');
    const cond = await dc.evaluateRequest({ expression: 'kind == unmap && unmapped_size == 524288', context: 'repl', frameId: (await frame()).id });
    assert.equal(cond.body.result, 'true');
    // A device by name stops at each of its records.
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: DEVICE }] });
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await frame()).line, 12);
    // Where did the faulting address come from: back past the unmap and the free to the allocation that mapped it.
    const [, from] = await Promise.all([dc.customRequest('dmascope/whereFrom', { address: '0xfe980010', space: 'iova' }), dc.waitForEvent('stopped')]);
    assert.equal((from as DebugProtocol.StoppedEvent).body.text, 'dma:dma_alloc at line 6 mapped 0xfe980010');
    assert.equal((await frame()).line, 6);
    const none = await dc.customRequest('dmascope/whereFrom', { address: '0x1000', space: 'iova' }).catch((e: Error) => e);
    assert.ok(none instanceof Error && /no map of 0x1000 at or before this line/.test(none.message), String(none));
  });

  it('answers dmascope/inspect with the replayed mappings as the IOVA map\'s machine view', async () => {
    await Promise.all([launch(ATH12K, {}, () => dc.setBreakpointsRequest({ source: { path: ATH12K }, breakpoints: [{ line: 6 }] })), dc.waitForEvent('stopped')]);
    const raw = (await dc.customRequest('dmascope/inspect', { withPrevious: true })).body as unknown;
    const parsed = parseInspectAnswer(raw);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    const answer = parsed.message;
    assert.equal(answer.position.line, 6);
    assert.equal(answer.position.total, 5);
    const domain = answer.machine.domains.find((d) => d.label === DEVICE);
    assert.deepEqual(domain?.mappings, [{ iova: '0xfe980000', phys: '0x10ec80000', size: '0x80000', prot: 'rw', line: 6 }], 'dma_alloc names no phys: the iommu:map of its IOVA at line 4 does');
    assert.deepEqual(answer.previous?.domains.find((d) => d.label === DEVICE), undefined, 'before the allocation the device had mapped nothing');
    assert.deepEqual(answer.machine.domains.find((d) => d.label === 'iommu:(iommu)')?.mappings, [{ iova: '0xfe980000', phys: '0x10ec80000', size: '0x80000', prot: 'rw', line: 4 }]);
    const walk = await dc.customRequest('dmascope/inspect', { kind: 'walk' }).catch((e: Error) => e);
    assert.ok(walk instanceof Error && /no page tables to walk; convert it to a scenario/.test(walk.message), String(walk));
    // On a stream: the whole view once, then only what changed (here nothing: the same record).
    const first = (await dc.customRequest('dmascope/inspect', { stream: 'iova-map' })).body as { viewId: number; machine: unknown };
    assert.deepEqual(first.machine, answer.machine);
    const again = (await dc.customRequest('dmascope/inspect', { stream: 'iova-map', have: first.viewId })).body as { machine: unknown; machinePatch: unknown };
    assert.deepEqual([again.machine, again.machinePatch], [null, { base: first.viewId, patch: null }]);
    // Memory requests the scenario debugger answers: a capture says it has no bytes.
    const info = await dc.customRequest('dataBreakpointInfo', { name: 'mappings', variablesReference: 1 }) as DebugProtocol.DataBreakpointInfoResponse;
    assert.equal(info.body.dataId, null);
    const read = await dc.customRequest('readMemory', { memoryReference: 'dev:0000:c2:00.0:0xfe980000:0x1000', count: 4 }).catch((e: Error) => e);
    assert.ok(read instanceof Error && /no memory contents/.test(read.message), String(read));
  });

  it('steps through a kernel log: an AMD-Vi fault printed over two syslog lines stops the io_page_fault breakpoint', async () => {
    const [, stopped] = await Promise.all([launch(AMD_SPLIT, {}, () => dc.setExceptionBreakpointsRequest({ filters: ['io_page_fault'], filterOptions: [] })), dc.waitForEvent('stopped')]);
    const text = (stopped as DebugProtocol.StoppedEvent).body.text ?? '';
    assert.match(text, /^io_page_fault 0000:05:00\.0 write 0xff6101b0: IO_PAGE_FAULT: page present, access not permitted \[amd-vi\]$/, text);
    assert.match(text, /\[amd-vi\]/);
    const f = await frame();
    assert.equal(f.line, 8);
    const { Record: record } = await variables();
    assert.equal(record.name, 'io_page_fault');
    assert.equal(record.endLine, '9', 'the record spans both syslog lines');
  });

  it('runs without debugging (Ctrl+F5): the import report in the Debug Console, then the end', async () => {
    const outputs: string[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e.body.output));
    await Promise.all([launch(ATH12K, { noDebug: true }), dc.waitForEvent('terminated')]);
    const text = outputs.join('');
    assert.match(text, /28-ftrace-iommu-dma-events-ath12k-6\.12\.log:12: error: fault_after_unmap 0000:c2:00\.0 write 0xfe980000: fault at 0xfe980000: mapped at line 6/);
    assert.match(text, /0000:c2:00\.0: 1 map, 1 unmap, peak 1 live \(524288 bytes\) at line 6, 0 live at the end/);
  });

  it('reports a capture it cannot debug, and a condition it cannot read', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dmascope-capture-'));
    const empty = path.join(dir, 'quiet.dmesg');
    writeFileSync(empty, '[    0.000000] Linux version 6.18.0\n[    0.100000] Command line: quiet\n');
    const err = await launch(empty).catch((e: Error) => e);
    assert.ok(err instanceof Error && /quiet\.dmesg: no DMA or IOMMU event or finding to step through \(2 lines, 2 unknown\)/.test(err.message), String(err));
    await dc.stop();
    dc = await startDebugClient();
    let set: DebugProtocol.Breakpoint[] = [];
    await Promise.all([
      launch(ATH12K, { stopOnEntry: true }, async () => {
        set = (await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'io_page_fault', condition: 'device = 0000:c2:00.0' }, { filterId: 'iotlb_miss' }] })).body?.breakpoints ?? [];
      }),
      dc.waitForEvent('stopped'),
    ]);
    assert.equal(set[0].verified, false);
    assert.match(set[0].message ?? '', /"device = 0000:c2:00.0" is not FIELD == VALUE/);
    assert.equal(set[1].verified, false);
    assert.match(set[1].message ?? '', /IOTLB miss does not occur in a kernel capture/);
  });
});
