// Who owns each streaming-mapped buffer right now: the device from map or
// sync_for_device until sync_for_cpu or unmap, the CPU otherwise. CPU access
// to device-owned memory is the bug class the DMA API's ownership rules exist for.

import type { DmaDirection } from './dma-direction';

/**
 * A streaming single mapping's record (mapping-records.ts) is its own region:
 * the same key, device, buffer, direction and line, plus `owner`. Scatterlists
 * and IOVA links have regions of their own.
 */
export interface OwnedRegion {
  /** Key of the mapping (device name and DMA address; sg: and link keys for the others). */
  key: string;
  device: string;
  phys: bigint;
  size: bigint;
  dir: DmaDirection;
  owner: 'device' | 'cpu';
  line: number;
}

export class OwnershipTracker {
  readonly regions: OwnedRegion[] = [];

  add(region: OwnedRegion): void {
    this.regions.push(region);
  }

  remove(mappingKey: string): void {
    const regions = this.regions;
    for (let i = regions.length - 1; i >= 0; i--) {
      if (regions[i].key !== mappingKey) continue;
      // The newest region (a driver loop unmaps what it just mapped) comes off the end without a splice.
      if (i === regions.length - 1) regions.pop();
      else regions.splice(i, 1);
    }
  }

  setOwner(mappingKey: string, owner: 'device' | 'cpu', phys?: bigint, size?: bigint): void {
    for (const r of this.regions) {
      if (r.key !== mappingKey) continue;
      if (phys !== undefined && size !== undefined && (phys >= r.phys + r.size || phys + size <= r.phys)) continue;
      r.owner = owner;
    }
  }

  /** Device-owned regions overlapping [phys, phys + len). */
  deviceOwned(phys: bigint, len: bigint): OwnedRegion[] {
    return this.regions.filter((r) => r.owner === 'device' && phys < r.phys + r.size && phys + len > r.phys);
  }
}
