// Replays an io-pgtable-arm oracle run (reference/oracles/io-pgtable-arm,
// recorded from the real io-pgtable-arm.c + iommu.c) against the engine:
// same configuration, same bump allocator for table pages, every op through
// iommuMapPages/iommuUnmapPages, and compares the split, return values,
// allocs/frees, TLB callbacks, WARNs, net descriptor writes, every probe and
// the final tables and teardown.
//
//   node test/oracle/replay-pgtable.mjs pgtable-C1.jsonl
//
// Last line: "N passed, N failed" (N = compared records: config, ops, final,
// plus every probe). Exit 1 if anything failed.

import { readLines } from './read-lines.mjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const engine = require(join(here, '../../dist/engine.js'));
const { ArmLpaeIoPgtable, iommuMapPages, iommuUnmapPages } = engine;

const MASK64 = (1n << 64n) - 1n;
const MAX_PRINTED = 50;
const hx = (v) => '0x' + BigInt(v).toString(16);

// ---------------------------------------------------------------- harness --

/** One seq counter per op, shared by chunks, tlb, allocs, frees and warns (as in the oracle). */
class Recorder {
  constructor() {
    this.reset();
  }
  reset() {
    this.seq = 0;
    this.last = null;
    this.chunks = [];
    this.tlb = [];
    this.allocs = [];
    this.frees = [];
    this.warns = [];
  }
  next(kind, ev) {
    ev.seq = this.seq++;
    this.last = { kind, ev };
    this[kind].push(ev);
    return ev;
  }
  addPage(iova, granule) {
    // Runs of tlb_add_page are merged only when adjacent in time.
    const l = this.last;
    if (l && l.kind === 'tlb' && l.ev.ev === 'add_page' && l.ev.granule === granule && l.ev.iova + BigInt(l.ev.n) * granule === iova) {
      l.ev.n++;
      return;
    }
    this.next('tlb', { ev: 'add_page', iova, granule, n: 1 });
  }
}

/** Table memory: sparse u64 words; freed memory is neither reused nor scrubbed. */
class Memory {
  constructor() {
    this.words = new Map();
    this.log = new Map(); // addr -> { old, new } for the current op
    this.lastHigh = 0;
    this.generation = 0; // bumped by every write: the engine's walker keeps a last-level table while it is unchanged
  }
  readU64(addr) {
    return this.words.get(addr) ?? 0n;
  }
  /** The engine's number read (walkers descend through table descriptors with it): replays check that path against the kernel too. */
  readU64NumN(addr) {
    const v = this.readU64(BigInt(addr));
    return v < 1n << 53n ? Number(v) : -1;
  }
  /** The engine's halves read and write (its number map/unmap/iova_to_phys paths use them): replays check those too. */
  readU64LoN(addr) {
    const v = this.readU64(BigInt(addr));
    this.lastHigh = Number(v >> 32n);
    return Number(v & 0xffffffffn);
  }
  writeU64HalvesN(addr, lo, hi) {
    this.writeU64(BigInt(addr), (BigInt(hi) << 32n) | BigInt(lo));
  }
  writeU64(addr, value) {
    this.generation++;
    const old = this.readU64(addr);
    const e = this.log.get(addr);
    if (e) e.new = value;
    else this.log.set(addr, { old, new: value });
    this.words.set(addr, value);
  }
}

/** The oracle's arena: bump pointer from 0x40000000, 4096 << get_order(size) bytes, aligned to that. */
class BumpAllocator {
  constructor(rec) {
    this.rec = rec;
    this.next = 0x40000000n;
    this.start = this.next;
    this.live = new Map(); // pa -> bytes
    this.all = []; // { pa, bytes }, every allocation ever made
  }
  allocTable(req) {
    let bytes = 4096n;
    while (bytes < BigInt(req)) bytes <<= 1n;
    const pa = (this.next + bytes - 1n) & ~(bytes - 1n);
    this.next = pa + bytes;
    this.live.set(pa, bytes);
    this.all.push({ pa, bytes });
    this.rec.next('allocs', { pa, req, size: Number(bytes) });
    return pa;
  }
  freeTable(pa) {
    const bytes = this.live.get(pa);
    if (bytes === undefined) throw new Error(`free of unknown table ${hx(pa)}`);
    this.live.delete(pa);
    this.rec.next('frees', { pa, size: Number(bytes) });
  }
  tableOf(addr) {
    for (const a of this.all) if (addr >= a.pa && addr < a.pa + a.bytes) return a.pa;
    return null;
  }
}

function makeHooks(rec, mem, alloc) {
  return {
    mem,
    alloc,
    tlb: {
      tlbFlushAll: () => rec.next('tlb', { ev: 'flush_all' }),
      tlbFlushWalk: (iova, size, granule) => rec.next('tlb', { ev: 'flush_walk', iova, size, granule }),
      tlbAddPage: (iova, granule) => rec.addPage(iova, granule),
    },
    warn: (func, what) => rec.next('warns', { func, what }),
  };
}

/** The domain's map_pages/unmap_pages: log each call as a chunk, seq taken when the call starts. */
function chunkLogger(ops, rec) {
  return {
    name: ops.name,
    cfg: ops.cfg,
    root: ops.root,
    levels: ops.levels,
    mapPages(iova, paddr, pgsize, count, prot) {
      const c = rec.next('chunks', { fn: 'map_pages', iova, paddr, pgsize, count });
      const r = ops.mapPages(iova, paddr, pgsize, count, prot);
      c.ret = r.ret;
      c.mapped = r.mapped;
      return r;
    },
    unmapPages(iova, pgsize, count) {
      const c = rec.next('chunks', { fn: 'unmap_pages', iova, pgsize, count });
      const r = ops.unmapPages(iova, pgsize, count);
      c.unmapped = r;
      return r;
    },
    iovaToPhys: (iova) => ops.iovaToPhys(iova),
    walk: (iova, fetch) => ops.walk(iova, fetch),
    free: () => ops.free(),
  };
}

// ------------------------------------------------------------- comparing --

let printed = 0;
let extraMismatches = 0;
function report(where, what) {
  if (printed < MAX_PRINTED) {
    console.log(`MISMATCH ${where}: ${what}`);
    printed++;
  } else {
    extraMismatches++;
  }
}

/** Normalise an event for comparison: BigInt-able strings to hex, drop nothing. */
function norm(v) {
  if (typeof v === 'bigint') return hx(v);
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) return hx(BigInt(v));
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = norm(v[k]);
    return o;
  }
  return v;
}

function compareList(where, name, ours, theirs, errs) {
  const a = ours.map(norm);
  const b = (theirs ?? []).map(norm);
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = JSON.stringify(a[i]);
    const y = JSON.stringify(b[i]);
    if (x !== y) {
      errs.push(`${name}[${i}] ours ${x ?? 'none'} oracle ${y ?? 'none'}` + (a.length !== b.length ? ` (lengths ${a.length} vs ${b.length})` : ''));
      return;
    }
  }
}

/** The oracle writes "WARN_ONCE: msg" / "WARN_ON: cond"; the engine passes the message or "WARN_ON(cond)". */
function normWarns(list) {
  return list.map((w) => {
    let what = w.what;
    if (what.startsWith('WARN_ONCE: ') || what.startsWith('WARN: ')) what = what.slice(what.indexOf(': ') + 2);
    else if (what.startsWith('WARN_ON_ONCE: ')) what = `WARN_ON_ONCE(${what.slice(14)})`;
    else if (what.startsWith('WARN_ON: ')) what = `WARN_ON(${what.slice(9)})`;
    return { seq: w.seq, func: w.func, what };
  });
}

/** Expand write runs to "table:index" -> "old->new". */
function expandRuns(runs) {
  const m = new Map();
  for (const r of runs) {
    const table = BigInt(r.table);
    for (let k = 0n; k < BigInt(r.n); k++) {
      const old = (BigInt(r.old) + k * BigInt(r.old_step)) & MASK64;
      const nu = (BigInt(r.new) + k * BigInt(r.new_step)) & MASK64;
      m.set(`${hx(table)}:${BigInt(r.index) + k}`, `${hx(old)}->${hx(nu)}`);
    }
  }
  return m;
}

function ourWrites(mem, alloc) {
  const m = new Map();
  for (const [addr, e] of mem.log) {
    if (e.old === e.new) continue;
    const table = alloc.tableOf(addr);
    if (table === null) {
      m.set(`untracked:${hx(addr)}`, `${hx(e.old)}->${hx(e.new)}`);
      continue;
    }
    m.set(`${hx(table)}:${(addr - table) / 8n}`, `${hx(e.old)}->${hx(e.new)}`);
  }
  return m;
}

function compareMaps(name, ours, theirs, errs) {
  const diffs = [];
  for (const [k, v] of theirs) if (ours.get(k) !== v) diffs.push(`${k} ours ${ours.get(k) ?? 'unchanged'} oracle ${v}`);
  for (const [k, v] of ours) if (!theirs.has(k)) diffs.push(`${k} ours ${v} oracle unchanged`);
  if (diffs.length) errs.push(`${name}: ${diffs.length} differ, first ${diffs.slice(0, 3).join('; ')}`);
}

function compareEvents(rec, mem, alloc, line, errs) {
  compareList('', 'chunks', rec.chunks, line.chunks, errs);
  compareList('', 'tlb', rec.tlb, line.tlb, errs);
  compareList('', 'allocs', rec.allocs, line.allocs, errs);
  compareList('', 'frees', rec.frees, line.frees, errs);
  compareList('', 'warns', rec.warns, normWarns(line.warns ?? []), errs);
  if (line.writes) compareMaps('writes', ourWrites(mem, alloc), expandRuns(line.writes), errs);
}

function probeErrors(ops, p) {
  const errs = [];
  const iova = BigInt(p.iova);
  const phys = ops.iovaToPhys(iova);
  if (phys !== BigInt(p.iova_to_phys)) errs.push(`iova_to_phys ours ${hx(phys)} oracle ${p.iova_to_phys}`);
  const w = ops.walk(iova);
  const steps = w.steps.map((s) => ({ level: s.level, table: s.table, index: s.index, desc: s.desc }));
  compareList('', 'walk', steps, p.walk, errs);
  const leaf = w.fault === undefined && w.phys !== undefined;
  const result = leaf ? 'leaf' : 'invalid';
  if (result !== p.result) errs.push(`result ours ${result}${w.fault ? ` (${w.fault.reason} at level ${w.fault.level})` : ''} oracle ${p.result}`);
  if (leaf && p.result === 'leaf') {
    if (w.leafLevel !== p.leaf_level) errs.push(`leaf_level ours ${w.leafLevel} oracle ${p.leaf_level}`);
    if (w.phys !== BigInt(p.walk_phys)) errs.push(`walk_phys ours ${hx(w.phys)} oracle ${p.walk_phys}`);
  }
  if (w.accesses !== w.steps.length) errs.push(`accesses ${w.accesses} != ${w.steps.length} descriptor reads`);
  return errs;
}

// ------------------------------------------------------------------ main --

async function main() {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node test/oracle/replay-pgtable.mjs FILE.jsonl[.gz]');
    process.exit(2);
  }
  const lines = (await readLines(file)).map((l) => JSON.parse(l));
  let passed = 0;
  let failed = 0;
  const tally = (where, errs) => {
    if (errs.length) {
      failed++;
      for (const e of errs) report(where, e);
    } else passed++;
  };

  const cfgLine = lines[0];
  if (cfgLine.type !== 'config') throw new Error('first line is not a config record');
  const rec = new Recorder();
  const mem = new Memory();
  const alloc = new BumpAllocator(rec);
  const req = cfgLine.request;
  const stage = cfgLine.fmt === 'ARM_64_LPAE_S2' ? 2 : 1;
  const pgtbl = new ArmLpaeIoPgtable(
    { stage, granule: BigInt(req.granule), ias: req.ias, oas: req.oas, pgsizeBitmap: BigInt(req.pgsize_bitmap), pageSize: 4096n },
    makeHooks(rec, mem, alloc),
  );
  const ops = chunkLogger(pgtbl, rec);

  // config: cfg, geometry and the pgd allocation
  {
    const errs = [];
    const c = cfgLine.cfg;
    const ours = { pgsize_bitmap: pgtbl.cfg.pgsizeBitmap, ias: pgtbl.cfg.ias, oas: pgtbl.cfg.oas };
    if (stage === 1) {
      const s1 = pgtbl.cfg.armLpaeS1Cfg;
      Object.assign(ours, { ttbr: s1.ttbr, tcr: s1.tcr, mair: s1.mair });
    } else {
      const s2 = pgtbl.cfg.armLpaeS2Cfg;
      Object.assign(ours, { vttbr: s2.vttbr, vtcr: s2.vtcr });
    }
    if (JSON.stringify(norm(ours)) !== JSON.stringify(norm(c))) errs.push(`cfg ours ${JSON.stringify(norm(ours))} oracle ${JSON.stringify(norm(c))}`);
    const g = cfgLine.geometry;
    const geo = {
      levels: pgtbl.levels,
      start_level: pgtbl.startLevel,
      bits_per_level: pgtbl.bitsPerLevel,
      pgd_bits: pgtbl.pgdBits,
      granule: Number(pgtbl.granule),
      pgd_size: Number(pgtbl.pgdSize),
      pgd_entries: 1 << pgtbl.pgdBits,
      concatenated: pgtbl.concatenated,
      concat_tables: pgtbl.concatenated ? 1 << (pgtbl.pgdBits - pgtbl.bitsPerLevel) : 1,
    };
    if (JSON.stringify(norm(geo)) !== JSON.stringify(norm(g))) errs.push(`geometry ours ${JSON.stringify(geo)} oracle ${JSON.stringify(g)}`);
    compareEvents(rec, mem, alloc, cfgLine, errs);
    tally('config', errs);
  }

  let finalLine = null;
  for (const line of lines.slice(1)) {
    if (line.type === 'final') {
      finalLine = line;
      break;
    }
    if (line.type !== 'op') continue;
    rec.reset();
    mem.log.clear();
    const where = `op ${line.i} (${line.op}${line.kind ? ' ' + line.kind : ''}${line.mode ? ' ' + line.mode : ''})`;
    if (!line.skipped) {
      const errs = [];
      const iova = BigInt(line.iova);
      const size = BigInt(line.size);
      if (line.op === 'map') {
        const r = iommuMapPages(ops, iova, BigInt(line.paddr), size, line.prot);
        if (r.ret !== line.ret) errs.push(`ret ours ${r.ret} oracle ${line.ret}`);
        if (r.message) errs.push(`unexpected rejection: ${r.message}`);
        if (r.chunks.length !== rec.chunks.length) errs.push(`splitter reported ${r.chunks.length} chunks, ${rec.chunks.length} calls seen`);
      } else {
        const r = iommuUnmapPages(ops, iova, size);
        if (r.unmapped !== BigInt(line.unmapped)) errs.push(`unmapped ours ${hx(r.unmapped)} oracle ${line.unmapped}`);
        if (r.message) errs.push(`unexpected rejection: ${r.message}`);
      }
      compareEvents(rec, mem, alloc, line, errs);
      tally(where, errs);
    }
    for (const p of line.probes ?? []) tally(`${where} probe ${p.iova}`, probeErrors(ops, p));
  }

  if (!finalLine) {
    tally('final', ['no final record']);
  } else {
    const errs = [];
    const theirs = finalLine.tables.map((t) => ({ level: t.level, table: hx(BigInt(t.table)), size: t.size, entries: [...expandRuns(t.entries)].map(([k, v]) => `${k}=${v}`) }));
    const ours = pgtbl.tables().map((t) => ({
      level: t.level,
      table: hx(t.table),
      size: Number(t.size),
      entries: t.entries.map((e) => `${hx(t.table)}:${e.index}=0x0->${hx(e.desc)}`),
    }));
    compareList('', 'tables', ours, theirs, errs);
    const counts = {
      reachable_tables: ours.length,
      live_allocations: alloc.live.size,
      total_allocations: alloc.all.length,
      arena_bytes_used: hx(alloc.next - alloc.start),
    };
    for (const [k, v] of Object.entries(counts)) {
      if (JSON.stringify(norm(v)) !== JSON.stringify(norm(finalLine[k]))) errs.push(`${k} ours ${norm(v)} oracle ${finalLine[k]}`);
    }
    // teardown: free_io_pgtable_ops()
    rec.reset();
    mem.log.clear();
    pgtbl.free();
    compareEvents(rec, mem, alloc, finalLine.teardown, errs);
    if (alloc.live.size !== finalLine.teardown.live_allocations_after) errs.push(`live_allocations_after ours ${alloc.live.size} oracle ${finalLine.teardown.live_allocations_after}`);
    tally('final', errs);
  }

  if (extraMismatches) console.log(`... ${extraMismatches} more mismatches not shown`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

await main();
