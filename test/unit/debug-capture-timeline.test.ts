// The capture debugger's timeline and conditions without the adapter: the
// state at any record, reached in any order through the snapshots, is the
// importer's replay up to that record's line; every real capture becomes
// records that cover its events and findings; conditions parse and test
// record fields.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { conditionHolds, filterHits, namesRecord, parseCaptureCondition } from '../../src/debug/capture-breakpoints';
import { CaptureRuntime } from '../../src/debug/capture-runtime';
import { CaptureTimeline, liveMappings } from '../../src/debug/capture-timeline';
import { captureMachineView } from '../../src/debug/capture-views';
import { buildIovaMapModel, rangesOf } from '../../src/panels/iova-map-model';
import { replayStateAt } from '../../src/traceimport/replay';
import type { ImportResult } from '../../src/traceimport/types';
import { REAL_DIR, SYNTHETIC_DIR, captureFiles, importBytes, importFixture } from './traceimport-helpers';

/** An ftrace capture of `n` rounds on four devices: maps that pile up, unmaps of some, an unrelated line, now and then a fault. */
function generated(n: number): string {
  const out = ['# tracer: nop', '#'];
  for (let i = 0; i < n; i++) {
    const dev = `0000:0${i % 4}:00.0`;
    const dma = (0xfff00000 - (i % 97) * 0x1000).toString(16);
    const phys = (0x100000000 + i * 0x1000).toString(16);
    const hdr = `     kworker/${i % 8}:1H-${300 + (i % 8)}     [00${i % 8}] .....  ${(100 + i / 1000).toFixed(6)}:`;
    out.push(`${hdr} dma_map_phys: ${dev} dir=${i % 2 ? 'TO_DEVICE' : 'FROM_DEVICE'} dma_addr=${dma} size=${4096 * (1 + (i % 3))} phys_addr=${phys} attrs=`);
    if (i % 3 !== 0) out.push(`${hdr} dma_unmap_phys: ${dev} dir=${i % 2 ? 'TO_DEVICE' : 'FROM_DEVICE'} dma_addr=${dma} size=${4096 * (1 + (i % 3))} attrs=`);
    if (i % 5 === 0) out.push(`${hdr} sched_switch: prev_comm=fio prev_pid=2211 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120`);
    if (i % 41 === 0) out.push(`${hdr} io_page_fault: IOMMU:nvme ${dev} iova=0x00000000${dma} flags=0x0020`);
  }
  return out.join('\n') + '\n';
}

function liveAt(r: ImportResult, line: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [dev, list] of replayStateAt(r.events, r.findings, r.lines, line)) if (list.length > 0) out.set(dev, list.map((m) => `${m.addr}+${m.size}@${m.line}`).sort());
  return out;
}

function liveOf(t: CaptureTimeline, k: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [dev, d] of t.stateAt(k).devices) {
    const list = liveMappings(d);
    if (list.length > 0) out.set(dev, list.map((m) => `${m.addr}+${m.size}@${m.line}`).sort());
  }
  return out;
}

describe('capture debugger: timeline', () => {
  let big: ImportResult;
  let timeline: CaptureTimeline;
  before(async () => {
    big = await importBytes(generated(700), { keepEvents: true });
    timeline = new CaptureTimeline(big);
  });

  it('has one record per event and per printed finding, in line order, with the fault tracepoint and its finding as one', () => {
    const faults = [...big.events].filter((e) => e.kind === 'io_page_fault').length;
    assert.equal(faults, 18);
    assert.equal(timeline.length, big.events.length, 'every finding printed here is a tracepoint: no extra records');
    for (let k = 1; k < timeline.length; k++) assert.ok(timeline.records[k - 1].line < timeline.records[k].line);
    const fault = timeline.records.find((r) => r.kind === 'io_page_fault');
    assert.deepEqual(fault?.findings.map((f) => f.kind).slice(0, 1), ['io_page_fault']);
    assert.ok(timeline.length > 2 * timeline.every, `${timeline.length} records span several snapshots of ${timeline.every}`);
  });

  it('the state at any record, visited in any order, is the replay up to its line', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1, max: timeline.length - 1 }), { minLength: 1, maxLength: 12 }), (ks) => {
        for (const k of ks) {
          const line = k < 0 ? 0 : timeline.records[k].line;
          assert.deepEqual(liveOf(timeline, k), liveAt(big, line), `record ${k} (line ${line})`);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('a snapshot is not changed by the moves after it (stepping back gives the same state)', () => {
    const k = timeline.every + 5;
    const first = liveOf(timeline, k);
    liveOf(timeline, timeline.length - 1);
    liveOf(timeline, 3);
    assert.deepEqual(liveOf(timeline, k), first);
    assert.ok([...first.values()].flat().length > 0);
  });

  it('gives the IOVA map a domain per device with the live mappings', () => {
    const k = 10;
    const view = captureMachineView(timeline.stateAt(k));
    const dev = view.domains.find((d) => d.label === '0000:00:00.0');
    const want = liveOf(timeline, k).get('0000:00:00.0') ?? [];
    assert.equal(dev?.mappings.length, want.length);
    assert.deepEqual(dev?.users, ['0000:00:00.0']);
    assert.ok(view.devices.every((d) => d.bus === 'pci'));
  });

  it('the IOVA map panel\'s model draws a captured device\'s live mappings in a 4 GiB space', async () => {
    const ath = new CaptureTimeline(await importFixture(REAL_DIR, '28-ftrace-iommu-dma-events-ath12k-6.12.log', { keepEvents: true }));
    const model = buildIovaMapModel(captureMachineView(ath.stateAt(1)), '0000:c2:00.0', captureMachineView(ath.stateAt(0)));
    assert.ok(model);
    assert.equal(model.aperture.endHex, '0xffffffff');
    assert.deepEqual(rangesOf(model.ranges).map((r) => [r.iova, r.size, r.prot, r.line]), [['0xfe980000', '0x80000', 'rw', 6]]);
    assert.deepEqual(model.change.map((e) => [e.kind, e.iova]), [['mapped', '0xfe980000']], 'the record at the position mapped it');
  });

  it('turns every real and hand-written capture into records that cover its events and findings', async () => {
    for (const [dir, name] of [...captureFiles(REAL_DIR).map((n) => [REAL_DIR, n]), ...captureFiles(SYNTHETIC_DIR).map((n) => [SYNTHETIC_DIR, n])]) {
      const r = await importFixture(dir, name, { keepEvents: true });
      const t = new CaptureTimeline(r);
      const lines = new Set(t.records.map((x) => x.line));
      for (const e of r.events) assert.ok(lines.has(e.line), `${name}: event at line ${e.line} has a record`);
      for (const f of r.findings) {
        if (f.source === 'replay') assert.ok(t.records.some((x) => x.findings.includes(f)), `${name}: replay check ${f.kind} at line ${f.line} is shown at a record`);
        else assert.ok(t.records.some((x) => x.findings.includes(f) && x.repeatOf === undefined), `${name}: ${f.kind} at line ${f.line} has a record`);
      }
      for (let k = 0; k < t.length; k++) t.stateAt(k);
    }
  });
});

describe('capture debugger: moves', () => {
  it('any sequence of moves and breakpoints keeps the position on a record, stops only where something asked, and ends at the end', async () => {
    const r = await importBytes(generated(120), { keepEvents: true });
    const move = fc.oneof(
      fc.constant('next'), fc.constant('back'), fc.constant('continue'), fc.constant('reverse'),
      fc.integer({ min: -5, max: 1000 }).map((k) => `goto ${k}`),
    );
    fc.assert(
      fc.property(fc.array(move, { maxLength: 25 }), fc.array(fc.integer({ min: 1, max: r.lines + 3 }), { maxLength: 4 }), fc.boolean(), (moves, lines, faults) => {
        const rt = new CaptureRuntime(r);
        const stops: { reason: string; event: number }[] = [];
        const session = { ended: false };
        rt.on('stop', (e: { reason: string; event: number }) => stops.push(e));
        rt.on('end', () => (session.ended = true));
        const set = rt.setLineBreakpoints(lines.map((line) => ({ line })));
        const bpLines = new Set(set.flatMap((x) => ('line' in x ? [x.line] : [])));
        rt.setTraceFilters(faults ? [{ filter: 'io_page_fault' }] : []);
        rt.start(true);
        for (const m of moves) {
          session.ended = false;
          const before = stops.length;
          if (m === 'next') rt.next();
          else if (m === 'back') rt.stepBack();
          else if (m === 'continue') rt.continue();
          else if (m === 'reverse') rt.reverseContinue();
          else rt.goTo(Number(m.split(' ')[1]));
          assert.ok(rt.position >= 0 && rt.position < rt.length, `${m}: position ${rt.position} of ${rt.length}`);
          if (session.ended) {
            assert.ok(m === 'next' || m === 'continue', `${m} ended the session`);
            continue;
          }
          const s = stops[stops.length - 1];
          assert.equal(stops.length, before + 1, `${m} stops once`);
          assert.equal(s.event, rt.position);
          const rec = rt.record(s.event);
          assert.ok(rec);
          if (s.reason === 'breakpoint') assert.ok(bpLines.has(rec.line), `breakpoint stop at line ${rec.line}`);
          if (s.reason === 'exception') assert.ok(faults && rec.findings.some((f) => f.kind === 'io_page_fault'));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('capture debugger: conditions and names', () => {
  let r: ImportResult;
  let t: CaptureTimeline;
  before(async () => {
    r = await importFixture(REAL_DIR, '28-ftrace-iommu-dma-events-ath12k-6.12.log', { keepEvents: true });
    t = new CaptureTimeline(r);
  });

  it('parses clauses, quoted or bare, numbers in hex or decimal, and says what is wrong', () => {
    assert.deepEqual(parseCaptureCondition('device == "0000:c2:00.0" && size >= 0x80000'), {
      clauses: [{ field: 'device', op: '==', value: '0000:c2:00.0' }, { field: 'size', op: '>=', value: '0x80000' }],
    });
    assert.match(String(parseCaptureCondition('addr in 0x2000..0x1000')), /empty range/);
    assert.match(String(parseCaptureCondition('device = x')), /is not FIELD == VALUE/);
    assert.match(String(parseCaptureCondition('a == 1 && ')), /empty clause/);
    assert.match(String(parseCaptureCondition('x == 1 && '.repeat(200))), /longer than 1000/);
  });

  it('tests record fields: the tracepoint\'s, its findings\', kind in both spellings', () => {
    const holds = (text: string, line: number): boolean => {
      const c = parseCaptureCondition(text);
      assert.notEqual(typeof c, 'string', String(c));
      const rec = t.recordAtOrAfter(line);
      assert.ok(rec);
      return conditionHolds(c as Exclude<typeof c, string>, rec);
    };
    assert.equal(holds('device == "0000:c2:00.0" && size == 524288', 6), true);
    assert.equal(holds('device == 0000:01:00.0', 6), false);
    assert.equal(holds('addr in 0xfe980000..0xfe980001', 12), true);
    assert.equal(holds('kind == iommu:map', 4), true);
    assert.equal(holds('kind == map', 4), true);
    assert.equal(holds('kind == fault_after_unmap && mapped_line == 6', 12), true, 'the replay check at the fault');
    assert.equal(holds('access != write', 12), false);
    assert.equal(holds('line > 5', 4), false);
  });

  it('the trace breakpoints stop on the findings of real captures: swiotlb full, dma-debug, SMMU faults', async () => {
    const stops = async (name: string, filter: string): Promise<number[]> => {
      const tl = new CaptureTimeline(await importFixture(REAL_DIR, name, { keepEvents: true }));
      return tl.records.filter((x) => filterHits(filter, x) !== undefined).map((x) => x.line);
    };
    assert.ok((await stops('18-swiotlb-full-legacy-at-device.log', 'swiotlb_full')).length > 0);
    assert.ok((await stops('22-dma-debug-different-size-5.4-x86.log', 'dma_debug')).length > 0);
    assert.ok((await stops('16-arm-smmu-v3-event-0x10-decoded.log', 'io_page_fault')).length > 0);
    assert.ok((await stops('26-iommu-unaligned-intel-qemu.log', 'sanitizer')).length > 0);
    assert.deepEqual(await stops('22-dma-debug-different-size-5.4-x86.log', 'io_page_fault'), []);
  });

  it('never throws on any condition text a user or a client sends: it parses or says why', () => {
    const pieces = fc.constantFrom('device', 'addr', 'kind', '__proto__', 'constructor', '==', '!=', '<=', ' in ', '..', '&&', '"', "'", '0x', 'ff', '12', ' ', 'iommu:map', '\\', '||');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.array(pieces, { maxLength: 30 }).map((p) => p.join(''))), (text) => {
        const c = parseCaptureCondition(text);
        if (typeof c === 'string') {
          assert.ok(c.length > 0);
          return;
        }
        for (const r of t.records) assert.equal(typeof conditionHolds(c, r), 'boolean');
      }),
      { numRuns: 400 },
    );
  });

  it('names records by tracepoint, kind, finding kind and device; filters stop on findings, not on repeat lines', async () => {
    const names = (n: string): number[] => t.records.filter((x) => namesRecord(n, x)).map((x) => x.line);
    assert.deepEqual(names('iommu:map'), [4]);
    assert.deepEqual(names('dma_free'), [8]);
    assert.deepEqual(names('fault_after_unmap'), [12]);
    assert.deepEqual(names('0000:c2:00.0'), [6, 8, 12]);
    assert.deepEqual(t.records.filter((x) => filterHits('io_page_fault', x)).map((x) => x.line), [12]);
    const amd = new CaptureTimeline(await importFixture(REAL_DIR, '07-amdvi-io-page-fault-legacy-split.log', { keepEvents: true }));
    const repeat = amd.records.find((x) => x.repeatOf !== undefined);
    assert.ok(repeat, 'the folded INVALID_DEVICE_REQUEST has a repeat line');
    assert.equal(filterHits('sanitizer', repeat), undefined);
    assert.equal(namesRecord('iommu_event', repeat), false);
  });
});
