// "Convert to scenario": the captured DMA API sequence of one device as a
// .dmas scenario to edit and rerun on the emulator. Buffers sit at the
// captured physical addresses (phys_buffer), each map keeps its offset, size,
// direction and attributes, unmaps and syncs name the handle of the mapping
// they belong to (the emulator allocates its own IOVAs, so captured DMA
// addresses appear only in comments), and each captured IO page fault
// becomes an `expect fault` access at the same place in that mapping.

import type { CaptureEvents } from './event-store';
import type { CaptureEvent, Finding, ImportResult } from './types';
import { devName } from './values';

export interface ScenarioOptions {
  /** The capture's file name, for the header comment. */
  captureName?: string;
  /** At most this many DMA operations are converted (the rest is summarised in a comment). */
  maxOps?: number;
}

export interface ConvertedScenario {
  source: string;
  device: string;
  /** DMA operations written as statements. */
  ops: number;
  /** Events of the device left out, with why (one line each). */
  skipped: string[];
}

export const DEFAULT_MAX_OPS = 20_000;

const DEFAULT_MEMORY: [bigint, bigint] = [0x8000_0000n, 0x2_0000_0000n];
const CHUNK = 0x20_0000n; // memory ranges added for captured buffers are 2 MiB aligned
const PAGE = 0x1000n;

interface Handle {
  name: string;
  /** Expression of the mapping's DMA address in the scenario. */
  expr: string;
  start: bigint;
  end: bigint;
  kind: 'single' | 'coherent' | 'sg';
  line: number;
}

/** The devices a capture has DMA events or faults for, with their event counts. */
export function captureDevices(result: ImportResult, events: CaptureEvents = result.events): { device: string; events: number; faults: number }[] {
  const map = new Map<string, { device: string; events: number; faults: number }>();
  const get = (d: string): { device: string; events: number; faults: number } => {
    let e = map.get(d);
    if (e === undefined) {
      e = { device: d, events: 0, faults: 0 };
      map.set(d, e);
    }
    return e;
  };
  for (let i = 0; i < events.length; i++) {
    const device = events.deviceAt(i);
    if (device !== undefined && events.systemAt(i) === 'dma') get(device).events++;
  }
  // A fault converts to an access only when the capture gives its address.
  for (const f of result.findings) if (f.kind === 'io_page_fault' && typeof f.device === 'string' && typeof f.addr === 'string') get(f.device).faults++;
  return [...map.values()].sort((a, b) => b.events - a.events || a.device.localeCompare(b.device));
}

function hex(v: bigint): string {
  const h = v.toString(16);
  // Underscores every 4 digits from the right, as the examples write addresses.
  return '0x' + h.replace(/\B(?=([0-9a-f]{4})+$)/g, '_');
}

const DIRS: Record<string, string> = { TO_DEVICE: 'DMA_TO_DEVICE', FROM_DEVICE: 'DMA_FROM_DEVICE', BIDIRECTIONAL: 'DMA_BIDIRECTIONAL', NONE: 'DMA_NONE' };
const ATTRS = new Set(['WEAK_ORDERING', 'WRITE_COMBINE', 'NO_KERNEL_MAPPING', 'SKIP_CPU_SYNC', 'FORCE_CONTIGUOUS', 'ALLOC_SINGLE_PAGES', 'NO_WARN', 'PRIVILEGED', 'MMIO']);

function attrsExpr(attrs: unknown): string | undefined {
  if (typeof attrs !== 'string' || attrs === '') return undefined;
  const names = attrs.split('|').filter((a) => ATTRS.has(a));
  return names.length > 0 ? names.map((a) => `DMA_ATTR_${a}`).join(' | ') : undefined;
}

/** The IOMMU a device sat behind, from what printed its faults and whether iommu:* events exist. */
function iommuDecl(result: ImportResult, events: CaptureEvents, device: string): { decl: string; why: string } | undefined {
  const sources = new Set(result.findings.filter((f) => f.kind === 'io_page_fault' && (f.device === device || f.device === undefined)).map((f) => String(f.source)));
  if (sources.has('intel-dmar')) return { decl: 'iommu iommu0 : intel-vtd { aw = 48 }', why: 'VT-d DMAR fault reports' };
  if (sources.has('amd-vi')) return { decl: 'iommu iommu0 : amd-vi { }', why: 'AMD-Vi event log reports' };
  if (sources.has('arm-smmu-v3')) return { decl: 'iommu iommu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }', why: 'SMMUv3 event records' };
  let amdComm = false;
  let iommuEvents = false;
  for (let i = 0; i < events.length && !amdComm; i++) {
    if (events.systemAt(i) === 'iommu') iommuEvents = true;
    if (events.kindAt(i) !== 'io_page_fault') continue;
    const comm = events.at(i).comm;
    amdComm = typeof comm === 'string' && comm.includes('AMD-Vi');
  }
  if (amdComm) return { decl: 'iommu iommu0 : amd-vi { }', why: 'io_page_fault events raised by the AMD-Vi interrupt thread' };
  if (sources.size > 0 || iommuEvents) return { decl: 'iommu iommu0 : generic { granule = 4K; levels = 4; ias = 48 }', why: sources.has('arm-smmu') ? 'arm-smmu context faults (SMMUv2: modelled as a generic 4-level IOMMU)' : 'iommu:* events (the IOMMU model is not named in the capture)' };
  // Otherwise dma-direct; a DMA address that differs from its buffer's went through swiotlb (see the device's dma_mask).
  return undefined;
}

/** Memory ranges: the default RAM plus 2 MiB-aligned ranges covering captured buffers outside it. */
function memoryRanges(buffers: [bigint, bigint][]): [bigint, bigint][] {
  const extra: [bigint, bigint][] = [];
  for (const [s, e] of buffers) {
    if (s >= DEFAULT_MEMORY[0] && e <= DEFAULT_MEMORY[1]) continue;
    extra.push([(s / CHUNK) * CHUNK, ((e + CHUNK - 1n) / CHUNK) * CHUNK]);
  }
  const all = [DEFAULT_MEMORY, ...extra].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const r of all) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r[0] <= last[1]) {
      if (r[1] > last[1]) last[1] = r[1];
    } else merged.push([r[0], r[1]]);
  }
  return merged.filter(([s, e]) => e > s && s > 0n);
}

/**
 * Converts the captured DMA sequence of `device` to a scenario. Throws an
 * Error naming the capture's devices when `device` has nothing to convert.
 */
export function captureToScenario(result: ImportResult, events: CaptureEvents, deviceArg: string, opts: ScenarioOptions = {}): ConvertedScenario {
  const device = devName(deviceArg) ?? deviceArg;
  // The device's events by index: each becomes an object only when its turn comes.
  const mine: number[] = [];
  for (let i = 0; i < events.length; i++) if (events.deviceAt(i) === device && events.systemAt(i) === 'dma') mine.push(i);
  const faults = result.findings.filter((f): f is Finding & { addr: string } => f.kind === 'io_page_fault' && f.device === device && typeof f.addr === 'string');
  if (mine.length === 0 && faults.length === 0) {
    const known = captureDevices(result, events).map((d) => `${d.device} (${d.events} events, ${d.faults} faults)`);
    throw new Error(`no DMA events or faults of device ${device} in the capture${known.length > 0 ? `; devices: ${known.join(', ')}` : ' (it has none of any device)'}`);
  }
  const maxOps = opts.maxOps ?? DEFAULT_MAX_OPS;
  const skipped: string[] = [];
  const body: string[] = [];
  const buffers: [bigint, bigint][] = [];
  const live = new Map<string, Handle[]>();
  const sgLive = new Map<string, Handle[]>();
  const dead: Handle[] = [];
  let ops = 0;
  let bounced = false;

  // Faults and events in line order.
  type Item = { line: number; ev?: number; fault?: Finding & { addr: string } };
  const items: Item[] = [...mine.map((ev) => ({ line: events.lineAt(ev), ev })), ...faults.map((fault) => ({ line: fault.line, fault }))].sort((a, b) => a.line - b.line);

  const findLive = (addr: bigint): { h: Handle; off: bigint } | undefined => {
    for (const list of live.values()) for (const h of list) if (h.start <= addr && addr < h.end) return { h, off: addr - h.start };
    return undefined;
  };
  /** A live mapping holding addr, else the last unmapped one that held it (its handle still names the old IOVA). */
  const findHandle = (addr: bigint): { h: Handle; off: bigint } | undefined => {
    const l = findLive(addr);
    if (l !== undefined) return l;
    for (let i = dead.length - 1; i >= 0; i--) if (dead[i].start <= addr && addr < dead[i].end) return { h: dead[i], off: addr - dead[i].start };
    return undefined;
  };
  const at = (h: Handle, off: bigint): string => (off === 0n ? h.expr : `${h.expr} + ${hex(off)}`);
  const retire = (h: Handle): void => {
    dead.push(h);
    if (dead.length > 256) dead.shift();
  };

  let stoppedAt: number | undefined;
  for (const it of items) {
    if (ops >= maxOps) {
      stoppedAt = it.line;
      break;
    }
    if (it.fault !== undefined) {
      const f = it.fault;
      const addr = BigInt(f.addr);
      const where = findHandle(addr);
      const target = where ? at(where.h, where.off) : hex(addr);
      const access = f.access === 'write' ? `dev_write(dev0, ${target}, 4)` : `dev_read(dev0, ${target}, 4)`;
      body.push(`# line ${f.line}: ${String(f.source ?? 'fault')} ${f.access ?? ''} fault at ${f.addr}${where ? ` (in the mapping of line ${where.h.line})` : ''}: ${String(f.reason ?? '')}`.trimEnd());
      body.push(`expect fault ${access}`);
      ops++;
      continue;
    }
    const ev: CaptureEvent = events.at(it.ev as number);
    const dir = typeof ev.dir === 'string' ? DIRS[ev.dir] : undefined;
    const comment = `# line ${ev.line}: ${ev.kind}${ev.addr !== undefined ? ` dma_addr=${ev.addr}` : ''}${ev.size !== undefined ? ` size=${ev.size}` : ''}${typeof ev.dir === 'string' ? ` ${ev.dir}` : ''}`;
    switch (ev.kind) {
      case 'dma_map_phys':
      case 'dma_map_page':
      case 'dma_map_resource': {
        if (typeof ev.phys_addr !== 'string' || ev.addr === undefined || ev.size === undefined || dir === undefined) {
          skipped.push(`line ${ev.line}: ${ev.kind} without phys_addr, size or direction`);
          break;
        }
        const phys = BigInt(ev.phys_addr);
        const page = (phys / PAGE) * PAGE;
        const off = phys - page;
        const len = ((off + BigInt(Math.max(ev.size, 1)) + PAGE - 1n) / PAGE) * PAGE;
        buffers.push([page, page + len]);
        if (ev.addr !== ev.phys_addr) bounced = true;
        const name = `h${ev.line}`;
        const attrs = attrsExpr(ev.attrs);
        body.push(comment + ` phys_addr=${ev.phys_addr}`);
        body.push(`b${ev.line} = phys_buffer(${hex(page)}, ${hex(len)})`);
        body.push(`${name} = dma_map_page(dev0, b${ev.line}, ${hex(off)}, ${ev.size}, ${dir}${attrs ? `, ${attrs}` : ''})`);
        const start = BigInt(ev.addr);
        const h: Handle = { name, expr: name, start, end: start + BigInt(Math.max(ev.size, 1)), kind: 'single', line: ev.line };
        push(live, ev.addr, h);
        ops++;
        break;
      }
      case 'dma_alloc':
      case 'dma_alloc_pages': {
        if (ev.addr === undefined || ev.size === undefined || ev.addr === '0x0') {
          skipped.push(`line ${ev.line}: ${ev.kind} that failed or has no size`);
          break;
        }
        const name = `c${ev.line}`;
        body.push(comment);
        body.push(`${name} = dma_alloc_coherent(dev0, ${ev.size})`);
        const start = BigInt(ev.addr);
        push(live, ev.addr, { name, expr: `${name}.dma`, start, end: start + BigInt(Math.max(ev.size, 1)), kind: 'coherent', line: ev.line });
        ops++;
        break;
      }
      case 'dma_unmap_phys':
      case 'dma_unmap_page':
      case 'dma_unmap_resource':
      case 'dma_free':
      case 'dma_free_pages': {
        const h = ev.addr !== undefined ? pop(live, ev.addr, ev.kind.startsWith('dma_free') ? 'coherent' : 'single') : undefined;
        if (h === undefined || ev.size === undefined) {
          body.push(`${comment}: mapped before the capture began (left out)`);
          skipped.push(`line ${ev.line}: ${ev.kind} of ${ev.addr ?? '?'} with no map in the capture`);
          break;
        }
        body.push(comment);
        if (h.kind === 'coherent') body.push(`dma_free_coherent(dev0, ${ev.size}, ${h.name})`);
        else body.push(`dma_unmap_page(dev0, ${h.name}, ${ev.size}, ${dir ?? 'DMA_BIDIRECTIONAL'})`);
        retire(h);
        ops++;
        break;
      }
      case 'dma_map_sg': {
        const phys = Array.isArray(ev.phys_addrs) ? (ev.phys_addrs as string[]) : [];
        const dmas = Array.isArray(ev.dma_addrs) ? (ev.dma_addrs as string[]) : [];
        const sizes = Array.isArray(ev.sizes) ? (ev.sizes as number[]) : [];
        if (phys.length === 0 || dir === undefined) {
          skipped.push(`line ${ev.line}: dma_map_sg without phys_addrs or direction`);
          break;
        }
        // The trace gives the input segments' phys addresses and the mapped segments' lengths:
        // when the counts agree each segment gets its length, else one page each.
        const lens = phys.map((_, i) => (phys.length === sizes.length ? BigInt(Math.max(sizes[i], 1)) : PAGE));
        const entries: string[] = [];
        phys.forEach((p, i) => {
          const pa = BigInt(p);
          const page = (pa / PAGE) * PAGE;
          const off = pa - page;
          const len = ((off + lens[i] + PAGE - 1n) / PAGE) * PAGE;
          buffers.push([page, page + len]);
          body.push(`sb${ev.line}_${i} = phys_buffer(${hex(page)}, ${hex(len)})`);
          entries.push(`sb${ev.line}_${i} + ${hex(off)} : ${hex(lens[i])}`);
        });
        body.splice(body.length - phys.length, 0, comment + ` ${phys.length} segment(s)`);
        const name = `sg${ev.line}`;
        body.push(`${name} = sg_table(${entries.join(', ')})`);
        body.push(`n${ev.line} = dma_map_sg(dev0, ${name}, ${dir})`);
        const handles: Handle[] = dmas.map((d, i) => {
          const start = BigInt(d);
          return { name, expr: `${name}[${i}].dma_address`, start, end: start + BigInt(Math.max(sizes[i] ?? 1, 1)), kind: 'sg' as const, line: ev.line };
        });
        for (const h of handles) push(live, '0x' + h.start.toString(16), h);
        const key = phys.join(',');
        const list = sgLive.get(key) ?? [];
        list.push({ name, expr: name, start: 0n, end: 0n, kind: 'sg', line: ev.line });
        sgLive.set(key, list);
        ops++;
        break;
      }
      case 'dma_unmap_sg': {
        const phys = Array.isArray(ev.phys_addrs) ? (ev.phys_addrs as string[]) : [];
        const list = sgLive.get(phys.join(','));
        const h = list?.shift();
        if (h === undefined) {
          body.push(`${comment}: its dma_map_sg came before the capture began (left out)`);
          skipped.push(`line ${ev.line}: dma_unmap_sg with no dma_map_sg in the capture`);
          break;
        }
        body.push(comment);
        body.push(`dma_unmap_sg(dev0, ${h.name}, ${dir ?? 'DMA_BIDIRECTIONAL'})`);
        for (const [k, hs] of live) {
          const rest = hs.filter((x) => x.name !== h.name);
          for (const x of hs) if (x.name === h.name) retire(x);
          if (rest.length === 0) live.delete(k);
          else live.set(k, rest);
        }
        ops++;
        break;
      }
      case 'dma_sync_single_for_cpu':
      case 'dma_sync_single_for_device': {
        if (ev.addr === undefined || ev.size === undefined) break;
        const where = findLive(BigInt(ev.addr));
        if (where === undefined) {
          body.push(`${comment}: no mapping of the capture holds it (left out)`);
          skipped.push(`line ${ev.line}: ${ev.kind} of ${ev.addr} outside any captured mapping`);
          break;
        }
        body.push(comment);
        body.push(`${ev.kind}(dev0, ${at(where.h, where.off)}, ${ev.size}, ${dir ?? 'DMA_BIDIRECTIONAL'})`);
        ops++;
        break;
      }
      default:
        skipped.push(`line ${ev.line}: ${ev.kind} (not a DMA API call the scenario language has)`);
    }
  }

  const iommu = iommuDecl(result, events, device);
  const isPci = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(device);
  const mask = iommu === undefined && bounced ? 32 : 64;
  const keys = [iommu ? 'iommu = iommu0' : undefined, isPci ? 'coherent = true' : undefined, `dma_mask = ${mask}`, iommu ? 'default_domain = dma' : undefined].filter((k) => k !== undefined);
  const mem = memoryRanges(buffers).map(([s, e]) => `${hex(s)} .. ${hex(e)}`);
  const head = [
    `# Converted from ${opts.captureName ?? 'a kernel capture'} by dmascope import --to-scenario ${device}:`,
    `# ${ops} DMA operation(s) of ${device}, captured lines ${items[0]?.line ?? 0}..${items[items.length - 1]?.line ?? 0}.`,
    '# The emulator allocates its own IOVAs: captured DMA addresses are in the comments,',
    '# and unmaps, syncs and faults name the handle of the mapping they belong to.',
    `platform { page_size = 4K; memory = ${mem.length === 1 ? mem[0] : `[${mem.join(', ')}]`}; swiotlb = 64M }`,
  ];
  if (iommu) head.push(`${iommu.decl}   # from the ${iommu.why}`);
  else head.push('# No IOMMU: the capture shows none for this device (dma-direct).');
  head.push(`device dev0 : ${isPci ? 'pci' : 'platform'} "${device}" { ${keys.join('; ')} }`);
  head.push('');
  const tail: string[] = [];
  if (stoppedAt !== undefined) tail.push(`# Stopped at line ${stoppedAt}: at most ${maxOps} operations are converted; ${items.filter((i) => i.line >= stoppedAt).length} more left out.`);
  return { source: [...head, ...body, ...tail, ''].join('\n'), device, ops, skipped };
}

function push(map: Map<string, Handle[]>, key: string, h: Handle): void {
  const list = map.get(key);
  if (list) list.push(h);
  else map.set(key, [h]);
}

function pop(map: Map<string, Handle[]>, key: string, kind: Handle['kind']): Handle | undefined {
  const list = map.get(key);
  if (list === undefined) return undefined;
  let i = list.findIndex((h) => h.kind === kind);
  if (i < 0) i = 0;
  const [h] = list.splice(i, 1);
  if (list.length === 0) map.delete(key);
  return h;
}
