// Turning declaration blocks into engine configurations: platform, iommu,
// device and mm. Values are evaluated like any expression; words such as
// `dma-fq` or `arm-smmu-v3` arrive as identifiers.

import type { Bus, DeviceConfig } from '../../engine/device';
import type { DomainPolicy } from '../../engine/iommu/iommu-domain';
import { IOMMU_KINDS, type IommuConfig, type IommuKind } from '../../engine/iommu/iommu-kinds';
import { DEFAULT_PLATFORM, type PlatformConfig } from '../../engine/platform';
import type { DeviceDecl, Expr, IommuDecl, KeyValue, PlatformDecl } from '../ast';
import { RuntimeError } from './runtime-error';
import { truthy, typeName, type Value } from './values';

export type Evaluate = (e: Expr) => Value;

/** A word value (`dma-fq`, `first`, an iommu name) written as an identifier. */
function word(e: Expr, what: string): string {
  if (e.kind === 'ident') return e.name;
  if (e.kind === 'string') return e.value;
  throw new RuntimeError(`${what} must be a name`, e.span);
}

function words(e: Expr, what: string): string[] {
  if (e.kind === 'list') return e.items.map((i) => word(i, what));
  return [word(e, what)];
}

function intOf(v: Value, kv: KeyValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  throw new RuntimeError(`${kv.key.text} must be an integer, got ${typeName(v)}`, kv.value.span);
}

function numOf(v: Value, kv: KeyValue, min: number, max: number): number {
  const n = intOf(v, kv);
  if (n < BigInt(min) || n > BigInt(max)) throw new RuntimeError(`${kv.key.text} = ${n} is out of range (${min}..${max})`, kv.value.span);
  return Number(n);
}

function pow2(v: Value, kv: KeyValue): bigint {
  const n = intOf(v, kv);
  if (n <= 0n || (n & (n - 1n)) !== 0n) throw new RuntimeError(`${kv.key.text} = ${n} must be a power of two`, kv.value.span);
  return n;
}

export function platformFromDecl(decl: PlatformDecl, evaluate: Evaluate): PlatformConfig {
  const p: PlatformConfig = { ...DEFAULT_PLATFORM, memory: [...DEFAULT_PLATFORM.memory] };
  for (const kv of decl.entries) {
    switch (kv.key.text) {
      case 'page_size': {
        const v = intOf(evaluate(kv.value), kv);
        if (v !== 4096n && v !== 16384n && v !== 65536n) throw new RuntimeError(`page_size must be 4K, 16K or 64K, got ${v}`, kv.value.span);
        p.pageSize = v;
        break;
      }
      case 'memory': {
        const ranges = kv.value.kind === 'list' ? kv.value.items : [kv.value];
        p.memory = ranges.map((r) => {
          if (r.kind !== 'range') throw new RuntimeError('memory takes ranges START .. END', r.span);
          const start = evaluate(r.start);
          const end = evaluate(r.end);
          if (typeof start !== 'bigint' || typeof end !== 'bigint' || end <= start) throw new RuntimeError('memory range must be START .. END with END > START', r.span);
          return { start, end };
        });
        p.memory.sort((a, b) => (a.start < b.start ? -1 : 1));
        break;
      }
      case 'cache_line':
        p.cacheLine = Number(pow2(evaluate(kv.value), kv));
        if (p.cacheLine < 16 || p.cacheLine > 4096) throw new RuntimeError('cache_line must be 16..4096', kv.value.span);
        break;
      case 'swiotlb': {
        const v = intOf(evaluate(kv.value), kv);
        if (v !== 0n && (v < 1n << 20n || v > 1n << 34n)) throw new RuntimeError('swiotlb must be 0 or 1M..16G', kv.value.span);
        p.swiotlb = v;
        break;
      }
      case 'swiotlb_force':
        p.swiotlbForce = truthy(evaluate(kv.value));
        break;
      case 'swiotlb_dynamic':
        p.swiotlbDynamic = truthy(evaluate(kv.value));
        break;
      case 'cpus':
        p.cpus = numOf(evaluate(kv.value), kv, 1, 1024);
        break;
      case 'sanitize_cpu_bounds':
      case 'sanitize_dma_bounds':
      case 'sanitize_dma_direct':
      case 'sanitize_stale_iotlb': {
        // A copy: the defaults object is shared by every run.
        const rule = ({ sanitize_cpu_bounds: 'cpuBounds', sanitize_dma_bounds: 'dmaBounds', sanitize_dma_direct: 'dmaDirect', sanitize_stale_iotlb: 'staleIotlb' } as const)[kv.key.text];
        p.sanitize = { ...p.sanitize, [rule]: truthy(evaluate(kv.value)) };
        break;
      }
      default:
        throw new RuntimeError(`unknown platform key ${kv.key.text}`, kv.key.span);
    }
  }
  return p;
}

export function iommuFromDecl(decl: IommuDecl, evaluate: Evaluate): IommuConfig {
  const kind = decl.iommuKind.text as IommuKind;
  if (!IOMMU_KINDS.includes(kind)) throw new RuntimeError(`unknown iommu kind ${decl.iommuKind.text}`, decl.iommuKind.span);
  const cfg: IommuConfig = { name: decl.name.text, kind };
  for (const kv of decl.entries) {
    const key = kv.key.text;
    switch (key) {
      case 'granule':
        cfg.granule = pow2(evaluate(kv.value), kv);
        break;
      case 'pgsizes': {
        const v = evaluate(kv.value);
        if (!Array.isArray(v)) throw new RuntimeError('pgsizes takes a list of page sizes', kv.value.span);
        cfg.pgsizes = v.map((x) => pow2(x, kv));
        break;
      }
      case 'ias':
        cfg.ias = numOf(evaluate(kv.value), kv, 12, 64);
        break;
      case 'oas':
        cfg.oas = numOf(evaluate(kv.value), kv, 12, 64);
        break;
      case 'levels':
        cfg.levels = numOf(evaluate(kv.value), kv, 1, 6);
        break;
      case 'iotlb':
        cfg.iotlb = numOf(evaluate(kv.value), kv, 0, 1 << 20);
        break;
      case 'deferred_flush':
        cfg.deferredFlush = truthy(evaluate(kv.value));
        break;
      case 'pasid_bits':
        cfg.pasidBits = numOf(evaluate(kv.value), kv, 0, 20);
        break;
      case 'coherent_walk':
        cfg.coherentWalk = truthy(evaluate(kv.value));
        break;
      case 'aw': {
        const aw = numOf(evaluate(kv.value), kv, 39, 57);
        if (aw !== 39 && aw !== 48 && aw !== 57) throw new RuntimeError('aw must be 39, 48 or 57', kv.value.span);
        cfg.aw = aw;
        break;
      }
      case 'stage': {
        const s = word(kv.value, 'stage');
        if (s !== 'first' && s !== 'second') throw new RuntimeError('stage must be first or second', kv.value.span);
        cfg.stage = s;
        break;
      }
      case 'sagaw':
        cfg.sagaw = numOf(evaluate(kv.value), kv, 0, 0x1f);
        break;
      case 'fl5lp':
        cfg.fl5lp = truthy(evaluate(kv.value));
        break;
      case 'bounce_size':
        cfg.bounceSize = intOf(evaluate(kv.value), kv);
        break;
      case 'iova_limit':
        cfg.iovaLimit = intOf(evaluate(kv.value), kv);
        break;
      default:
        throw new RuntimeError(`unknown iommu key ${key}`, kv.key.span);
    }
  }
  return cfg;
}

const POLICIES: readonly DomainPolicy[] = ['dma', 'dma-fq', 'identity'];

export function deviceFromDecl(decl: DeviceDecl, evaluate: Evaluate): DeviceConfig {
  const bus = decl.bus.text as Bus;
  if (bus !== 'pci' && bus !== 'platform' && bus !== 'virtio') throw new RuntimeError(`unknown bus ${decl.bus.text} (pci, platform, virtio)`, decl.bus.span);
  const cfg: DeviceConfig = { name: decl.name.text, bus, busId: decl.id.value, iommus: [] };
  for (const kv of decl.entries) {
    const key = kv.key.text;
    switch (key) {
      case 'iommu':
        cfg.iommus = words(kv.value, 'iommu');
        break;
      case 'coherent':
        cfg.coherent = truthy(evaluate(kv.value));
        break;
      case 'untrusted':
        cfg.untrusted = truthy(evaluate(kv.value));
        break;
      case 'dma_mask':
        cfg.dmaMask = numOf(evaluate(kv.value), kv, 12, 64);
        break;
      case 'max_segment_size':
        cfg.maxSegmentSize = intOf(evaluate(kv.value), kv);
        break;
      case 'segment_boundary':
        cfg.segmentBoundary = intOf(evaluate(kv.value), kv);
        break;
      case 'pasid_bits':
        cfg.pasidBits = numOf(evaluate(kv.value), kv, 0, 20);
        break;
      case 'ats':
        cfg.ats = truthy(evaluate(kv.value));
        break;
      case 'pri':
        cfg.pri = truthy(evaluate(kv.value));
        break;
      case 'min_align_mask':
        cfg.minAlignMask = intOf(evaluate(kv.value), kv);
        break;
      case 'default_domain': {
        const ps = words(kv.value, 'default_domain');
        for (const p of ps) if (!POLICIES.includes(p as DomainPolicy)) throw new RuntimeError(`default_domain must be dma, dma-fq or identity, got ${p}`, kv.value.span);
        cfg.defaultDomain = ps as DomainPolicy[];
        break;
      }
      case 'group':
        cfg.group = word(kv.value, 'group');
        break;
      default:
        throw new RuntimeError(`unknown device key ${key}`, kv.key.span);
    }
  }
  return cfg;
}
