// PASID attach/detach/replace, attach handles, SVA binds and recoverable IO
// page faults, checked on the engine with real errnos, PASIDs, bytes and
// trace frames (scenario 03 and the corners around it).

import { strict as assert } from 'node:assert';
import { Machine } from '../../src/engine/machine';
import { DEFAULT_PLATFORM } from '../../src/engine/platform';
import type { DeviceConfig } from '../../src/engine/device';
import { devRead, devWrite, probeDma } from '../../src/engine/device-access';
import { iommuMap, iommuPagingDomainAlloc } from '../../src/engine/iommu/iommu-core';
import type { IommuDomain } from '../../src/engine/iommu/iommu-domain';
import type { IommuConfig } from '../../src/engine/iommu/iommu-kinds';
import {
  IommufdAttachHandle, devMaxPasids, iommuAttachDevicePasid, iommuAttachHandleGet, iommuDetachDevicePasid, iommuReplaceDevicePasid,
} from '../../src/engine/iommu/iommu-pasid';
import {
  IommuSva, SvaDomain, iommuSvaBindDevice, iommuSvaUnbindDevice, mmAlloc, mmPasidDrop, svaGlobals, type MmStruct,
} from '../../src/engine/iommu/iommu-sva';
import { IOMMU_READ } from '../../src/engine/io-pgtable/types';
import { EBUSY, EINVAL, ENODEV, ENOENT, ENOSPC, EOPNOTSUPP, EOVERFLOW } from '../../src/engine/errno';
import { runScenario } from '../../src/lang/run';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const names = (m: Machine, from = 0): string[] => m.trace.events.slice(from).filter((e) => e.kind !== 'return').map((e) => e.name);
const count = (m: Machine, name: string, from = 0): number => names(m, from).filter((n) => n === name).length;

const VTD: IommuConfig = { name: 'vtd0', kind: 'intel-vtd', aw: 48, pasidBits: 20 };
const ACCEL: DeviceConfig = { name: 'accel', bus: 'pci', busId: '0000:6a:01.0', iommus: ['vtd0'], pasidBits: 20, ats: true, pri: true };

function machine(iommus: IommuConfig[] = [VTD], devices: DeviceConfig[] = [ACCEL]): Machine {
  const m = new Machine({ ...DEFAULT_PLATFORM, swiotlb: 0n });
  iommus.forEach((c, i) => m.addIommu(c, i + 1));
  devices.forEach((c, i) => m.addDevice(c, 10 + i));
  return m;
}

function dev(m: Machine, name: string) {
  const d = m.devices.get(name);
  assert.ok(d, name);
  return d;
}

function paging(m: Machine, devName: string, label: string): IommuDomain {
  const d = iommuPagingDomainAlloc(m, dev(m, devName), label, false);
  assert.ok(typeof d !== 'number', `paging domain for ${devName}: ${String(d)}`);
  return d;
}

function page(m: Machine, content: string): bigint {
  const b = m.allocPages(0, content);
  assert.ok(b);
  m.cpuWrite(b.phys, bytes(content));
  return b.phys;
}

function bind(m: Machine, devName: string, mm: MmStruct): IommuSva {
  const h = iommuSvaBindDevice(m, dev(m, devName), mm);
  assert.ok(h instanceof IommuSva, `bind ${devName}: ${String(h)}`);
  return h;
}

describe('iommu_attach_device_pasid / detach / replace (scenario 03, first half)', () => {
  it('refuses IOMMU_NO_PASID and a taken slot, serves PASID 5 from its own domain and blocks it after detach', () => {
    const m = machine();
    const accel = dev(m, 'accel');
    const d = paging(m, 'accel', 'd');
    const pa = page(m, 'pasid-5');
    assert.equal(iommuAttachDevicePasid(m, d, accel, 0, null), -EINVAL);
    assert.equal(iommuAttachDevicePasid(m, d, accel, 5, null), 0);
    assert.equal(iommuAttachDevicePasid(m, d, accel, 5, null), -EBUSY);
    assert.equal(iommuMap(m, d, 0x10_0000n, pa, 0x1000n, IOMMU_READ), 0);

    assert.equal(text(devRead(m, accel, 0x10_0000n, 7, 5).bytes), 'pasid-5');
    assert.equal(devRead(m, accel, 0x10_0000n, 7, 6).faulted, true);
    assert.match(m.trace.faults[0].reason, /no domain attached to PASID 6 \(blocked\)/);
    assert.equal(devRead(m, accel, 0x10_0000n, 7, null).faulted, true, 'requests without PASID go to the default domain, which does not map it');

    const before = m.trace.events.length;
    iommuDetachDevicePasid(m, d, accel, 5);
    assert.equal(count(m, 'blocking_domain_set_dev_pasid', before), 1);
    const inv = m.trace.events.slice(before).find((e) => e.name === 'engine:iotlb_inv_pasid');
    assert.equal(inv?.fields.entries, 1, 'the PASID\'s IOTLB entry goes with the detach');
    assert.equal(accel.path[0].group.pasidArray.has(5), false);
    assert.equal(devRead(m, accel, 0x10_0000n, 7, 5).faulted, true);
    assert.equal(m.trace.faults.at(-1)?.pasid, 5);
    assert.equal(m.trace.checks.length, 0);
  });

  it('returns -EOPNOTSUPP where the driver has no set_dev_pasid for the domain, -EINVAL for an incompatible DMAR unit\'s domain', () => {
    const m = machine(
      [VTD, { ...VTD, name: 'vtd1', aw: 57 }, { name: 'amd0', kind: 'amd-vi', pasidBits: 16 }, { name: 'ipu', kind: 'generic', granule: 4096n, levels: 2, ias: 32 }],
      [ACCEL, { ...ACCEL, name: 'other', busId: '0000:7a:00.0', iommus: ['vtd1'] }, { ...ACCEL, name: 'gpu', busId: '0000:c1:00.0', iommus: ['amd0'] }, { name: 'cam', bus: 'platform', busId: 'cam@0', iommus: ['ipu'], pasidBits: 8 }],
    );
    assert.equal(iommuAttachDevicePasid(m, paging(m, 'gpu', 'g'), dev(m, 'gpu'), 3, null), -EOPNOTSUPP, 'AMD-Vi sets only SVA domains on a PASID');
    assert.equal(iommuAttachDevicePasid(m, paging(m, 'cam', 'c'), dev(m, 'cam'), 3, null), -EOPNOTSUPP);
    // paging_domain_compatible(): a 5-level domain of a 57-bit unit does not fit the 48-bit unit...
    assert.equal(iommuAttachDevicePasid(m, paging(m, 'other', 'o'), dev(m, 'accel'), 3, null), -EINVAL);
    assert.equal(dev(m, 'accel').path[0].group.pasidArray.size, 0);
    // ...while the 48-bit unit's domain serves the 57-bit unit's device too (domain_attach_iommu).
    assert.equal(iommuAttachDevicePasid(m, paging(m, 'accel', 'a'), dev(m, 'other'), 3, null), 0);
  });

  it('checks the PASID against every PASID-capable device of the group and programs each of them', () => {
    const m = machine([VTD], [
      { name: 'fn0', bus: 'pci', busId: '0000:6b:00.0', iommus: ['vtd0'], pasidBits: 20, group: 'g1' },
      { name: 'fn1', bus: 'pci', busId: '0000:6b:00.1', iommus: ['vtd0'], pasidBits: 4, group: 'g1' },
      { name: 'fn2', bus: 'pci', busId: '0000:6b:00.2', iommus: ['vtd0'], pasidBits: 0, group: 'g1' },
    ]);
    assert.deepEqual(['fn0', 'fn1', 'fn2'].map((n) => devMaxPasids(dev(m, n))), [1 << 20, 16, 0]);
    const d2 = paging(m, 'fn0', 'd2');
    assert.equal(iommuAttachDevicePasid(m, d2, dev(m, 'fn0'), 20, null), -EINVAL, 'fn1 has only 16 PASIDs');
    assert.equal(iommuAttachDevicePasid(m, d2, dev(m, 'fn0'), 16, null), -EINVAL);
    const before = m.trace.events.length;
    assert.equal(iommuAttachDevicePasid(m, d2, dev(m, 'fn0'), 15, null), 0);
    const programmed = m.trace.events.slice(before).filter((e) => e.kind !== 'return' && e.name === 'intel_iommu_set_dev_pasid').map((e) => e.fields.device);
    assert.deepEqual(programmed, ['0000:6b:00.0', '0000:6b:00.1'], 'fn2 cannot emit PASIDs and is skipped');
    assert.equal(dev(m, 'fn1').path[0].group, dev(m, 'fn0').path[0].group);
  });

  it('returns 0 with a warning when no device of the group can carry a PASID (the v6.15 skip)', () => {
    const m = machine([{ ...VTD, pasidBits: 0 }], [{ ...ACCEL, pasidBits: 20 }]);
    const d = paging(m, 'accel', 'd');
    assert.equal(devMaxPasids(dev(m, 'accel')), 0, 'the IOMMU has no PASID support');
    assert.equal(iommuAttachDevicePasid(m, d, dev(m, 'accel'), 7, null), 0);
    assert.equal(m.trace.checks[0].id, 'pasid-attach-no-pasid-device');
    assert.equal(m.trace.checks[0].severity, 'warning');
  });

  it('replaces without the blocked domain, with the attach handle iommu_attach_handle_get returns', () => {
    const m = machine();
    const accel = dev(m, 'accel');
    const group = accel.path[0].group;
    const d1 = paging(m, 'accel', 'd1');
    const d2 = paging(m, 'accel', 'd2');
    const p1 = page(m, 'one');
    const p2 = page(m, 'two');
    iommuMap(m, d1, 0x20_0000n, p1, 0x1000n, IOMMU_READ);
    iommuMap(m, d2, 0x20_0000n, p2, 0x1000n, IOMMU_READ);
    assert.equal(iommuReplaceDevicePasid(m, d2, accel, 9, new IommufdAttachHandle(m.nextId())), -EINVAL, 'nothing to replace yet');
    assert.equal(iommuAttachDevicePasid(m, d1, accel, 9, null), 0);
    assert.equal(iommuAttachHandleGet(group, 9, null), -ENOENT, 'a kernel attach has no handle');
    assert.equal(text(devRead(m, accel, 0x20_0000n, 3, 9).bytes), 'one');
    assert.equal(iommuReplaceDevicePasid(m, d2, accel, 9, null), -EINVAL, 'iommufd always passes a handle');

    const handle = new IommufdAttachHandle(m.nextId());
    const before = m.trace.events.length;
    assert.equal(iommuReplaceDevicePasid(m, d2, accel, 9, handle), 0);
    assert.equal(count(m, 'blocking_domain_set_dev_pasid', before), 0);
    const set = m.trace.events.slice(before).find((e) => e.name === 'intel_iommu_set_dev_pasid');
    assert.deepEqual(set?.fields, { device: '0000:6a:01.0', pasid: 9, domain: 'd2', old: 'd1' });
    assert.equal(text(devRead(m, accel, 0x20_0000n, 3, 9).bytes), 'two', 'the old IOTLB entry went with the replace');

    const got = iommuAttachHandleGet(group, 9, null);
    assert.ok(typeof got !== 'number');
    assert.equal(got.domain, d2);
    assert.equal(got.handle, handle);
    assert.equal(iommuAttachHandleGet(group, 9, 'sva'), -EBUSY);
    assert.equal(iommuAttachHandleGet(group, 10, null), -ENOENT);
  });

  it('reports detaching a domain that is not the one on the PASID', () => {
    const m = machine();
    const accel = dev(m, 'accel');
    const d1 = paging(m, 'accel', 'd1');
    const d2 = paging(m, 'accel', 'd2');
    iommuAttachDevicePasid(m, d1, accel, 4, null);
    iommuDetachDevicePasid(m, d2, accel, 4);
    assert.equal(m.trace.checks[0].id, 'pasid-detach-wrong-domain');
    assert.match(m.trace.checks[0].message, /PASID 4 is attached to d1, not d2/);
    iommuDetachDevicePasid(m, d1, accel, 4);
    assert.equal(m.trace.checks[1].id, 'pasid-detach-unattached');
  });
});

describe('SVA: iommu_sva_bind_device / unbind and the global PASID allocator', () => {
  function svaMachine(): { m: Machine; mm: MmStruct; data: bigint } {
    const m = machine([VTD, { ...VTD, name: 'vtd1' }], [
      ACCEL,
      { ...ACCEL, name: 'accel2', busId: '0000:6a:02.0' },
      { ...ACCEL, name: 'far', busId: '0000:80:01.0', iommus: ['vtd1'] },
    ]);
    const data = page(m, 'pasid-5');
    const mm = mmAlloc(m, 'p1', [{ start: 0x7f00_0000_0000n, end: 0x7f00_0000_2000n, phys: data, read: true, write: true }], 20);
    return { m, mm, data };
  }

  it('gives an mm one PASID for every device, shares the SVA domain per IOMMU and refcounts the bond', () => {
    const { m, mm } = svaMachine();
    const h = bind(m, 'accel', mm);
    assert.equal(h.domain.mm.pasid, 1, 'the IDA starts at IOMMU_FIRST_GLOBAL_PASID');
    assert.ok(h.domain instanceof SvaDomain && h.domain.type === 'sva');
    assert.equal(mm.pgdFormat, 'vtd-first');

    assert.equal(bind(m, 'accel', mm), h, 'binding again takes a reference on the same bond');
    assert.equal(h.users, 2);

    const h2 = bind(m, 'accel2', mm);
    assert.notEqual(h2, h);
    assert.equal(h2.domain, h.domain, 'same IOMMU: the mm\'s SVA domain is reused');
    assert.equal(h.domain.bonds, 2);
    const h3 = bind(m, 'far', mm);
    assert.notEqual(h3.domain, h.domain, 'another IOMMU: a new SVA domain');
    assert.deepEqual(mm.svaDomains.map((d) => d.iommu.name), ['vtd1', 'vtd0']);
    for (const x of [h, h2, h3]) assert.equal(x.dev.path[0].group.pasidArray.get(1)?.handle, x);

    iommuSvaUnbindDevice(m, h);
    assert.equal(h.users, 1);
    assert.equal(dev(m, 'accel').path[0].group.pasidArray.has(1), true, 'one reference left: still bound');
    iommuSvaUnbindDevice(m, h);
    assert.equal(dev(m, 'accel').path[0].group.pasidArray.has(1), false);
    assert.equal(mm.svaDomains.includes(h.domain), true, 'accel2 still uses the domain');
    iommuSvaUnbindDevice(m, h2);
    assert.equal(mm.svaDomains.includes(h.domain), false);
    assert.equal(count(m, 'iommu_domain_free'), 1);

    assert.equal(mm.pasid, 1, 'the PASID stays with the mm until it exits');
    const other = mmAlloc(m, 'p2', [], 30);
    assert.equal(bind(m, 'accel', other).domain.mm.pasid, 2);
    iommuSvaUnbindDevice(m, h3);
    mmPasidDrop(m, mm);
    assert.deepEqual([...svaGlobals(m).pasidIda], [2]);
    const third = mmAlloc(m, 'p3', [], 31);
    assert.equal(bind(m, 'accel2', third).domain.mm.pasid, 1, 'a dropped PASID is handed out again');
    assert.equal(m.trace.checks.length, 0);
  });

  it('needs PASID, ATS and PRI on VT-d', () => {
    const m = machine([VTD], [
      { ...ACCEL, name: 'nopasid', busId: '0000:01:00.0', pasidBits: 0 },
      { ...ACCEL, name: 'noats', busId: '0000:02:00.0', ats: false },
      { ...ACCEL, name: 'nopri', busId: '0000:03:00.0', pri: false },
    ]);
    const mm = mmAlloc(m, 'p', [], 5);
    assert.equal(iommuSvaBindDevice(m, dev(m, 'nopasid'), mm), -ENOSPC, 'iommu_alloc_global_pasid: max_pasids is 0');
    assert.equal(iommuSvaBindDevice(m, dev(m, 'noats'), mm), -EINVAL, 'intel_iommu_sva_supported: ATS not enabled');
    assert.equal(iommuSvaBindDevice(m, dev(m, 'nopri'), mm), -ENODEV, 'intel_iommu_enable_iopf: PRI not enabled');
    assert.equal(mm.svaDomains.length, 0);
    assert.equal(count(m, 'intel_svm_domain_alloc'), 2);
    assert.equal(count(m, 'iommu_domain_free'), 1, 'noats fails in intel_svm_domain_alloc; nopri\'s domain is freed after its attach fails');
  });

  it('returns -EOVERFLOW when the mm\'s PASID is too large for the next device, -ENOSPC when the IDA has nothing below max_pasids', () => {
    const m = machine([VTD, { name: 'dart0', kind: 'apple-dart', granule: 16384n }], [
      ACCEL, { ...ACCEL, name: 'small', busId: '0000:6c:00.0', pasidBits: 1 }, { name: 'isp', bus: 'platform', busId: 'isp@0', iommus: ['dart0'], pasidBits: 8 },
    ]);
    const mm = mmAlloc(m, 'p', [], 5);
    bind(m, 'accel', mm);
    bind(m, 'accel', mmAlloc(m, 'q', [], 6));
    const r = mmAlloc(m, 'r', [], 7);
    bind(m, 'accel', r);
    assert.equal(r.pasid, 3);
    assert.equal(iommuSvaBindDevice(m, dev(m, 'small'), r), -EOVERFLOW, 'small has 2 PASIDs; the mm holds PASID 3');
    assert.equal(iommuSvaBindDevice(m, dev(m, 'small'), mmAlloc(m, 's', [], 8)), -ENOSPC, 'PASID 1 (its only global one) is taken');
    // No PASID support on the DART: iommu_alloc_mm_data() fails before any domain_alloc_sva() is asked.
    assert.equal(iommuSvaBindDevice(m, dev(m, 'isp'), mm), -EOVERFLOW);
    assert.equal(iommuSvaBindDevice(m, dev(m, 'isp'), mmAlloc(m, 't', [], 9)), -ENOSPC);
  });

  it('rolls back the group\'s devices when one cannot take the SVA domain', () => {
    const m = machine([VTD], [
      { ...ACCEL, name: 'fn0', busId: '0000:6b:00.0', group: 'g1' },
      { ...ACCEL, name: 'fn1', busId: '0000:6b:00.1', group: 'g1', pri: false },
    ]);
    const mm = mmAlloc(m, 'p', [], 5);
    const before = m.trace.events.length;
    assert.equal(iommuSvaBindDevice(m, dev(m, 'fn0'), mm), -ENODEV);
    const seq = m.trace.events.slice(before).filter((e) => e.kind !== 'return' && /set_dev_pasid$/.test(e.name)).map((e) => `${e.name} ${String(e.fields.device)}`);
    assert.deepEqual(seq, ['intel_svm_set_dev_pasid 0000:6b:00.0', 'intel_svm_set_dev_pasid 0000:6b:00.1', 'blocking_domain_set_dev_pasid 0000:6b:00.0']);
    assert.equal(dev(m, 'fn0').path[0].group.pasidArray.size, 0);
  });

  it('reports an unbind of a handle whose last reference is gone', () => {
    const { m, mm } = svaMachine();
    const h = bind(m, 'accel', mm);
    iommuSvaUnbindDevice(m, h);
    iommuSvaUnbindDevice(m, h);
    assert.equal(m.trace.checks.length, 1);
    assert.equal(m.trace.checks[0].id, 'sva-unbind-freed');
    assert.equal(m.trace.checks[0].severity, 'error');
  });

  it('keeps the SVA state in machine snapshots', () => {
    const { m, mm } = svaMachine();
    bind(m, 'accel', mm);
    const restored = Machine.restore(m.snapshot(), m.trace);
    assert.deepEqual([...svaGlobals(restored).pasidIda], [1]);
    assert.equal(svaGlobals(restored).mms[0].pasid, 1);
    assert.notEqual(svaGlobals(restored).mms[0], mm, 'a deep copy');
  });
});

describe('SVA: recoverable IO page faults through handle_mm_fault', () => {
  function bound() {
    const m = machine();
    const accel = dev(m, 'accel');
    const data = page(m, 'pasid-5');
    const ro = page(m, 'read-only');
    const mm = mmAlloc(m, 'p1', [
      { start: 0x7f00_0000_0000n, end: 0x7f00_0000_1000n, phys: data, read: true, write: true },
      { start: 0x7f00_0000_1000n, end: 0x7f00_0000_2000n, phys: ro, read: true, write: false },
    ], 20);
    const h = bind(m, 'accel', mm);
    return { m, accel, mm, h, data, ro };
  }

  it('faults the page in on first touch, answers SUCCESS, retries, and hits the IOTLB afterwards', () => {
    const { m, accel, mm } = bound();
    const probe = probeDma(m, accel, 0x7f00_0000_0000n, 1, null);
    assert.equal(probe.phys, undefined);
    assert.match(probe.fault ?? '', /p1 has no present PTE.*would take a recoverable page fault/);
    assert.equal(mm.ptesPopulated, 0, 'translate() faults nothing in');

    const before = m.trace.events.length;
    const r = devRead(m, accel, 0x7f00_0000_0000n, 7, 1);
    assert.equal(r.faulted, false);
    assert.equal(text(r.bytes), 'pasid-5');
    assert.equal(mm.ptesPopulated, 1);
    assert.equal(m.trace.faults.length, 0, 'a handled page request is not an IO page fault');
    const frames = m.trace.events.slice(before).filter((e) => e.kind !== 'return' && !e.name.startsWith('engine:')).map((e) => `${e.depth}:${e.name}`);
    assert.deepEqual(frames, [
      '0:device_read', '1:prq_event_thread', '2:intel_prq_report', '3:iommu_report_device_fault', '4:iommu_sva_iopf_handler',
      '5:iommu_sva_handle_iopf', '6:iommu_sva_handle_mm', '7:handle_mm_fault', '6:iopf_group_response', '7:intel_iommu_page_response',
    ]);
    const resp = m.trace.events.slice(before).find((e) => e.name === 'engine:page_response');
    assert.equal(resp?.fields.code, 'SUCCESS');

    const warm = probeDma(m, accel, 0x7f00_0000_0003n, 1, 'read');
    assert.equal(warm.iotlbHit, true);
    const again = m.trace.events.length;
    assert.equal(text(devRead(m, accel, 0x7f00_0000_0000n, 7, 1).bytes), 'pasid-5');
    assert.equal(count(m, 'handle_mm_fault', again), 0);

    devWrite(m, accel, 0x7f00_0000_0010n, bytes('sva!'), 1);
    assert.equal(text(m.cpuRead(mm.vmas[0].phys + 0x10n, 4)), 'sva!');
  });

  it('walks the mm\'s x86-64 page table: 4 levels, US set, the PTE pointing at the target page', () => {
    const { m, accel, data } = bound();
    devRead(m, accel, 0x7f00_0000_0000n, 1, 1);
    m.devices.get('accel')?.path[0].iommu.iotlb.entries.clear();
    const t = probeDma(m, accel, 0x7f00_0000_0123n, 1, 'read');
    assert.equal(t.phys, data + 0x123n);
    assert.equal(t.accesses, 4);
    assert.deepEqual(t.steps.map((s) => s.level), [4, 3, 2, 1]);
    const leaf = t.steps[3].desc;
    assert.equal(leaf & ~0xfffn & ((1n << 52n) - 1n), data, 'the PTE points at the target page');
    assert.equal(leaf & 0x7n, 0x7n, 'present, writable, user');
  });

  it('answers INVALID for an address no VMA covers and for a write to a read-only VMA; both are IO page faults', () => {
    const { m, accel } = bound();
    assert.equal(devRead(m, accel, 0x7f00_0001_0000n, 4, 1).faulted, true);
    assert.match(m.trace.faults[0].reason, /answered INVALID: no VMA of p1 covers 0x7f0000010000/);
    assert.equal(devRead(m, accel, 0x7f00_0000_1000n, 9, 1).faulted, false, 'reading the read-only page is fine');
    assert.equal(devWrite(m, accel, 0x7f00_0000_1000n, bytes('x'), 1).faulted, true);
    assert.match(m.trace.faults[1].reason, /maps 0x7f0000001000 read-only; the page request was answered INVALID: access fault/);
    assert.equal(m.trace.faults[1].access, 'write');
    assert.equal(m.trace.faults[1].pasid, 1);
  });

  it('faults a multi-page access in page by page', () => {
    const { m, accel, mm } = bound();
    const r = devRead(m, accel, 0x7f00_0000_0ffen, 4, 1);
    assert.equal(r.faulted, false);
    assert.equal(text(r.bytes.subarray(2)), 're');
    assert.equal(mm.ptesPopulated, 2);
    assert.equal(count(m, 'handle_mm_fault'), 2);
  });

  it('blocks the PASID after the last unbind', () => {
    const { m, accel, h } = bound();
    devRead(m, accel, 0x7f00_0000_0000n, 1, 1);
    iommuSvaUnbindDevice(m, h);
    assert.equal(devRead(m, accel, 0x7f00_0000_0000n, 1, 1).faulted, true);
    assert.match(m.trace.faults[0].reason, /no domain attached to PASID 1 \(blocked\)/);
  });

  it('on SMMUv3 walks an arm64 stage-1 table; only stalling (platform) masters recover', () => {
    const smmu: IommuConfig = { name: 'smmu0', kind: 'arm-smmu-v3', granule: 4096n, ias: 48, oas: 48, pasidBits: 16 };
    const m = machine([smmu], [
      { name: 'nic', bus: 'pci', busId: '0000:05:00.0', iommus: ['smmu0'], pasidBits: 16, ats: true, pri: true },
      { name: 'acc', bus: 'platform', busId: 'acc@8000000', iommus: ['smmu0'], pasidBits: 16, coherent: true },
    ]);
    const data = page(m, 'arm64');
    const mm = mmAlloc(m, 'p', [{ start: 0x40_0000n, end: 0x40_1000n, phys: data, read: true, write: true }], 5);
    bind(m, 'nic', mm);
    bind(m, 'acc', mm);
    assert.equal(mm.pgdFormat, 'arm-lpae-s1');
    assert.equal(devRead(m, dev(m, 'nic'), 0x40_0000n, 5, 1).faulted, true);
    assert.match(m.trace.faults[0].reason, /cannot take recoverable page faults \(SMMUv3 recovers only stalling platform devices\)/);
    const r = devRead(m, dev(m, 'acc'), 0x40_0000n, 5, 1);
    assert.equal(text(r.bytes), 'arm64');
    assert.equal(count(m, 'arm_smmu_page_response'), 1);
    assert.equal(text(devRead(m, dev(m, 'nic'), 0x40_0000n, 5, 1).bytes), 'arm64', 'once the CPU page table has the PTE, no fault is needed');
  });

  it('refuses malformed mm declarations', () => {
    const m = machine();
    const data = page(m, 'x');
    assert.throws(() => mmAlloc(m, 'bad', [{ start: 0x1001n, end: 0x2001n, phys: data, read: true, write: false }], 1), /multiples of PAGE_SIZE/);
    assert.throws(() => mmAlloc(m, 'bad', [{ start: 0x1000n, end: 0x2000n, phys: 0x10n << 40n, read: true, write: false }], 1), /not RAM/);
    assert.throws(() => mmAlloc(m, 'bad', [
      { start: 0x1000n, end: 0x3000n, phys: data, read: true, write: false },
      { start: 0x2000n, end: 0x4000n, phys: data, read: true, write: false },
    ], 1), /overlaps the map at 0x1000/);
  });
});

describe('PASID and SVA builtins', () => {
  const head = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 0 }
iommu vtd0 : intel-vtd { aw = 48; pasid_bits = 20 }
device accel : pci "0000:6a:01.0" { iommu = vtd0; pasid_bits = 20; ats = true; pri = true }
buf = alloc_pages(0)
cpu_write(buf, 0, "hello")
mm p1 { map 0x7f00_0000_0000 -> buf size 4K rw }
`;

  it('binds, reads .pasid, returns the same bond twice and exposes the attach handle', () => {
    const r = runScenario(`${head}h = iommu_sva_bind_device(accel, p1)
h2 = iommu_sva_bind_device(accel, p1)
expect h == h2
expect h.pasid == 1
a = iommu_attach_handle_get(accel, h.pasid)
expect a.type == "sva"
expect a.pasid == 1
expect dev_read(accel, 0x7f00_0000_0000, 5, pasid = h.pasid) == "hello"
iommu_sva_unbind_device(h)
iommu_sva_unbind_device(h2)
expect error ENOENT iommu_attach_handle_get(accel, 1)
`, 't.dmas');
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.expectations.filter((e) => !e.passed), []);
    assert.equal(r.expectations.length, 6);
    assert.deepEqual(r.values.h, { device: '0000:6a:01.0', mm: 'p1', pasid: 1, users: 0 });
    assert.deepEqual(r.values.p1, { mm: 'p1', pasid: 1 });
    assert.equal(r.ok, true);
  });

  it('rejects wrong argument kinds with a diagnostic and goes on', () => {
    const r = runScenario(`${head}h = iommu_sva_bind_device(accel, buf)
iommu_sva_unbind_device(5)
expect error EINVAL iommu_replace_device_pasid(iommu_paging_domain_alloc(accel), accel, 3)
`, 't.dmas');
    // The checker catches both kinds statically, so nothing runs.
    assert.deepEqual(r.diagnostics.map((d) => d.line), [7, 8]);
    assert.match(r.diagnostics[0].message, /takes an address space/);
    assert.equal(r.expectations.length, 0);
    // Kinds only known at run time are refused by the builtin, and the run goes on.
    const late = runScenario(`${head}xs = [buf]
h = iommu_sva_bind_device(accel, xs[0])
expect error EINVAL iommu_replace_device_pasid(iommu_paging_domain_alloc(accel), accel, 3)
`, 't.dmas');
    assert.deepEqual(late.diagnostics.map((d) => d.line), [8]);
    assert.match(late.diagnostics[0].message, /mm must be a process address space/);
    assert.equal(late.expectations[0].passed, true);
  });
});
