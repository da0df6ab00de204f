// The replay of a capture's events per device: each check at the line that
// breaks its rule, the per-device summary, the state at a line.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { DeviceState, Unmapped, replayStateAt, runReplay } from '../../src/traceimport/replay';
import { CaptureImporter } from '../../src/traceimport/importer';
import { SYNTHETIC_DIR, assertAccounted, findingsOf, importBytes, importFixture } from './traceimport-helpers';

describe('traceimport: replay', () => {
  it('reports each check at its line (replay-checks.trace)', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'replay-checks.trace');
    assertAccounted(r);
    const replayed = r.findings.filter((f) => f.source === 'replay').map((f) => [f.line, f.kind, f.device]);
    assert.deepEqual(replayed, [
      [4, 'unmap_size_mismatch', '0000:05:00.0'],
      [6, 'unmap_dir_mismatch', '0000:05:00.0'],
      [7, 'unmap_unknown', '0000:05:00.0'],
      [9, 'unmap_wrong_function', '0000:05:00.0'],
      [10, 'sync_unknown', '0000:05:00.0'],
      [12, 'fault_in_live_mapping', '0000:05:00.0'],
      [14, 'fault_after_unmap', '0000:05:00.0'],
      [16, 'leak', '0000:06:00.0'],
      [18, 'iommu_unmap_short', undefined],
      [19, 'swiotlb_pressure', '0000:06:00.0'],
    ]);
    const size = findingsOf(r, 'unmap_size_mismatch')[0];
    assert.deepEqual([size.size, size.map_size, size.mapped_line], [4096, 8192, 3]);
    const twice = findingsOf(r, 'unmap_unknown')[0];
    assert.deepEqual([twice.mapped_line, twice.unmapped_line], [5, 6]);
    assert.match(twice.message as string, /already unmapped at line 6/);
    const after = findingsOf(r, 'fault_after_unmap')[0];
    assert.deepEqual([after.addr, after.mapped_line, after.unmapped_line], ['0xfffb0800', 11, 13]);
    const live = findingsOf(r, 'fault_in_live_mapping')[0];
    assert.deepEqual([live.map_dir, live.access], ['TO_DEVICE', 'write']);
    const pressure = findingsOf(r, 'swiotlb_pressure')[0];
    assert.deepEqual(pressure.holders, [{ device: '0000:06:00.0', bytes: 4096, live: 1 }], '3000 bytes bounce in two 2 KiB slots');
    const leak = findingsOf(r, 'leak')[0];
    assert.deepEqual([leak.count, leak.bytes], [1, 3000]);
  });

  it('summarises each device: maps, peak, bounces, address span, a bounded timeline', async () => {
    const r = await importFixture(SYNTHETIC_DIR, 'ftrace-dma-6.18.trace');
    const dev = r.replay?.devices.find((d) => d.device === '0000:01:00.0');
    assert.ok(dev);
    assert.equal(dev.maps, 5, 'map_phys, map_sg, alloc, alloc_pages, alloc_sgt');
    assert.equal(dev.unmaps, 5);
    assert.equal(dev.live_at_end, 0);
    assert.equal(dev.peak_live_bytes, 16384 + 8192 + 8192);
    assert.equal(dev.peak_line, 27);
    assert.equal(dev.lowest_addr, '0xfffc0000');
    assert.equal(dev.highest_addr, '0xffffffff');
    const bounced = r.replay?.devices.find((d) => d.device === '0000:02:00.0');
    assert.deepEqual([bounced?.bounces, bounced?.bounce_bytes, bounced?.peak_bounce_bytes], [1, 1500, 2048]);
    assert.deepEqual(r.replay?.iommu_spaces, [{ name: '(iommu)', maps: 1, unmaps: 1, live_at_end: 0, live_bytes_at_end: 0, peak_live_bytes: 4096 }]);
  });

  it('keeps the timeline at 256 points on a long capture, each the peak of its stretch', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const a = (0x10000000 + i * 0x1000).toString(16);
      lines.push(`  d-1 [000] ..... ${i}.0: dma_map_phys: 0000:01:00.0 dir=TO_DEVICE dma_addr=${a} size=4096 phys_addr=${a} attrs=`);
      if (i % 2 === 1) lines.push(`  d-1 [000] ..... ${i}.5: dma_unmap_phys: 0000:01:00.0 dir=TO_DEVICE dma_addr=${a} size=4096 attrs=`);
    }
    const r = await importBytes(lines.join('\n') + '\n');
    const dev = r.replay?.devices[0];
    assert.ok(dev);
    assert.ok(dev.timeline.length <= 257, String(dev.timeline.length));
    assert.equal(dev.peak_live, 2501, 'the last odd map is live for one line before its unmap');
    assert.equal(Math.max(...dev.timeline.map((p) => p.live)), 2501, 'the peak survives the thinning');
    assert.equal(dev.timeline[dev.timeline.length - 1].live, 2500);
    assert.equal(dev.live_at_end, 2500);
  });

  it('a snapshot keeps the range it saw unmapped when the replay unmaps that address again (refilled in place only when not shared)', async () => {
    const dev = '0000:01:00.0';
    const lines = [
      `  d-1 [000] ..... 1.0: dma_map_phys: ${dev} dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=81000 attrs=`,
      `  d-1 [000] ..... 2.0: dma_unmap_phys: ${dev} dir=TO_DEVICE dma_addr=1000 size=4096 attrs=`,
      `  d-1 [000] ..... 3.0: dma_map_phys: ${dev} dir=FROM_DEVICE dma_addr=1000 size=8192 phys_addr=82000 attrs=`,
      `  d-1 [000] ..... 4.0: dma_unmap_phys: ${dev} dir=FROM_DEVICE dma_addr=1000 size=8192 attrs=`,
      `  d-1 [000] ..... 5.0: dma_map_phys: ${dev} dir=TO_DEVICE dma_addr=1000 size=512 phys_addr=83000 attrs=`,
      `  d-1 [000] ..... 6.0: dma_unmap_phys: ${dev} dir=TO_DEVICE dma_addr=1000 size=512 attrs=`,
    ];
    const r = await importBytes(lines.join('\n') + '\n');
    const replay = runReplay(r.events, [], r.lines, 2);
    const snap = replay.clone();
    for (let i = 2; i < 4; i++) replay.apply(r.events, i);
    const snap2 = replay.clone();
    for (let i = 4; i < r.events.length; i++) replay.apply(r.events, i);
    const seen = (d: DeviceState | undefined, addr: bigint): unknown[] => {
      const u = d?.unmappedAt(addr);
      return u === undefined ? [] : [u.mapLine, u.unmapLine, u.dir, Number(u.end - u.start)];
    };
    assert.deepEqual(seen(snap.devices.get(dev), 0x1000n), [1, 2, 'TO_DEVICE', 4096]);
    assert.deepEqual(seen(snap.devices.get(dev), 0x2800n), [], 'the first range ends at 0x2000');
    assert.deepEqual(seen(snap2.devices.get(dev), 0x2800n), [3, 4, 'FROM_DEVICE', 8192]);
    assert.deepEqual(seen(replay.devices.get(dev), 0x1000n), [5, 6, 'TO_DEVICE', 512]);
    assert.deepEqual(seen(replay.devices.get(dev), 0x1200n), [], 'the last range is 512 bytes');
  });

  it('gives the live mappings right after a line (for stepping through a capture)', async () => {
    const imp = new CaptureImporter();
    const text = [
      '  d-1 [000] ..... 1.0: dma_map_phys: 0000:01:00.0 dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=81000 attrs=',
      '  d-1 [000] ..... 2.0: dma_map_phys: 0000:01:00.0 dir=FROM_DEVICE dma_addr=3000 size=512 phys_addr=82000 attrs=',
      '  d-1 [000] ..... 3.0: dma_unmap_phys: 0000:01:00.0 dir=TO_DEVICE dma_addr=1000 size=4096 attrs=',
    ];
    for (const l of text) imp.push(l);
    imp.end();
    const r = imp.result();
    const at2 = replayStateAt(imp.allEvents, r.findings, r.lines, 2).get('0000:01:00.0') ?? [];
    assert.deepEqual(at2.map((m) => [m.addr, m.size, m.dir, m.line]), [['0x1000', 4096, 'TO_DEVICE', 1], ['0x3000', 512, 'FROM_DEVICE', 2]]);
    const at3 = replayStateAt(imp.allEvents, r.findings, r.lines, 3).get('0000:01:00.0') ?? [];
    assert.deepEqual(at3.map((m) => m.addr), ['0x3000']);
  });

  it('matches dma_unmap_sg to its dma_map_sg by the phys list', async () => {
    const r = await importBytes(
      [
        '  d-1 [000] ..... 1.0: dma_map_sg: 0000:01:00.0 dir=TO_DEVICE dma_addrs={0xffff8000} sizes={0x3000} phys_addrs={0x10a3c4000,0x10a3c5000} attrs=',
        '  d-1 [000] ..... 2.0: dma_unmap_sg: 0000:01:00.0 dir=FROM_DEVICE phys_addrs={0x10a3c4000,0x10a3c5000} attrs=',
        '  d-1 [000] ..... 3.0: dma_unmap_sg: 0000:01:00.0 dir=TO_DEVICE phys_addrs={0x10a3c4000,0x10a3c5000} attrs=',
      ].join('\n'),
    );
    assert.deepEqual(
      r.findings.map((f) => [f.line, f.kind]),
      [
        [2, 'unmap_dir_mismatch'],
        [3, 'unmap_unknown'],
      ],
    );
  });
});

describe('traceimport: replay fault lookup', () => {
  /** The lookup as every range scanned in the unmapped map's order: the latest unmap wins, the first in that order among equals. */
  function scanned(d: DeviceState, addr: bigint): { mapLine: number; unmapLine: number } | undefined {
    let best: { mapLine: number; unmapLine: number; start: bigint; end: bigint } | undefined;
    for (const u of d.unmapped.values()) if (u.start <= addr && addr < u.end && (best === undefined || u.unmapLine > best.unmapLine)) best = u;
    return best;
  }

  const BIG = 2n ** 53n;
  const start = fc.oneof(
    fc.bigInt({ min: 0n, max: 64n }).map((p) => 0xfff0_0000n + p * 0x1000n),
    fc.bigInt({ min: 0n, max: 0xffffn }),
    fc.bigInt({ min: BIG - 0x3000n, max: BIG + 0x3000n }),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  );
  const size = fc.oneof(fc.constantFrom(1n, 0x1000n, 0x2000n, 0x80000n), fc.bigInt({ min: 1n, max: 1n << 33n }));
  const op = fc.oneof(
    fc.record({ kind: fc.constant('unmap' as const), start, size, sameLine: fc.boolean() }),
    fc.record({ kind: fc.constant('ask' as const), addr: fc.oneof(start, start.map((s) => s + 0x800n)) }),
    fc.record({ kind: fc.constant('clone' as const) }),
  );

  it('finds the range a fault falls in as a scan of every unmapped range does, for any sequence of unmaps (overlapping, past 2^53, cloned)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        let d = new DeviceState('dev', 1);
        let line = 1;
        for (const o of ops) {
          if (o.kind === 'clone') {
            d = d.clone();
            continue;
          }
          if (o.kind === 'ask') {
            const got = d.unmappedAt(o.addr);
            const want = scanned(d, o.addr);
            assert.deepEqual(got && [got.mapLine, got.unmapLine], want && [want.mapLine, want.unmapLine]);
            assert.equal(got, want, 'the same range');
            continue;
          }
          if (!o.sameLine) line++;
          const end = o.start + o.size;
          d.setUnmapped(`0x${o.start.toString(16)}`, Unmapped.of(o.start, end, line, line, undefined, 'dma_map_phys'));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('traceimport: replay iommu:unmap', () => {
  type Op = { kind: 'map' | 'unmap'; start: bigint; size: bigint };
  const hex16 = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
  const lineOf = (o: Op, i: number): string =>
    o.kind === 'map'
      ? `  d-1 [000] ..... ${i}.0: map: IOMMU: iova=${hex16(o.start)} - ${hex16(o.start + o.size)} paddr=0x0000000100000000 size=${o.size}`
      : `  d-1 [000] ..... ${i}.0: unmap: IOMMU: iova=${hex16(o.start)} - ${hex16(o.start + o.size)} size=${o.size} unmapped_size=${o.size}`;

  /** The unmap as a scan of every live key in insertion order does it (the slow path), over BigInts. */
  function scanModel(ops: Op[]): { live: [string, number[]][]; unmapped: [string, number, number, number][]; unknown: number[] } {
    const live = new Map<string, { start: bigint; end: bigint; line: number }[]>();
    const unmapped = new Map<string, [number, number, number]>();
    const unknown: number[] = [];
    let order = 0;
    let maps = 0;
    ops.forEach((o, k) => {
      const line = k + 1;
      const key = `0x${o.start.toString(16)}`;
      const end = o.start + (o.size > 0n ? o.size : 1n);
      if (o.kind === 'map') {
        maps++;
        const list = live.get(key);
        if (list) list.push({ start: o.start, end, line });
        else live.set(key, [{ start: o.start, end, line }]);
        return;
      }
      let removed = 0;
      for (const [lkey, list] of live) {
        for (let j = list.length - 1; j >= 0; j--) {
          const m = list[j];
          if (m.start >= o.start && m.end <= end) {
            list.splice(j, 1);
            const mkey = `0x${m.start.toString(16)}`;
            const old = unmapped.get(mkey);
            unmapped.set(mkey, [m.line, line, old === undefined ? order++ : old[2]]);
            removed++;
          }
        }
        if (list.length === 0) live.delete(lkey);
        if (live.size > 10_000 && removed > 0) break;
      }
      if (removed === 0 && maps > 0) unknown.push(line);
    });
    return { live: [...live].map(([k, l]) => [k, l.map((m) => m.line)]), unmapped: [...unmapped].map(([k, [a, b, c]]) => [k, a, b, c]), unknown };
  }

  async function replayed(ops: Op[], cloneAt: number): Promise<ReturnType<typeof scanModel>> {
    const r = await importBytes(ops.map(lineOf).join('\n') + '\n');
    assert.equal(r.events.length, ops.length);
    // Cloned part way (as the capture debugger's snapshots are), then applied to the end.
    const before = runReplay(r.events, [], r.lines, cloneAt);
    // (A clone's findings start empty.)
    const replay = before.clone();
    for (let i = cloneAt; i < r.events.length; i++) replay.apply(r.events, i);
    const s = replay.iommu.get('(iommu)')?.state;
    return {
      live: s === undefined ? [] : [...s.live].map(([k, l]) => [k, l.map((m) => m.line)]),
      unmapped: s === undefined ? [] : [...s.unmapped].map(([k, u]) => [k, u.mapLine, u.unmapLine, u.order]),
      unknown: [...before.findings, ...replay.findings].filter((f) => f.kind === 'unmap_unknown').map((f) => f.line),
    };
  }

  const page = fc.integer({ min: 0, max: 15 }).map((p) => 0xfff0_0000n + BigInt(p) * 0x1000n);
  const start = fc.oneof(
    { weight: 6, arbitrary: page },
    { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }).map((p) => 2n ** 53n + BigInt(p) * 0x1000n) },
    { weight: 1, arbitrary: fc.constantFrom(0xffff_ffff_fff0_0000n, 0n) },
  );
  const size = fc.constantFrom(0x1000n, 0x2000n, 0x4000n, 0x10000n, 0x800n);
  const op = fc.record({ kind: fc.constantFrom('map' as const, 'map' as const, 'unmap' as const), start, size });

  it('removes what a scan of every live mapping removes, in its order, for any maps and unmaps (overlapping, past 2^53, cloned)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.nat(), async (ops, at) => {
        assert.deepEqual(await replayed(ops, at % (ops.length + 1)), scanModel(ops));
      }),
      { numRuns: 150 },
    );
  });

  it('past 10,000 live keys takes the first key in map order that the range holds, as the scan does', async () => {
    const ops: Op[] = [];
    // Keys made in falling address order, so address order and map order differ.
    for (let p = 10_005; p >= 0; p--) ops.push({ kind: 'map', start: 0x1000_0000n + BigInt(p) * 0x1000n, size: 0x1000n });
    ops.push({ kind: 'unmap', start: 0x1000_0000n, size: 0x4000n });
    ops.push({ kind: 'unmap', start: 0x1000_0000n, size: 0x4000n });
    const model = scanModel(ops);
    assert.deepEqual(
      model.unmapped.map(([k]) => k),
      ['0x10003000', '0x10002000'],
      'one key a time',
    );
    assert.deepEqual(await replayed(ops, ops.length), model);
  });
});
