// The streaming mappings and coherent allocations a run made, as the
// emulator (not dma-debug) sees them: where each DMA address points, whether
// it bounced, and which line made it. `expect bounced`, hovers and the IOVA
// panel read these.

import type { DmaDirection } from './dma-direction';

export interface MappingRecord {
  key: string;
  device: string;
  dma: bigint;
  size: bigint;
  /** The CPU buffer the driver mapped. */
  phys: bigint;
  dir: DmaDirection;
  /** Bounce buffer address (swiotlb slot or VDUSE bounce page), or null. */
  bounce: bigint | null;
  kind: 'single' | 'sg' | 'coherent' | 'iova-link';
  line: number;
  live: boolean;
}

export function mappingKey(device: string, dma: bigint): string {
  return `${device}@${dma.toString(16)}`;
}

export class MappingRecords {
  readonly records: MappingRecord[] = [];
  readonly live = new Map<string, MappingRecord>();

  add(r: Omit<MappingRecord, 'key' | 'live'>): MappingRecord {
    const rec: MappingRecord = { ...r, key: mappingKey(r.device, r.dma), live: true };
    this.records.push(rec);
    this.live.set(rec.key, rec);
    return rec;
  }

  end(device: string, dma: bigint): MappingRecord | undefined {
    const key = mappingKey(device, dma);
    const rec = this.live.get(key);
    if (rec) {
      rec.live = false;
      this.live.delete(key);
    }
    return rec;
  }

  /** The newest mapping (live or not) whose DMA range contains addr. */
  findByDma(addr: bigint): MappingRecord | undefined {
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i];
      if (addr >= r.dma && addr < r.dma + (r.size > 0n ? r.size : 1n)) return r;
    }
    return undefined;
  }
}
