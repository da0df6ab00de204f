// struct iommu_group: devices that share translation, the group's default
// and current domain, and its pasid_array.

import type { IommuDomain } from './iommu-domain';

export interface PasidAttachment {
  domain: IommuDomain;
  /** The attach handle iommufd (or SVA) supplies; null for plain kernel attachments. */
  handle: { kind: 'iommufd' | 'sva'; id: number } | null;
}

export class IommuGroup {
  readonly devices: string[] = [];
  defaultDomain: IommuDomain | null = null;
  /** The domain attached to the RID (IOMMU_NO_PASID). */
  domain: IommuDomain | null = null;
  readonly pasidArray = new Map<number, PasidAttachment>();

  constructor(readonly id: number, readonly name: string, readonly iommuName: string) {}
}
