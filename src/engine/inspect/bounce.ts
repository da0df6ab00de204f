// Where a bounced mapping's two copies disagree: the bounce buffer (a swiotlb
// slot, or VDUSE's bounce pages) against the original buffer, byte by byte,
// bounded. The bounce panel shows these; a TO_DEVICE mapping whose original
// changed after the map, or a FROM_DEVICE one the device wrote before the
// sync for the CPU, is exactly where they differ. Read-only.

import { dirName } from '../dma-mapping/dma-direction';
import type { Machine } from '../machine';
import { hex } from '../u64';
import { BOUNCE_MAP_SHIFT, BOUNCE_MAP_SIZE, vduseDomainOf, vduseDomainView } from '../vduse/vduse-iova-domain';
import type { Hex } from './types';

/** Bytes compared per mapping at most (the view stays cheap on a 256 KiB slot run). */
export const BOUNCE_DIFF_MAX_BYTES = 1 << 20;
/** Differing bytes listed per mapping at most (the count covers all of them). */
export const BOUNCE_DIFF_MAX_LISTED = 64;

export interface BounceByteDiff {
  /** Offset in the mapping. */
  offset: number;
  /** The byte in the bounce buffer (what the device sees). */
  bounce: number;
  /** The byte in the original buffer, as the CPU reads it. */
  orig: number;
}

export interface BounceDiffView {
  via: 'swiotlb' | 'vduse';
  device: string;
  dma: Hex;
  size: Hex;
  dir: string;
  /** The original buffer. */
  orig: Hex;
  /** The first bounce byte (VDUSE: of the first page; later pages may sit elsewhere). */
  bounce: Hex;
  line: number;
  /** Bytes compared (the mapping, up to BOUNCE_DIFF_MAX_BYTES). */
  compared: number;
  /** Bytes of those that differ. */
  differing: number;
  /** The first BOUNCE_DIFF_MAX_LISTED differing bytes. */
  diffs: BounceByteDiff[];
  /** A VDUSE page had no bounce page or no orig_phys: compared up to there. */
  unreachable: boolean;
}

function compare(bounce: Uint8Array, orig: Uint8Array, base: number, out: BounceDiffView): void {
  for (let i = 0; i < bounce.length; i++) {
    if (bounce[i] === orig[i]) continue;
    out.differing++;
    if (out.diffs.length < BOUNCE_DIFF_MAX_LISTED) out.diffs.push({ offset: base + i, bounce: bounce[i], orig: orig[i] });
  }
  out.compared += bounce.length;
}

/** Every live bounced mapping with the bytes its bounce buffer and original disagree on. */
export function inspectBounceDiffs(m: Machine): BounceDiffView[] {
  const out: BounceDiffView[] = [];
  // VDUSE bounce addresses per 4K map, per VDUSE domain, built on first use.
  const vduseMaps = new Map<string, Map<number, bigint | null>>();
  for (const r of m.mappings.live.values()) {
    if (r.bounce === null) continue;
    const dev = m.devices.get(r.device);
    const vd = dev ? vduseDomainOf(dev) : null;
    const len = Number(r.size < BigInt(BOUNCE_DIFF_MAX_BYTES) ? r.size : BigInt(BOUNCE_DIFF_MAX_BYTES));
    const v: BounceDiffView = {
      via: vd ? 'vduse' : 'swiotlb', device: r.device, dma: hex(r.dma), size: hex(r.size), dir: dirName(r.dir), orig: hex(r.phys), bounce: hex(r.bounce), line: r.line,
      compared: 0, differing: 0, diffs: [], unreachable: false,
    };
    if (!vd) {
      compare(m.mem.read(r.bounce, len), m.cache.cpuReadNoAlloc(r.phys, len), 0, v);
    } else {
      let maps = vduseMaps.get(vd.name);
      if (!maps) {
        maps = new Map(vduseDomainView(vd).bounceMaps.map((b) => [b.index, b.bounceAddr]));
        vduseMaps.set(vd.name, maps);
      }
      // Page by page: each 4K of the IOVA has its own bounce page.
      let done = 0;
      while (done < len) {
        const iova = r.dma + BigInt(done);
        const inMap = Number(iova & (BOUNCE_MAP_SIZE - 1n));
        const chunk = Math.min(len - done, Number(BOUNCE_MAP_SIZE) - inMap);
        const base = maps.get(Number(iova >> BOUNCE_MAP_SHIFT));
        if (base === undefined || base === null) {
          v.unreachable = true;
          break;
        }
        compare(m.mem.read(base + BigInt(inMap), chunk), m.cache.cpuReadNoAlloc(r.phys + BigInt(done), chunk), done, v);
        done += chunk;
      }
    }
    out.push(v);
  }
  return out;
}
