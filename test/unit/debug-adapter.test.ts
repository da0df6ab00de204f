// The debug adapter over stdio (dist/debug-adapter.js, built by `npm run
// build`), driven by DebugClient as VS Code drives it.

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { InspectViewCache } from '../../src/debug/inspect-streams';
import { parseBounceInspectAnswer, parseWalkInspectAnswer, type BounceInspectResponse, type DebugInspectAnswer, type InspectResponse, type InspectWireResponse, type WalkInspectResponse } from '../../src/protocol';
import { ADAPTER, launchAndConfigure, useDebugClientPerTest } from './debug-client';
import { REPO_ROOT } from './fixtures';

/** Sends DAP requests to a fresh adapter process and collects the responses, in order. */
async function rawSession(requests: { command: string; arguments: unknown }[]): Promise<{ command: string; success: boolean; message?: string }[]> {
  const p = spawn(process.execPath, [ADAPTER]);
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  requests.forEach((r, i) => {
    const body = JSON.stringify({ seq: i + 1, type: 'request', ...r });
    p.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
  const deadline = Date.now() + 10_000;
  const responses = (): { type: string; command: string; success: boolean; message?: string }[] =>
    out.split(/Content-Length: \d+\r\n\r\n/).filter((x) => x.trim()).map((x) => JSON.parse(x) as { type: string; command: string; success: boolean; message?: string }).filter((m) => m.type === 'response');
  while (responses().length < requests.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  p.kill();
  return responses();
}
const PROGRAM = path.join(REPO_ROOT, 'test', 'fixtures', 'debug', 'map-fault.dmas');

describe('debug adapter (DAP over stdio)', function () {
  this.timeout(30_000);
  let dc: DebugClient;

  useDebugClientPerTest((c) => (dc = c), () => dc);

  async function launch(extra: Record<string, unknown> = {}, setup?: () => Promise<unknown>): Promise<void> {
    await launchAndConfigure(dc, { program: PROGRAM, ...extra }, setup);
  }

  async function top(): Promise<DebugProtocol.StackFrame[]> {
    return (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  }

  async function scenarioVar(name: string): Promise<string | undefined> {
    const frames = await top();
    const scopes = (await dc.scopesRequest({ frameId: frames[0].id })).body.scopes;
    const vars = (await dc.variablesRequest({ variablesReference: scopes[0].variablesReference })).body.variables;
    return vars.find((v) => v.name === name)?.value;
  }

  it('announces step back, trace breakpoints and memory reads', async () => {
    const r = await dc.initializeRequest();
    assert.equal(r.body?.supportsStepBack, true);
    assert.equal(r.body?.supportsReadMemoryRequest, true);
    assert.deepEqual(r.body?.exceptionBreakpointFilters?.map((f) => f.filter), ['io_page_fault', 'swiotlb_bounce', 'swiotlb_full', 'dma_debug', 'expect_failed', 'stale_read', 'iotlb_miss', 'sanitizer']);
  });

  it('stops on entry at the first statement, stops at a line breakpoint moved to the next statement', async () => {
    await Promise.all([launch({ stopOnEntry: true }, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 8 }, { line: 1 }] })), dc.waitForEvent('stopped')]);
    let frames = await top();
    assert.equal(frames[frames.length - 1].line, 3, 'entry: the first statement (the iommu declaration)');
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    frames = await top();
    assert.equal(frames[0].line, 8);
    assert.equal(await scenarioVar('t'), '0xfffff000');
  });

  it('stops at a kernel function breakpoint, honours a hit count and prints a logpoint', async () => {
    const outputs: DebugProtocol.OutputEvent[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e));
    await Promise.all([
      launch({ stopOnEntry: false }, async () => {
        await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'alloc_iova_fast' }] });
        await dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 8, logMessage: 'tx mapped at {t}' }, { line: 10, hitCondition: '2' }, { line: 12 }] });
      }),
      dc.waitForEvent('stopped').then((e) => assert.equal(e.body.reason, 'function breakpoint')),
    ]);
    assert.match((await top())[0].name, /^alloc_iova_fast\(/);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await top())[0].line, 12, 'line 10 runs once: its hit condition (2) is not met');
    assert.ok(outputs.some((o) => /tx mapped at 0xfffff000/.test(o.body.output)), JSON.stringify(outputs.map((o) => o.body.output)));
  });

  it('steps into the kernel call chain of a map and names the kernel files', async () => {
    await Promise.all([launch({ stopOnEntry: false }, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 7 }] })), dc.waitForEvent('stopped')]);
    for (let i = 0; i < 4; i++) await Promise.all([dc.stepInRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const names = (await top()).map((f) => f.name);
    assert.equal(names[0], 'alloc_iova_fast(size=1, limit_pfn=0xfffff, flush_rcache=false)  [drivers/iommu/iova.c]');
    assert.match(names[1], /^iommu_dma_alloc_iova\(.*\) {2}\[drivers\/iommu\/dma-iommu\.c\]$/);
    assert.match(names[2], /^iommu_dma_map_phys\(/);
    assert.match(names[3], /^dma_map_phys\(.*\) {2}\[kernel\/dma\/mapping\.c\]$/);
    assert.equal(names[4], 'map-fault.dmas:7');
    // Step out of alloc_iova_fast: its return, one level up.
    await Promise.all([dc.stepOutRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.match((await top())[0].name, /^iommu_dma_alloc_iova\(/);
  });

  it('stops on the IO page fault trace breakpoint with the fault as the reason, then steps back to identical variables', async () => {
    const [, stopped] = await Promise.all([launch({}, () => dc.setExceptionBreakpointsRequest({ filters: ['io_page_fault'] })), dc.waitForEvent('stopped')]);
    const stop = stopped as DebugProtocol.StoppedEvent;
    assert.equal(stop.body.reason, 'exception');
    assert.equal(stop.body.text, 'IO page fault: 0000:02:00.0 write at 0xfffff000: smmu0: permission fault: write to 0xfffff000 which is mapped read-only');
    assert.equal((await top()).at(-1)?.line, 9);
    const before = await scenarioVar('n');
    assert.equal(before, '1');
    await Promise.all([dc.stepBackRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await top()).at(-1)?.line, 9, 'back to the start of the faulting statement');
    await Promise.all([dc.stepBackRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await top()).at(-1)?.line, 8);
    assert.equal(await scenarioVar('n'), undefined, 'line 8 (n = 1) is about to run: n does not exist yet');
  });

  it('stops on the DMA sanitizer trace breakpoint at a device write past its mapping, with the finding as the text and the exception info', async () => {
    const program = path.join(REPO_ROOT, 'test', 'fixtures', 'sanitizer', 'dma-beyond-mapping.dmas');
    const [, stopped] = await Promise.all([launch({ program }, () => dc.setExceptionBreakpointsRequest({ filters: ['sanitizer'] })), dc.waitForEvent('stopped')]);
    const stop = stopped as DebugProtocol.StoppedEvent;
    const finding =
      'dmascope: 0000:05:00.0 writes 0xfffff03c+8 past its mapping 0xfffff000+0x40 (line 9): the IOMMU maps whole granules, so the access reaches physical 0x8100103c without a fault; those bytes belong to `other` (kmalloc-64 object 0x81001040+0x40, line 8)';
    assert.equal(stop.body.reason, 'exception');
    assert.equal(stop.body.text, finding);
    assert.equal((await top()).at(-1)?.line, 12, 'the expect violation line whose dev_write made it');
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    assert.equal(info.body.exceptionId, 'DMA sanitizer finding');
    assert.equal(info.body.description, finding);
    // The next one: the read at h + 64, where no live mapping is.
    const [, next] = await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.match((next as DebugProtocol.StoppedEvent).body.text ?? '', /^dmascope: 0000:05:00\.0 reads 0xfffff040\+8 where no live mapping of the device is/);
    assert.equal((await top()).at(-1)?.line, 13);
  });

  it('honours a condition on the DMA sanitizer trace breakpoint: the finding at the IOVA range it names', async () => {
    const program = path.join(REPO_ROOT, 'test', 'fixtures', 'sanitizer', 'dma-beyond-mapping.dmas');
    const [, stopped] = await Promise.all([
      launch({ program }, () => dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'sanitizer', condition: 'device == 0000:05:00.0 && addr in 0xfffff040..0xfffff048' }] })),
      dc.waitForEvent('stopped'),
    ]);
    assert.match((stopped as DebugProtocol.StoppedEvent).body.text ?? '', /^dmascope: 0000:05:00\.0 reads 0xfffff040\+8 /);
    assert.equal((await top()).at(-1)?.line, 13, 'the write at 0xfffff03c (line 12) is outside the range');
  });

  it('reverse-continues to a breakpoint behind, evaluates and reads memory through the device and the CPU', async () => {
    await Promise.all([launch({}, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 7 }, { line: 12 }] })), dc.waitForEvent('stopped')]);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await top())[0].line, 12);
    assert.equal(await scenarioVar('n'), '2');
    await Promise.all([dc.reverseContinueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await top())[0].line, 7);
    const frames = await top();
    const ev = await dc.evaluateRequest({ expression: 'tx.phys + 0x10', frameId: frames[0].id, context: 'repl' });
    assert.match(ev.body.result, /^0x[0-9a-f]+$/);
    // Line 7 has not mapped yet: step over it, then read through the mapping.
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const mem = await dc.customRequest('readMemory', { memoryReference: 'dev:eth0:0xfffff000:0x1000', count: 4 }) as DebugProtocol.ReadMemoryResponse;
    assert.equal(Buffer.from(mem.body?.data ?? '', 'base64').toString(), 'ping');
    const bad = await dc.evaluateRequest({ expression: 'nosuchname + 1', frameId: frames[0].id, context: 'repl' }).catch((e: Error) => e);
    assert.ok(bad instanceof Error && /unknown|nosuchname/.test(bad.message), String(bad));
  });

  /** Every variable of every scope of the top frame, `depth` levels down: what a user can see there. */
  async function allVariables(depth = 4): Promise<string[]> {
    const out: string[] = [];
    const walk = async (ref: number, prefix: string, d: number): Promise<void> => {
      for (const v of (await dc.variablesRequest({ variablesReference: ref })).body.variables) {
        out.push(`${prefix}${v.name} = ${v.value}${v.memoryReference ? ` @${v.memoryReference}` : ''}`);
        if (v.variablesReference > 0 && d > 0) await walk(v.variablesReference, `${prefix}${v.name}.`, d - 1);
      }
    };
    for (const scope of (await dc.scopesRequest({ frameId: (await top())[0].id })).body.scopes) await walk(scope.variablesReference, `${scope.name}: `, depth);
    return out;
  }

  it('shows identical variables at a point reached forwards, by reverse continue and by step back', async () => {
    await Promise.all([launch({}, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 8 }, { line: 10 }] })), dc.waitForEvent('stopped')]);
    const forwards = await allVariables();
    assert.ok(forwards.some((v) => /^Machine: domains\.\[0\]\.mappings\.\[0\] = 0xfffff000 -> 0x81001000 @dev:eth0:0xfffff000:0x1000$/.test(v)), forwards.join('\n'));
    assert.ok(forwards.includes('Scenario: t = 0xfffff000'));
    // On past the fault and the unmap's line, then back.
    await Promise.all([dc.setExceptionBreakpointsRequest({ filters: [] }), dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await top()).at(-1)?.line, 10);
    assert.notDeepEqual(await allVariables(), forwards, 'line 10 is another state (n = 1, the fault recorded)');
    await Promise.all([dc.reverseContinueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await top()).at(-1)?.line, 8);
    assert.deepEqual(await allVariables(), forwards, 'reverse continue');
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    await Promise.all([dc.stepBackRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await top()).at(-1)?.line, 8);
    assert.deepEqual(await allVariables(), forwards, 'step back');
  });

  it('evaluates a hover on a scenario variable at the paused point', async () => {
    await Promise.all([launch({}, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 10 }] })), dc.waitForEvent('stopped')]);
    const hover = await dc.evaluateRequest({ expression: 't', frameId: (await top())[0].id, context: 'hover' });
    assert.equal(hover.body.result, '0xfffff000');
    const tx = await dc.evaluateRequest({ expression: 'tx', frameId: (await top())[0].id, context: 'hover' });
    assert.match(tx.body.memoryReference ?? '', /^phys:0x[0-9a-f]+:0x1000$/, 'a buffer under the mouse can be opened in View Binary Data');
  });

  it('goes to an event by number and by kind, and reports the position', async () => {
    await Promise.all([launch({ stopOnEntry: true }), dc.waitForEvent('stopped'), dc.waitForEvent('dmascope/position')]);
    const [, , pos] = await Promise.all([
      dc.customRequest('dmascope/goToEvent', { kind: 'iommu:io_page_fault' }),
      dc.waitForEvent('stopped'),
      dc.waitForEvent('dmascope/position'),
    ]);
    assert.equal((pos.body as { line: number }).line, 9, 'the faulting dev_write');
    assert.equal((await top()).at(-1)?.line, 9);
    const bad = await dc.customRequest('dmascope/goToEvent', { kind: 'no_such_event' }).catch((e: Error) => e);
    assert.ok(bad instanceof Error && /no no_such_event event/.test(bad.message));
  });

  it('stops where anything touches a watched buffer, forwards and backwards (data breakpoints)', async () => {
    await Promise.all([launch({}, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 8 }] })), dc.waitForEvent('stopped')]);
    const frames = await top();
    const scopes = (await dc.scopesRequest({ frameId: frames[0].id })).body.scopes;
    const info = await dc.customRequest('dataBreakpointInfo', { variablesReference: scopes[0].variablesReference, name: 'tx' }) as DebugProtocol.DataBreakpointInfoResponse;
    assert.match(info.body.dataId ?? '', /^phys:0x[0-9a-f]+:0x1000$/);
    await dc.customRequest('setDataBreakpoints', { breakpoints: [{ dataId: info.body.dataId }] });
    const [, back] = await Promise.all([dc.reverseContinueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((back as DebugProtocol.StoppedEvent).body.reason, 'data breakpoint');
    assert.match((back as DebugProtocol.StoppedEvent).body.text ?? '', /^dma:dma_map_phys touches phys 0x[0-9a-f]+\+0x1000$/);
    assert.equal((await top()).at(-1)?.line, 7, 'the map read the buffer');
    // Further back: every step of the map that touched the buffer (its IOMMU mapping included), then the CPU's write.
    const seen: string[] = [];
    for (let i = 0; i < 8 && !seen.some((t) => t.startsWith('engine:cpu_write')); i++) {
      const [, b] = await Promise.all([dc.reverseContinueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
      seen.push((b as DebugProtocol.StoppedEvent).body.text ?? '');
    }
    assert.ok(seen.some((t) => /^iommu:map touches phys/.test(t)), JSON.stringify(seen));
    assert.match(seen.at(-1) ?? '', /^engine:cpu_write touches phys/);
    assert.equal((await top()).at(-1)?.line, 6);
    const none = await dc.customRequest('dataBreakpointInfo', { variablesReference: scopes[0].variablesReference, name: 'n' }) as DebugProtocol.DataBreakpointInfoResponse;
    assert.equal(none.body.dataId, null);
  });

  it('goes back to the event that last wrote an address (where did this come from)', async () => {
    await Promise.all([launch({}, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 12 }] })), dc.waitForEvent('stopped')]);
    const [, stop] = await Promise.all([dc.customRequest('dmascope/whereFrom', { address: '0xfffff000', space: 'iova' }), dc.waitForEvent('stopped')]);
    assert.match((stop as DebugProtocol.StoppedEvent).body.text ?? '', /last wrote IOVA 0xfffff000$/);
    assert.equal((await top()).at(-1)?.line, 11, 'the unmap cleared the IOVA last');
    const bad = await dc.customRequest('dmascope/whereFrom', { address: 'not an address', space: 'iova' }).catch((e: Error) => e);
    assert.ok(bad instanceof Error && /whereFrom needs/.test(bad.message));
  });

  it('honours a trace breakpoint condition on the device and the address', async () => {
    // Another device's faults only: the run ends without stopping.
    await Promise.all([
      launch({}, () => dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'io_page_fault', condition: 'device == 0000:09:00.0' }] })),
      dc.waitForEvent('terminated'),
    ]);
  });

  it('stops on an IOTLB miss inside the address range a condition names', async () => {
    const [, stop] = await Promise.all([
      launch({}, () => dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'iotlb_miss', condition: 'device == 0000:02:00.0 && addr in 0xfffff000..0x100000000' }] })),
      dc.waitForEvent('stopped'),
    ]);
    assert.match((stop as DebugProtocol.StoppedEvent).body.text ?? '', /^engine:iotlb_miss .*iova=0xfffff000/);
    assert.equal((await top()).at(-1)?.line, 9);
  });

  it('writes the kernel log to the Debug Console at the lines that printed it, as the run moves forwards', async () => {
    const outputs: DebugProtocol.OutputEvent[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e));
    // A link prefix that is not a plain URI is not printed into the console.
    await Promise.all([launch({ eventLinks: 'javascript:alert(1)//x' }, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 12 }] })), dc.waitForEvent('stopped')]);
    const fault = outputs.find((o) => /Request device \[0000:02:00\.0\] fault addr 0xfffff000/.test(o.body.output));
    assert.ok(fault, JSON.stringify(outputs.map((o) => o.body.output)));
    assert.match(fault.body.output, /fault addr 0xfffff000[^\n]*\n$/);
    assert.ok(!outputs.some((o) => o.body.output.includes('javascript')));
    assert.equal(fault.body.line, 9);
    assert.equal(path.basename(fault.body.source?.path ?? ''), 'map-fault.dmas');
  });

  it('writes the kernel log again after a restart, as the run moves forwards from its start', async () => {
    const outputs: DebugProtocol.OutputEvent[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e));
    await Promise.all([launch({}, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 12 }] })), dc.waitForEvent('stopped')]);
    const faultLines = (): number => outputs.filter((o) => /fault addr 0xfffff000/.test(o.body.output)).length;
    assert.equal(faultLines(), 1);
    await Promise.all([dc.customRequest('restart', {}), dc.waitForEvent('stopped')]);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await top()).at(-1)?.line, 12, 'stopped at the breakpoint again');
    assert.equal(faultLines(), 2, 'the fault line is printed again when the run passes it after the restart');
  });

  it('ends each kernel log line with a link to the event that printed it, which moves the debugger there', async () => {
    const outputs: DebugProtocol.OutputEvent[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e));
    await Promise.all([launch({ eventLinks: 'code-oss://dmascope.dmascope/goToEvent' }, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 12 }] })), dc.waitForEvent('stopped')]);
    const fault = outputs.find((o) => /fault addr 0xfffff000/.test(o.body.output));
    const link = / {2}(code-oss:\/\/dmascope\.dmascope\/goToEvent\?event=(\d+))\n$/.exec(fault?.body.output ?? '');
    assert.ok(link, JSON.stringify(fault?.body.output));
    const [, stop] = await Promise.all([dc.customRequest('dmascope/goToEvent', { event: Number(link[2]) }), dc.waitForEvent('stopped')]);
    assert.equal((stop as DebugProtocol.StoppedEvent).body.reason, 'goto');
    assert.equal((await top()).at(-1)?.line, 9, 'back at the dev_write whose fault printed the line');
    const state = (await dc.customRequest('dmascope/inspect', {})).body as DebugInspectAnswer<InspectResponse>;
    assert.equal(state.position.event, Number(link[2]));
  });

  it('writes a CPU buffer and continues from the changed state (writeMemory)', async () => {
    await Promise.all([launch({}, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 7 }] })), dc.waitForEvent('stopped')]);
    const frames = await top();
    const tx = await dc.evaluateRequest({ expression: 'tx.phys', frameId: frames[0].id, context: 'repl' });
    const ref = `phys:${tx.body.result}:0x1000`;
    const w = await dc.customRequest('writeMemory', { memoryReference: ref, offset: 0, data: Buffer.from('pong').toString('base64') }) as DebugProtocol.WriteMemoryResponse;
    assert.equal(w.body?.bytesWritten, 4);
    assert.equal((await top()).at(-1)?.line, 7, 'still at the map');
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const seen = await dc.evaluateRequest({ expression: 'dev_read(eth0, t, 4)', frameId: (await top())[0].id, context: 'repl' });
    assert.equal(seen.body.result, '"pong"', 'the device reads what was written before the map');
    const outside = await dc.customRequest('writeMemory', { memoryReference: ref, offset: 0x1000, data: Buffer.from('x').toString('base64') }).catch((e: Error) => e);
    assert.ok(outside instanceof Error && /outside the buffer/.test(outside.message));
  });

  it('answers dmascope/inspect from the paused state: the walk and the run\'s walk sites, the machine, statement stops around the position', async () => {
    await Promise.all([launch({}, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 9 }] })), dc.waitForEvent('stopped')]);
    const walk = (await dc.customRequest('dmascope/inspect', { kind: 'walk', line: 9, withTargets: true })).body as DebugInspectAnswer<WalkInspectResponse>;
    assert.deepEqual(walk.target, { device: 'eth0', addr: '0xfffff000', pasid: null, access: 'write', line: 9 }, 'the walk site on line 9: the faulting dev_write');
    assert.deepEqual(walk.targets?.map((t) => [t.line, t.access]), [[9, 'write']]);
    assert.equal(walk.model?.phys, null);
    assert.equal(walk.model?.fault?.reason, 'smmu0: permission fault: write to 0xfffff000 which is mapped read-only', 'the walk the faulting write makes');
    assert.equal(walk.position.line, 9);
    assert.ok(walk.position.statements.some((s) => s.line === 8) && walk.position.statements.some((s) => s.line === 10), JSON.stringify(walk.position.statements));
    assert.equal(parseWalkInspectAnswer(walk).ok, true);
    const machine = (await dc.customRequest('dmascope/inspect', { withPrevious: true })).body as DebugInspectAnswer<InspectResponse>;
    assert.deepEqual(machine.machine.domains[0].mappings.map((r) => [r.iova, r.size, r.prot]), [['0xfffff000', '0x1000', 'r,cache']]);
    assert.equal(machine.position.event, walk.position.event);
    // Before the map (line 7): nothing mapped yet; past the end of the run: a clear error.
    const early = (await dc.customRequest('dmascope/inspect', { event: walk.position.statements.find((s) => s.line === 7)!.event })).body as DebugInspectAnswer<InspectResponse>;
    assert.deepEqual(early.machine.domains[0].mappings, []);
    const past = await dc.customRequest('dmascope/inspect', { event: 1_000_000 }).catch((e: Error) => e);
    assert.ok(past instanceof Error && /the run has \d+ events, no event 1000000/.test(past.message), String(past));
    const bad = await dc.customRequest('dmascope/inspect', { kind: 'walk', target: { device: 'eth0', addr: 'x' } }).catch((e: Error) => e);
    assert.ok(bad instanceof Error && /target.addr must be a hex address/.test(bad.message), String(bad));
  });

  it('answers dmascope/inspect on a stream with what changed since the view its client holds, rebuilt to the same machine', async () => {
    await Promise.all([launch({}, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 7 }] })), dc.waitForEvent('stopped')]);
    const cache = new InspectViewCache();
    const ask = async (): Promise<DebugInspectAnswer<InspectWireResponse>> => (await dc.customRequest('dmascope/inspect', cache.args('t', 'iova-map', { withPrevious: true }))).body as DebugInspectAnswer<InspectWireResponse>;
    const first = await ask();
    assert.ok(first.machine !== null && typeof first.viewId === 'number', 'the first answer on a stream is whole');
    cache.decode('t', first);
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const second = await ask();
    assert.equal(second.machine, null);
    assert.equal(second.machinePatch?.base, first.viewId);
    assert.match(JSON.stringify(second.machinePatch?.patch), /"0xfffff000"/, 'the map on line 7 put in the mapping at 0xfffff000');
    const rebuilt = cache.decode('t', second);
    const whole = (await dc.customRequest('dmascope/inspect', { withPrevious: true })).body as DebugInspectAnswer<InspectResponse>;
    assert.deepEqual(rebuilt.machine, whole.machine);
    assert.deepEqual(rebuilt.previous, whole.previous);
    const bad = await dc.customRequest('dmascope/inspect', { stream: 'a b' }).catch((e: Error) => e);
    assert.ok(bad instanceof Error && /stream must be a name/.test(bad.message), String(bad));
  });

  it('writes a bounced buffer through the debugger and dmascope/inspect shows the new bytes against the swiotlb slot', async () => {
    const program = path.join(REPO_ROOT, 'test', 'fixtures', 'debug', 'bounce.dmas');
    await Promise.all([launch({ program }, () => dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line: 7 }] })), dc.waitForEvent('stopped')]);
    const before = (await dc.customRequest('dmascope/inspect', { kind: 'bounce' })).body as DebugInspectAnswer<BounceInspectResponse>;
    assert.deepEqual(before.model.mappings.map((m) => [m.via, m.orig, m.differing]), [['swiotlb', '0x180000000', 0]], 'the map copied "far" into the slot');
    const [w, pos] = await Promise.all([
      dc.customRequest('writeMemory', { memoryReference: 'phys:0x180000000:0x2000', offset: 0, data: Buffer.from('pong').toString('base64') }),
      dc.waitForEvent('dmascope/position'),
    ]);
    assert.equal((w as DebugProtocol.WriteMemoryResponse).body?.bytesWritten, 4);
    assert.equal((pos.body as { line: number }).line, 7, 'the panels are told the state here changed');
    const after = (await dc.customRequest('dmascope/inspect', { kind: 'bounce' })).body as DebugInspectAnswer<BounceInspectResponse>;
    const diff = after.model.mappings[0];
    assert.equal(diff.differing, 4);
    assert.deepEqual(diff.diffs.map((d) => [d.offset, String.fromCharCode(d.orig), String.fromCharCode(d.bounce)]), [[0, 'p', 'f'], [1, 'o', 'a'], [2, 'n', 'r'], [3, 'g', '\0']]);
    assert.equal(parseBounceInspectAnswer(after).ok, true);
    const mem = await dc.customRequest('readMemory', { memoryReference: 'phys:0x180000000:0x2000', count: 4 }) as DebugProtocol.ReadMemoryResponse;
    assert.equal(Buffer.from(mem.body?.data ?? '', 'base64').toString(), 'pong');
  });

  /** The variable at `path` (names from a scope down) in scope `scope` of the top frame. */
  async function variableAt(scope: number, ...names: string[]): Promise<DebugProtocol.Variable> {
    const scopes = (await dc.scopesRequest({ frameId: (await top())[0].id })).body.scopes;
    let ref = scopes[scope].variablesReference;
    let found: DebugProtocol.Variable | undefined;
    for (const name of names) {
      const vars = (await dc.variablesRequest({ variablesReference: ref })).body.variables;
      found = vars.find((v) => v.name === name);
      assert.ok(found, `no ${name} among ${vars.map((v) => v.name).join(', ')}`);
      ref = found.variablesReference;
    }
    return found!;
  }

  it('shows a domain\'s mappings with the devices attached and their device view, and each device\'s domains', async () => {
    await Promise.all([launch({}, () => dc.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [{ line: 8 }] })), dc.waitForEvent('stopped')]);
    const range = await variableAt(2, 'domains', '[0]', 'mappings', '[0]');
    assert.equal(range.value, '0xfffff000 -> 0x81001000');
    assert.equal(range.memoryReference, 'dev:eth0:0xfffff000:0x1000', 'View Binary Data on an IOVA range: what eth0 reads there');
    const fields = (await dc.variablesRequest({ variablesReference: range.variablesReference })).body.variables;
    assert.deepEqual(fields.map((f) => f.name), ['iova', 'phys', 'size', 'prot', 'line', 'devices', 'bytesSeenBy']);
    assert.equal(fields.find((f) => f.name === 'bytesSeenBy')?.value, 'eth0 through smmu0 (View Binary Data)');
    const devs = await variableAt(2, 'domains', '[0]', 'mappings', '[0]', 'devices');
    assert.deepEqual((await dc.variablesRequest({ variablesReference: devs.variablesReference })).body.variables.map((v) => v.value), ['eth0']);
    const alloc = await variableAt(2, 'domains', '[0]', 'iova', 'allocations', '[0]');
    assert.equal(alloc.memoryReference, 'dev:eth0:0xfffff000:0x1000');
    const domains = await variableAt(2, 'devices', '[0]', 'domains');
    assert.deepEqual((await dc.variablesRequest({ variablesReference: domains.variablesReference })).body.variables.map((v) => v.value), ['default domain of eth0']);
    const mem = await dc.customRequest('readMemory', { memoryReference: range.memoryReference, count: 4 }) as DebugProtocol.ReadMemoryResponse;
    assert.equal(Buffer.from(mem.body?.data ?? '', 'base64').toString(), 'ping');
  });

  it('sets a buffer\'s bytes from Variables (Set Value) and the run goes on from them', async () => {
    const program = path.join(REPO_ROOT, 'test', 'fixtures', 'debug', 'bounce.dmas');
    await Promise.all([launch({ program }, () => dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line: 6 }] })), dc.waitForEvent('stopped')]);
    const bytes = await variableAt(0, 'hi', 'bytes');
    assert.equal(bytes.value, '66 61 72 00 00 00 00 00 00 00 00 00 00 00 00 00', '"far" and zeros');
    const hi = await variableAt(0, 'hi');
    const set = await dc.setVariableRequest({ variablesReference: hi.variablesReference, name: 'bytes', value: '"pong"' });
    assert.equal(set.body.value, '70 6f 6e 67 00 00 00 00 00 00 00 00 00 00 00 00');
    // The map on line 6 bounces the new bytes: the device reads "pong" through its swiotlb slot.
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const seen = await dc.evaluateRequest({ expression: 'dev_read(old, h, 4)', frameId: (await top())[0].id, context: 'repl' });
    assert.equal(seen.body.result, '"pong"');
    const hex = await dc.setVariableRequest({ variablesReference: (await variableAt(0, 'hi')).variablesReference, name: 'bytes', value: '0x41 42' });
    assert.match(hex.body.value, /^41 42 6e 67/);
    const refused = await dc.setVariableRequest({ variablesReference: (await variableAt(0, 'hi')).variablesReference, name: 'kind', value: '1' }).catch((e: Error) => e);
    assert.ok(refused instanceof Error && /only the bytes of a CPU buffer/.test(refused.message), String(refused));
    const bad = await dc.setVariableRequest({ variablesReference: (await variableAt(0, 'hi')).variablesReference, name: 'bytes', value: 'pong' }).catch((e: Error) => e);
    assert.ok(bad instanceof Error && /quoted string/.test(bad.message), String(bad));
  });

  it('answers a launch without a program, a malformed memory reference and an unknown request with errors, and keeps running', async () => {
    const answers = await rawSession([
      { command: 'initialize', arguments: { adapterID: 'dmascope', pathFormat: 'path' } },
      { command: 'launch', arguments: {} },
      { command: 'readMemory', arguments: { memoryReference: '../../etc/passwd', count: 4 } },
      { command: 'frobnicate', arguments: { x: 1 } },
      { command: 'threads', arguments: {} },
    ]);
    assert.deepEqual(answers.map((a) => [a.command, a.success]), [['initialize', true], ['launch', false], ['readMemory', false], ['frobnicate', false], ['threads', true]]);
    assert.equal(answers[1].message, 'launch needs "program": the path of a .dmas scenario');
  });
});
