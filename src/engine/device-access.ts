// The device side: a DMA read or write is translated through the device's
// IOMMU path (IOTLB first, then a page-table walk), checked against the
// permissions, and then touches memory through the cache rules of the
// device's coherency - or raises an IO page fault.

import type { EngineCtx } from './context';
import type { Device } from './device';
import type { MappingRecords } from './dma-mapping/mapping-records';
import { iovaUnsyncedAccess } from './dma-mapping/dma-iova';
import type { IommuDomain } from './iommu/iommu-domain';
import { iommuNestedIovaToPhys, iommuNestedWalk, nestedFaultText } from './iommu/iommu-nested';
import { iommuSvaTranslate } from './iommu/iommu-sva';
import type { DescriptorFetch, WalkFaultReason, WalkResult, WalkStep } from './io-pgtable/types';
import type { AccessKind } from './trace/recorder';
import { hex } from './u64';
import { SANITIZER_CHECK, sanitizeDeviceAccess } from './sanitizer';
import { DEVICE_ACCESS, PROBE, type TranslationEffects } from './translation-effects';

export interface Translation {
  phys?: bigint;
  fault?: string;
  iotlbHit: boolean;
  /** Memory accesses the translation made (descriptor reads, nested included). */
  accesses: number;
  steps: WalkStep[];
  /** The domain that translated (or faulted), per IOMMU of the path. */
  domains: string[];
  /** The IOTLB hit came from an entry the page table no longer backs (flush queue pending). */
  staleIotlb: boolean;
  /**
   * Where the translation failed: the IOMMU, the stage (2 = a nest parent's
   * stage 2; on a chain the MMU's position, 1 = nearest the device) and the
   * level (-1 for a permission fault on an IOTLB hit).
   */
  faultAt?: { iommu: string; stage: number; level: number; reason: WalkFaultReason };
}

function domainFor(dev: Device, index: number, pasid: number | null): { domain: IommuDomain | null; why?: string } {
  const entry = dev.path[index];
  if (pasid === null) return { domain: entry.group.domain, why: entry.group.domain ? undefined : 'no domain attached' };
  if (dev.maxPasids === 0 || pasid >= dev.maxPasids) return { domain: null, why: `PASID ${pasid} is beyond the device's ${dev.pasidBits} PASID bits` };
  const att = entry.group.pasidArray.get(pasid);
  if (!att) return { domain: null, why: `no domain attached to PASID ${pasid} (blocked)` };
  return { domain: att.domain };
}

function walkFault(walk: WalkResult): string {
  const f = walk.fault;
  if (!f) return 'translation fault';
  const stage = f.stage > 1 ? `stage-${f.stage} ` : '';
  if (f.reason === 'address-size') return `${stage}address size fault at level ${f.level} (input address outside the table's range)`;
  if (f.reason === 'permission') return `${stage}permission fault at level ${f.level}`;
  return `${stage}translation fault at level ${f.level} (no valid descriptor)`;
}

/** Translate one DMA address for a device's access: the IOTLB used and filled, misses heard by the trace, SVA pages faulted in. */
export function translateDma(ctx: EngineCtx, dev: Device, addr: bigint, pasid: number | null, access: AccessKind): Translation {
  return translateWith(ctx, dev, addr, pasid, access, DEVICE_ACCESS);
}

/**
 * The translation a device access would get now, with no side effect (the
 * IOTLB peeked, nothing counted, filled, traced or faulted in); `access` adds
 * the permission check of a read or a write.
 */
export function probeDma(ctx: EngineCtx, dev: Device, addr: bigint, pasid: number | null, access: AccessKind | null = null): Translation {
  return translateWith(ctx, dev, addr, pasid, access, PROBE);
}

function translateWith(ctx: EngineCtx, dev: Device, addr: bigint, pasid: number | null, access: AccessKind | null, effects: TranslationEffects): Translation {
  const t: Translation = { iotlbHit: false, accesses: 0, steps: [], domains: [], staleIotlb: false };
  if (dev.path.length === 0) {
    if (addr > dev.dmaMask) t.fault = `address ${hex(addr)} is above the device's ${dev.dmaMaskBits}-bit DMA mask`;
    else t.phys = addr;
    return t;
  }
  translateFrom(ctx, dev, 0, addr, pasid, access, effects, t);
  return t;
}

/** What a leaf grants, and which stage and level said so (for the fault message). */
interface Grant {
  read: boolean;
  write: boolean;
  /** Stage that refuses each kind of access, with the level of its leaf. */
  denyRead?: { stage: number; level: number; what: string };
  denyWrite?: { stage: number; level: number; what: string };
}

/** A descriptor fetch that failed in the IOMMUs after the walking MMU. */
interface FetchFailure {
  descAddr: bigint;
  level: number;
  why: string;
  /** Where upstream it failed. */
  at?: Translation['faultAt'];
}

/**
 * A chained MMU's table read: the descriptor address is a DMA address of the
 * IOMMUs after it, translated through them (their IOTLBs and walks) like any
 * other read, and recorded as the step's nested sub-walk.
 */
function upstreamFetch(ctx: EngineCtx, dev: Device, next: number, effects: TranslationEffects, failure: { at?: FetchFailure }): DescriptorFetch {
  return (descAddr, level) => {
    const u: Translation = { iotlbHit: false, accesses: 0, steps: [], domains: [], staleIotlb: false };
    translateFrom(ctx, dev, next, descAddr, null, 'read', effects, u);
    const sub: WalkResult = { steps: u.steps, accesses: u.accesses };
    if (u.phys === undefined) {
      failure.at = { descAddr, level, why: u.fault ?? 'fault', at: u.faultAt };
      sub.fault = { level: u.faultAt?.level ?? 0, reason: u.faultAt?.reason ?? 'translation', stage: u.faultAt?.stage ?? next + 1 };
      return { fault: sub };
    }
    sub.phys = u.phys;
    return u.steps.length > 0 ? { value: ctx.mem.readU64(u.phys), nested: sub } : { value: ctx.mem.readU64(u.phys) };
  };
}

/** Translate `addr` as it enters path[start] through the rest of the path, adding to `t`. */
function translateFrom(ctx: EngineCtx, dev: Device, start: number, addr: bigint, pasid: number | null, access: AccessKind | null, effects: TranslationEffects, t: Translation): void {
  const chained = dev.path.length > 1;
  let cur = addr;
  for (let i = start; i < dev.path.length; i++) {
    const { iommu } = dev.path[i];
    const { domain, why } = domainFor(dev, i, i === 0 ? pasid : null);
    if (!domain) {
      t.fault = `${iommu.name}: ${why ?? 'no domain'}`;
      return;
    }
    t.domains.push(domain.label);
    if (domain.type === 'identity') continue;
    // SVA: the bound mm's CPU page table, with recoverable page faults on a miss (iommu-sva.ts).
    if (domain.type === 'sva') {
      const s = iommuSvaTranslate(ctx, dev, domain, cur, pasid, access, effects);
      t.iotlbHit ||= s.iotlbHit;
      t.accesses += s.accesses;
      t.steps.push(...s.steps);
      if (s.phys === undefined) {
        t.fault = s.fault;
        return;
      }
      cur = s.phys;
      continue;
    }
    if (domain.type === 'blocked' || !domain.ops) {
      t.fault = `${iommu.name}: ${domain.label} is a blocking domain`;
      return;
    }
    // Two-step IOVA API: a dma_iova_link() range dma_iova_sync() has not published yet is
    // reported, and faults on IOMMUs whose new mappings need iotlb_sync_map (dma-iova.ts).
    const unsynced = iovaUnsyncedAccess(effects.heardBy(ctx.trace), dev, domain, cur);
    if (unsynced !== undefined) {
      t.fault = unsynced;
      return;
    }
    // Only the device's own requests carry a PASID; the IOMMUs after the first see plain requests.
    const tag = i === 0 ? pasid ?? 0 : 0;
    const hit = effects.iotlbLookup(iommu.iotlb, domain.id, tag, cur);
    const nested = domain.type === 'nested';
    const stage = chained ? i + 1 : 1;
    let phys: bigint;
    let grant: Grant;
    if (hit) {
      t.iotlbHit = true;
      effects.iotlbHit(iommu.iotlb);
      phys = hit.phys + (cur & (iommu.iotlb.granule - 1n));
      grant = { read: hit.read, write: hit.write };
      // A nested entry is stale once either stage stopped mapping it.
      if ((nested ? iommuNestedIovaToPhys(domain, cur) : domain.ops.iovaToPhys(cur)) === 0n) t.staleIotlb = true;
    } else {
      effects.iotlbMiss(iommu.iotlb);
      effects.heardBy(ctx.trace)?.emit('engine:iotlb_miss', { iommu: iommu.name, device: dev.busId, iova: cur, ...(pasid !== null && i === 0 ? { pasid } : {}) });
      const g = iommu.iotlb.granule;
      if (nested) {
        // Two stages: every stage-1 descriptor read goes through stage 2, then the final IPA does.
        const w = iommuNestedWalk(ctx, domain, cur);
        t.accesses += w.accesses;
        t.steps.push(...w.steps);
        if (w.phys === undefined || !w.s1 || !w.s2) {
          const f = w.fault ?? { stage: 1, level: 0, reason: 'translation' as const };
          t.fault = `${iommu.name}: ${nestedFaultText(f)} for ${hex(cur)}`;
          t.faultAt = { iommu: iommu.name, stage: f.stage, level: f.level, reason: f.reason };
          return;
        }
        phys = w.phys;
        grant = nestedGrant(w.s1, w.s2, w.ipa ?? 0n);
        // The IOTLB holds the combined IOVA->PA translation, tagged by the nested domain and its parent (VMID).
        if (w.s1.pageSize >= g && w.s2.pageSize >= g) {
          effects.iotlbFill(iommu.iotlb, { domainId: domain.id, pasid: tag, iova: cur & ~(g - 1n), phys: phys & ~(g - 1n), read: grant.read, write: grant.write, s2DomainId: domain.parent?.id });
        }
      } else {
        // A chained MMU's own table reads go through the IOMMUs after it.
        const failure: { at?: FetchFailure } | null = i + 1 < dev.path.length ? {} : null;
        const walk = failure ? domain.ops.walk(cur, upstreamFetch(ctx, dev, i + 1, effects, failure)) : domain.ops.walk(cur);
        t.accesses += walk.accesses;
        for (const s of walk.steps) t.steps.push(chained ? { ...s, stage } : s);
        if (walk.phys === undefined) {
          const f = failure?.at;
          t.fault = f
            ? `${iommu.name}: its level-${f.level} table read at ${hex(f.descAddr)} failed upstream (${f.why}) for ${hex(cur)}`
            : `${iommu.name}: ${walkFault(walk)} for ${hex(cur)}`;
          t.faultAt = f?.at ?? { iommu: iommu.name, stage: chained ? stage : walk.fault?.stage ?? 1, level: walk.fault?.level ?? 0, reason: walk.fault?.reason ?? 'translation' };
          return;
        }
        phys = walk.phys;
        grant = { read: walk.read ?? true, write: walk.write ?? true };
        const leaf = { stage: chained ? stage : walk.steps[walk.steps.length - 1]?.stage ?? 1, level: walk.leafLevel ?? 0 };
        if (!grant.read) grant.denyRead = { ...leaf, what: 'mapped without read access' };
        if (!grant.write) grant.denyWrite = { ...leaf, what: 'mapped read-only' };
        effects.iotlbFill(iommu.iotlb, { domainId: domain.id, pasid: tag, iova: cur & ~(g - 1n), phys: phys & ~(g - 1n), read: grant.read, write: grant.write });
      }
    }
    if (access === 'read' && !grant.read) {
      const d = grant.denyRead;
      t.fault = d && nested
        ? `${iommu.name}: stage-${d.stage} permission fault at level ${d.level}: read of ${hex(cur)} ${d.what}`
        : `${iommu.name}: permission fault: read of ${hex(cur)} which is mapped without read access`;
      t.faultAt = { iommu: iommu.name, stage: d?.stage ?? stage, level: d?.level ?? -1, reason: 'permission' };
      return;
    }
    if (access === 'write' && !grant.write) {
      const d = grant.denyWrite;
      t.fault = d && nested
        ? `${iommu.name}: stage-${d.stage} permission fault at level ${d.level}: write to ${hex(cur)} ${d.what}`
        : `${iommu.name}: permission fault: write to ${hex(cur)} which is mapped read-only`;
      t.faultAt = { iommu: iommu.name, stage: d?.stage ?? stage, level: d?.level ?? -1, reason: 'permission' };
      return;
    }
    cur = phys;
  }
  t.phys = cur;
}

/** Both stages must grant an access; the first that refuses is the one the fault names. */
function nestedGrant(s1: { read: boolean; write: boolean; level: number }, s2: { read: boolean; write: boolean; level: number }, ipa: bigint): Grant {
  const g: Grant = { read: s1.read && s2.read, write: s1.write && s2.write };
  if (!s1.read) g.denyRead = { stage: 1, level: s1.level, what: 'which the guest\'s stage 1 maps without read access' };
  else if (!s2.read) g.denyRead = { stage: 2, level: s2.level, what: `whose IPA ${hex(ipa)} stage 2 maps without read access` };
  if (!s1.write) g.denyWrite = { stage: 1, level: s1.level, what: 'which the guest\'s stage 1 maps read-only' };
  else if (!s2.write) g.denyWrite = { stage: 2, level: s2.level, what: `whose IPA ${hex(ipa)} stage 2 maps read-only` };
  return g;
}

function reportFault(ctx: EngineCtx, dev: Device, addr: bigint, access: AccessKind, pasid: number | null, reason: string): void {
  const driver = dev.path[0]?.iommu.traits.driver ?? 'dma-direct';
  ctx.trace.emit('iommu:io_page_fault', { driver, device: dev.busId, iova: hex(addr), flags: access === 'write' ? '0x0001' : '0x0000' });
  ctx.trace.fault(dev.name, addr, access, pasid, reason);
  const rw = access === 'write' ? 'DMA Write' : 'DMA Read';
  const p = pasid === null ? 'NO_PASID' : `PASID 0x${pasid.toString(16)}`;
  ctx.trace.printk(`${driver}: [${rw} ${p}] Request device [${dev.busId}] fault addr ${hex(addr)}: ${reason}`);
}

/** Chunks of [addr, addr+len) that stay within one smallest page, so each is translated once. */
function chunks(addr: bigint, len: number, page: bigint): { addr: bigint; len: number; off: number }[] {
  const out: { addr: bigint; len: number; off: number }[] = [];
  let off = 0;
  while (off < len) {
    const a = addr + BigInt(off);
    const room = Number(page - (a & (page - 1n)));
    const n = Math.min(room, len - off);
    out.push({ addr: a, len: n, off });
    off += n;
  }
  return out;
}

function accessGranule(dev: Device): bigint {
  return dev.path.length > 0 ? dev.path.map((p) => p.iommu.granule).reduce((a, b) => (a < b ? a : b)) : 4096n;
}

/** The sanitizer's stale-IOTLB rule: an access through an entry a deferred (flush-queue) unmap left behind, naming that unmap. */
/**
 * Why an access at `addr` went through a stale IOTLB entry, as the finding
 * words it after "used IOVA ...": the DMA API unmap whose invalidation waits
 * in the flush queue, or a table edited without any invalidation (iommu_map
 * users, a guest's stage-1 table). The walk panel labels a stale hit with it.
 */
export function staleIotlbCause(mappings: MappingRecords, addr: bigint): { text: string; unmapLine: number | undefined } {
  const rec = mappings.findByDma(addr);
  const unmapped = rec !== undefined && !rec.live;
  const unmap = unmapped && rec.endLine !== undefined ? ` at line ${rec.endLine} (mapped at line ${rec.line})` : '';
  return {
    text: unmapped
      ? `after it was unmapped${unmap}: a stale IOTLB entry still translates it until the flush queue is flushed`
      : 'through a stale IOTLB entry: the page table no longer translates it this way, and no invalidation has reached the IOTLB since it changed',
    unmapLine: rec?.endLine,
  };
}

function checkStaleIotlb(ctx: EngineCtx, dev: Device, addr: bigint, len: number, t: Translation): void {
  if (!t.staleIotlb || !ctx.platform.sanitize.staleIotlb) return;
  const cause = staleIotlbCause(ctx.mappings, addr);
  ctx.trace.check(
    SANITIZER_CHECK.staleIotlb,
    'error',
    `dmascope: ${dev.busId} used IOVA ${hex(addr)} ${cause.text}`,
    cause.unmapLine,
    t.phys !== undefined ? { phys: t.phys, len: BigInt(len), device: dev.busId, iova: addr } : undefined,
  );
}

function checkRam(ctx: EngineCtx, dev: Device, addr: bigint, phys: bigint, len: number, access: AccessKind, pasid: number | null): boolean {
  if (ctx.mem.isRam(phys, BigInt(len))) return true;
  reportFault(ctx, dev, addr, access, pasid, `no memory at physical address ${hex(phys)} (bus error)`);
  return false;
}

/** dev_read: the device reads `len` bytes at DMA address `addr`. Faulting bytes read as 0xff (a PCIe error completion). */
export function devRead(ctx: EngineCtx, dev: Device, addr: bigint, len: number, pasid: number | null): { bytes: Uint8Array; faulted: boolean } {
  return ctx.trace.call('device_read', { device: dev.busId, addr: hex(addr), len, ...(pasid !== null ? { pasid } : {}) }, () => {
    const out = new Uint8Array(len).fill(0xff);
    for (const c of chunks(addr, len, accessGranule(dev))) {
      const t = translateDma(ctx, dev, c.addr, pasid, 'read');
      if (t.phys === undefined) {
        reportFault(ctx, dev, c.addr, 'read', pasid, t.fault ?? 'fault');
        return { bytes: out, faulted: true };
      }
      checkStaleIotlb(ctx, dev, c.addr, c.len, t);
      if (!checkRam(ctx, dev, c.addr, t.phys, c.len, 'read', pasid)) return { bytes: out, faulted: true };
      if (!t.staleIotlb) sanitizeDeviceAccess(ctx, dev, c.addr, c.len, t.phys, 'read', pasid);
      const r = ctx.cache.deviceRead(t.phys, c.len, dev.coherent);
      if (r.staleLines.length > 0) {
        ctx.trace.check(
          'stale-device-read',
          'error',
          `${dev.busId} read stale data at ${hex(t.phys)}: the CPU cache holds newer data (dirty line ${hex(r.staleLines[0])}) that was not cleaned before the device access; a dma_sync_single_for_device is missing`,
        );
      }
      out.set(r.bytes, c.off);
    }
    return { bytes: out, faulted: false };
  });
}

/** dev_write: the device writes `bytes` at DMA address `addr`. */
export function devWrite(ctx: EngineCtx, dev: Device, addr: bigint, bytes: Uint8Array, pasid: number | null): { faulted: boolean } {
  return ctx.trace.call('device_write', { device: dev.busId, addr: hex(addr), len: bytes.length, ...(pasid !== null ? { pasid } : {}) }, () => {
    for (const c of chunks(addr, bytes.length, accessGranule(dev))) {
      const t = translateDma(ctx, dev, c.addr, pasid, 'write');
      if (t.phys === undefined) {
        reportFault(ctx, dev, c.addr, 'write', pasid, t.fault ?? 'fault');
        return { faulted: true };
      }
      checkStaleIotlb(ctx, dev, c.addr, c.len, t);
      if (!checkRam(ctx, dev, c.addr, t.phys, c.len, 'write', pasid)) return { faulted: true };
      if (!t.staleIotlb) sanitizeDeviceAccess(ctx, dev, c.addr, c.len, t.phys, 'write', pasid);
      ctx.cache.deviceWrite(t.phys, bytes.subarray(c.off, c.off + c.len), dev.coherent);
    }
    return { faulted: false };
  });
}
