// Recoverable IO page faults (drivers/iommu/io-pgfault.c): a device's page
// request lands in the IOMMU driver's queue, iommu_report_device_fault()
// finds the handler of the attach handle on that PASID, and the handler's
// response (SUCCESS, INVALID or FAILURE) goes back to the device. For SVA
// the handler is iommu_sva_handle_iopf (iommu-sva.c), which resolves the
// fault with handle_mm_fault on the bound mm. Every step is a trace frame.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { hex } from '../u64';
import type { IommuDomain } from './iommu-domain';
import type { IommuKind } from './iommu-kinds';
import { IOMMU_NO_PASID, iommuAttachHandleGet } from './iommu-pasid';
import type { MmStruct, MmVma, SvaDomain } from './iommu-sva';

/** enum iommu_page_response_code. */
export type PageResponseCode = 'SUCCESS' | 'INVALID' | 'FAILURE';

/** A PRI page request (or a stalled transaction) for one page. */
export interface PageRequest {
  addr: bigint;
  pasid: number | null;
  read: boolean;
  write: boolean;
}

/** struct iommu_fault_page_request, as far as the handlers look at it. */
export interface IommuFaultPageRequest extends PageRequest {
  /** IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE: the device sends one-page groups here. */
  lastPage: boolean;
}

export interface PageResponse {
  code: PageResponseCode;
  /** Why the handler answered as it did, for the fault report. */
  why: string;
}

/** The driver frames around the core: the thread reading the hardware queue, its report helper, ops->page_response. */
interface DriverIopf {
  thread: string;
  report: string;
  pageResponse: string;
}

const DRIVER_IOPF: Partial<Record<IommuKind, DriverIopf>> = {
  'intel-vtd': { thread: 'prq_event_thread', report: 'intel_prq_report', pageResponse: 'intel_iommu_page_response' },
  'arm-smmu-v3': { thread: 'arm_smmu_evtq_thread', report: 'arm_smmu_handle_event', pageResponse: 'arm_smmu_page_response' },
  'amd-vi': { thread: 'amd_iommu_poll_ppr_log', report: 'iommu_call_iopf_notifier', pageResponse: 'amd_iommu_page_response' },
};

const UNKNOWN_DRIVER: DriverIopf = { thread: 'iommu_fault_thread', report: 'iommu_report_fault', pageResponse: 'page_response' };

function driverOf(dev: Device): DriverIopf {
  const near = dev.path[0];
  return (near && DRIVER_IOPF[near.iommu.cfg.kind]) ?? UNKNOWN_DRIVER;
}

function perm(r: PageRequest): string {
  return `${r.read ? 'r' : ''}${r.write ? 'w' : ''}` || '-';
}

/** The device's page request travels through the driver's queue into iommu_report_device_fault(). */
export function iommuPageRequest(ctx: EngineCtx, dev: Device, req: PageRequest): PageResponse {
  const drv = driverOf(dev);
  const fields = { device: dev.busId, addr: hex(req.addr), perm: perm(req), ...(req.pasid !== null ? { pasid: req.pasid } : {}) };
  return ctx.trace.call(drv.thread, { iommu: dev.path[0]?.iommu.name ?? '' }, () =>
    ctx.trace.call(drv.report, fields, () => iommuReportDeviceFault(ctx, dev, { ...req, lastPage: true })),
  );
}

/** domain->iopf_handler is set only on SVA domains here (iommufd's fault objects are not modelled). */
function isSvaDomain(d: IommuDomain): d is SvaDomain {
  return d.type === 'sva' && 'mm' in d;
}

/**
 * find_fault_handler(): the attach handle on the PASID (or, without a
 * PASID, on the RID) whose domain has an iopf_handler; a reason string when
 * there is none.
 */
function findFaultHandler(dev: Device, fault: IommuFaultPageRequest): SvaDomain | string {
  const group = dev.path[0]?.group;
  if (!group) return 'the device has no IOMMU group';
  const pasid = fault.pasid ?? IOMMU_NO_PASID;
  const att = iommuAttachHandleGet(group, pasid, null);
  if (typeof att === 'number') {
    return group.pasidArray.has(pasid)
      ? `PASID ${pasid} was attached without an attach handle, so no fault handler is registered for it`
      : `nothing is attached to ${fault.pasid === null ? 'the RID' : `PASID ${pasid}`}`;
  }
  if (!isSvaDomain(att.domain)) return `${att.domain.label} has no iopf_handler`;
  return att.domain;
}

/**
 * iommu_report_device_fault(): route a page request to its handler. Partial
 * requests would wait for the LAST_PAGE one; the emulated device sends
 * one-page groups, so each request is handled at once.
 */
export function iommuReportDeviceFault(ctx: EngineCtx, dev: Device, fault: IommuFaultPageRequest): PageResponse {
  const fields = { device: dev.busId, addr: hex(fault.addr), perm: perm(fault), last: fault.lastPage, ...(fault.pasid !== null ? { pasid: fault.pasid } : {}) };
  return ctx.trace.call('iommu_report_device_fault', fields, () => {
    const handler = findFaultHandler(dev, fault);
    if (typeof handler === 'string') {
      ctx.trace.emit('engine:iopf_no_handler', { device: dev.busId, reason: handler });
      // iopf_error_response()
      return pageResponse(ctx, dev, fault, { code: 'INVALID', why: handler });
    }
    return iommuSvaIopfHandler(ctx, dev, fault, handler);
  });
}

/** iommu_sva_iopf_handler(): queue the group on the fault workqueue; the work runs iommu_sva_handle_iopf() (here at once). */
function iommuSvaIopfHandler(ctx: EngineCtx, dev: Device, fault: IommuFaultPageRequest, domain: SvaDomain): PageResponse {
  return ctx.trace.call('iommu_sva_iopf_handler', { domain: domain.label }, () =>
    ctx.trace.call('iommu_sva_handle_iopf', { mm: domain.mm.name }, () => {
      const status = iommuSvaHandleMm(ctx, fault, domain.mm);
      return iopfGroupResponse(ctx, dev, fault, status);
    }),
  );
}

/** iommu_sva_handle_mm(): the VMA must exist and allow the access, then handle_mm_fault() populates the page. */
function iommuSvaHandleMm(ctx: EngineCtx, fault: IommuFaultPageRequest, mm: MmStruct): PageResponse {
  return ctx.trace.call('iommu_sva_handle_mm', { mm: mm.name, addr: hex(fault.addr), perm: perm(fault) }, () => {
    if (fault.pasid === null) return { code: 'INVALID', why: 'the page request carries no PASID' };
    const vma = mm.vmaLookup(fault.addr);
    if (!vma) return { code: 'INVALID', why: `no VMA of ${mm.name} covers ${hex(fault.addr)} (unmapped area)` };
    if ((fault.read && !vma.read) || (fault.write && !vma.write)) {
      return { code: 'INVALID', why: `access fault: ${mm.name} maps ${hex(vma.start)}..${hex(vma.end)} ${vma.read ? 'r' : ''}${vma.write ? 'w' : ''}${!vma.read && !vma.write ? 'none' : ''}, the request asks ${perm(fault)}` };
    }
    const ret = handleMmFault(ctx, mm, vma, fault);
    return ret === 0 ? { code: 'SUCCESS', why: 'handle_mm_fault populated the page' } : { code: 'INVALID', why: `handle_mm_fault failed (VM_FAULT_ERROR, ${ret})` };
  });
}

/** handle_mm_fault(vma, address, FAULT_FLAG_REMOTE | FAULT_FLAG_USER [| FAULT_FLAG_WRITE]). */
function handleMmFault(ctx: EngineCtx, mm: MmStruct, vma: MmVma, fault: IommuFaultPageRequest): number {
  const flags = `REMOTE|USER${fault.write ? '|WRITE' : ''}`;
  return ctx.trace.call('handle_mm_fault', { mm: mm.name, address: hex(fault.addr), flags }, () => mm.populatePte(ctx, fault.addr, vma));
}

/** iopf_group_response(): answer the group's last request through ops->page_response. */
function iopfGroupResponse(ctx: EngineCtx, dev: Device, fault: IommuFaultPageRequest, status: PageResponse): PageResponse {
  return ctx.trace.call('iopf_group_response', { code: status.code }, () => pageResponse(ctx, dev, fault, status));
}

/** ops->page_response(): the PRG response (VT-d), the RESUME command (SMMUv3) or the PPR completion (AMD) the device waits for. */
function pageResponse(ctx: EngineCtx, dev: Device, fault: IommuFaultPageRequest, status: PageResponse): PageResponse {
  const fields = { device: dev.busId, code: status.code, ...(fault.pasid !== null ? { pasid: fault.pasid } : {}) };
  ctx.trace.call(driverOf(dev).pageResponse, fields, () => ctx.trace.emit('engine:page_response', { ...fields, addr: hex(fault.addr), why: status.why }));
  return status;
}
