#!/usr/bin/env node
// Replays a swiotlb oracle sequence (real kernel/dma/swiotlb.c results, one
// JSON object per line) against the engine's IoTlbMem and compares every
// op: slot choice, padding, area, copy ranges, failure values and message,
// and the per-area accounting after the op.
// Usage: node test/oracle/replay-swiotlb.mjs FILE.jsonl[.gz]

import { readLines } from './read-lines.mjs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const engine = require('../../dist/engine.js');
const { IoTlbMem } = engine;

const MAX_PRINTED = 50;
const DIRS = { BIDIRECTIONAL: 0, TO_DEVICE: 1, FROM_DEVICE: 2 };

const file = process.argv[2];
if (!file) {
  console.error('usage: replay-swiotlb.mjs FILE.jsonl[.gz]');
  process.exit(2);
}

const lines = await readLines(file);
const init = JSON.parse(lines[0]);
if (init.op !== 'init') {
  console.error(`${file}: first line is not the init record`);
  process.exit(2);
}

const hex = (v) => (v === null || v === undefined ? v : '0x' + BigInt(v).toString(16));
const copyOf = (c) => (c ? { from: hex(c.from), to: hex(c.to), len: c.len } : null);

// Only copies are recorded; the bytes themselves are not part of the oracle.
const copier = { copy() {} };

const mem = new IoTlbMem({
  base: BigInt(init.pool_base),
  nslabs: init.nslabs,
  possibleCpus: init.ncpus,
  pageSize: init.page_size,
  // The generator ran with CONFIG_DEBUG_FS=n: mem_used() sums area->used.
  debugFs: false,
});

let passed = 0;
let failed = 0;
let printed = 0;

function report(where, diffs) {
  if (printed < MAX_PRINTED) console.log(`${where}: ${diffs.join('; ')}`);
  printed++;
}

// Pool geometry is checked once; a mismatch counts as one more failed op.
{
  const p = mem.defpool;
  const diffs = [];
  const want = {
    pool_base: init.pool_base,
    pool_end: init.pool_end,
    nslabs: init.nslabs,
    nareas: init.nareas,
    area_nslabs: init.area_nslabs,
  };
  const got = { pool_base: hex(p.start), pool_end: hex(p.end), nslabs: p.nslabs, nareas: p.nareas, area_nslabs: p.areaNslabs };
  for (const k of Object.keys(want)) if (String(want[k]) !== String(got[k])) diffs.push(`${k}: want ${want[k]} got ${got[k]}`);
  if (diffs.length) {
    report('init', diffs);
    failed++;
  }
}

const seg = BigInt(init.seg_boundary_mask);

function compare(diffs, key, want, got) {
  const w = JSON.stringify(want);
  const g = JSON.stringify(got);
  if (w !== g) diffs.push(`${key}: want ${w} got ${g}`);
}

function compareAccounting(diffs, rec) {
  const p = mem.defpool;
  compare(diffs, 'used', rec.used, mem.used);
  compare(diffs, 'area_used', rec.area_used, p.areas.map((a) => a.used));
  compare(diffs, 'area_index', rec.area_index, p.areas.map((a) => a.index));
}

for (let n = 1; n < lines.length; n++) {
  const rec = JSON.parse(lines[n]);
  const diffs = [];
  const where = `op ${rec.i} (${rec.op}, ${rec.phase})`;
  if (rec.op === 'map') {
    const r = mem.mapSingle(
      {
        orig: BigInt(rec.orig),
        mappingSize: rec.size,
        allocAlignMask: BigInt(rec.alloc_align_mask),
        minAlignMask: BigInt(rec.min_align_mask),
        segBoundaryMask: seg,
        cpu: rec.cpu,
        dir: DIRS[rec.dir],
        attrs: 0,
      },
      copier,
    );
    compare(diffs, 'warn', rec.warn ?? [], r.warnings);
    if (rec.tlb_addr === null) {
      if (r.ok) diffs.push(`want failure, got tlb_addr ${hex(r.tlbAddr)} index ${r.index}`);
      else if (r.reason !== 'full') diffs.push(`want buffer-full failure, got ${r.reason}: ${r.message}`);
      else {
        compare(diffs, 'fail', rec.fail, { sz: r.sz, total: r.total, used: r.used });
        compare(diffs, 'msg', rec.msg, r.message);
        compare(diffs, 'alloc_size', rec.alloc_size, r.sz);
      }
    } else if (!r.ok) {
      diffs.push(`want tlb_addr ${rec.tlb_addr}, got failure: ${r.message}`);
    } else {
      compare(diffs, 'tlb_addr', rec.tlb_addr, hex(r.tlbAddr));
      compare(diffs, 'index', rec.index, r.index);
      compare(diffs, 'nslots', rec.nslots, r.nslots);
      compare(diffs, 'pad_slots', rec.pad_slots, r.padSlots);
      compare(diffs, 'area', rec.area, r.area);
      compare(diffs, 'alloc_size', rec.alloc_size, r.allocSize);
      compare(diffs, 'copy', rec.copy ?? null, copyOf(r.copy));
    }
  } else if (rec.op === 'unmap') {
    const r = mem.unmapSingle(BigInt(rec.tlb_addr), rec.size, DIRS[rec.dir], 0, copier, {
      minAlignMask: BigInt(rec.min_align_mask),
    });
    if (!r.ok) diffs.push(`unmap hit a BUG: ${r.message}`);
    else if (!r.found) diffs.push('unmap found no pool');
    else {
      compare(diffs, 'freed_index', rec.freed_index, r.freed ? r.freed.index : null);
      compare(diffs, 'freed_slots', rec.freed_slots, r.freed ? r.freed.nslots : null);
      compare(diffs, 'copy', rec.copy ?? null, copyOf(r.copy));
      compare(diffs, 'warn', rec.warn ?? [], r.warnings);
    }
  } else {
    diffs.push(`unknown op ${rec.op}`);
  }
  compareAccounting(diffs, rec);
  if (diffs.length) {
    report(where, diffs);
    failed++;
  } else passed++;
}

if (printed > MAX_PRINTED) console.log(`... ${printed - MAX_PRINTED} more mismatching ops not shown`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
