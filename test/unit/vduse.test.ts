// VDUSE's MMU-based software IOTLB: IOVA layout, bounce maps, when copies
// happen, coherent ranges, set_map and the daemon's mmap view (the fault
// path included), on the engine and through the scenario language.

import { strict as assert } from 'node:assert';
import { Machine } from '../../src/engine/machine';
import { DEFAULT_PLATFORM, type PlatformConfig } from '../../src/engine/platform';
import { dmaAllocCoherent, dmaFreeCoherent, dmaMapPhys, dmaSyncSingleForCpu, dmaSyncSingleForDevice, dmaUnmapPhys } from '../../src/engine/dma-mapping/dma-mapping';
import { DMA_ATTR_SKIP_CPU_SYNC, DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from '../../src/engine/dma-mapping/dma-direction';
import { EFAULT, EINVAL, ENOMEM, KernelError } from '../../src/engine/errno';
import { DMA_MAPPING_ERROR } from '../../src/engine/u64';
import {
  INVALID_PHYS_ADDR, VDUSE_DOMAIN_FILE, VHOST_MAP_RO, VHOST_MAP_RW, vduseDomainAddUserBouncePages, vduseDomainOf, vduseDomainRemoveUserBouncePages, vduseDomainResetBounceMap,
  vduseDomainSetMap, vduseDomainView, vduseIommuDomain, vduseUserRead, vduseUserWrite, VduseIovaDomain,
} from '../../src/engine/vduse/vduse-iova-domain';
import { runScenario } from '../../src/lang/run';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function machine(p: Partial<PlatformConfig> = {}): Machine {
  return new Machine({ ...DEFAULT_PLATFORM, memory: [{ start: 0x8000_0000n, end: 0x2_0000_0000n }], swiotlb: 0n, ...p });
}

function setup(p: Partial<PlatformConfig> = {}, bounceSize = 64n << 20n) {
  const m = machine(p);
  m.addIommu({ name: 'vd0', kind: 'vduse', bounceSize, iovaLimit: (1n << 30n) + (128n << 20n) }, 1);
  const dev = m.addDevice({ name: 'vblk', bus: 'virtio', busId: 'vduse-blk0', iommus: ['vd0'] }, 2);
  const domain = vduseDomainOf(dev);
  assert.ok(domain, 'probe creates the VDUSE domain');
  return { m, dev, domain };
}

function page(m: Machine, order = 0): bigint {
  const b = m.allocPages(order, 'buf');
  assert.ok(b);
  return b.phys;
}

describe('vduse: probe and domain layout', () => {
  it('gives the device no page-table domain and a domain with the kernel layout', () => {
    const { dev, domain } = setup();
    assert.equal(dev.path[0].group.domain, null, 'no IOMMU default domain behind a vduse instance');
    assert.equal(dev.dmaIommu, false);
    assert.equal(domain.bounceSize, 0x400_0000n);
    assert.equal(domain.iovaLimit, 0x47ff_ffffn, 'iova_limit is VDUSE_IOVA_SIZE - 1');
    assert.equal(domain.streamIovad.startPfn, 1);
    assert.equal(domain.consistentIovad.startPfn, 0x4000, 'coherent IOVAs start at bounce_size');
    assert.equal(domain.iotlb.length, 0, 'the bounce area is registered at the first map, not at probe');
  });

  it('rejects bounce sizes outside [1 MiB, 1 GiB] and an IOVA space not above the bounce area', () => {
    const m = machine();
    const small = m.addIommu({ name: 'a', kind: 'vduse', bounceSize: 512n << 10n }, 1);
    assert.throws(() => vduseIommuDomain(m, small), (e: unknown) => e instanceof KernelError && e.errno === EINVAL);
    const tight = m.addIommu({ name: 'b', kind: 'vduse', bounceSize: 64n << 20n, iovaLimit: 64n << 20n }, 2);
    assert.throws(() => vduseIommuDomain(m, tight), (e: unknown) => e instanceof KernelError && e.errno === ENOMEM);
  });
});

describe('vduse: streaming maps always bounce', () => {
  it('allocates top-down below bounce_size and copies orig -> bounce at map for TO_DEVICE', () => {
    const { m, dev, domain } = setup();
    const req = page(m);
    m.cpuWrite(req, bytes('ping'));
    const h = dmaMapPhys(m, dev, req, 4096n, DMA_TO_DEVICE, 0);
    assert.equal(h, 0x3fff000n);
    const rec = m.mappings.findByDma(h);
    assert.ok(rec && rec.bounce !== null);
    assert.equal(rec.bounce, req + 0x1000n, 'the bounce page is a fresh page (the next one free)');
    assert.deepEqual(domain.iotlb, [{ start: 0n, last: 0x3ff_ffffn, addr: 0n, perm: VHOST_MAP_RW, file: VDUSE_DOMAIN_FILE, offset: 0n }]);
    const map = domain.mapAt(0x3fff);
    assert.ok(map);
    assert.equal(map.origPhys, req);
    assert.equal(text(vduseUserRead(m, domain, h, 4).bytes), 'ping');
  });

  it('does not copy again until sync_single_for_device, and flags the CPU write in between', () => {
    const { m, dev, domain } = setup();
    const req = page(m);
    m.cpuWrite(req, bytes('ping'));
    const h = dmaMapPhys(m, dev, req, 4096n, DMA_TO_DEVICE, 0);
    m.cpuWrite(req, bytes('PING'));
    assert.match(m.trace.checks.at(-1)?.message ?? '', /owned by the device: vblk has it mapped DMA_TO_DEVICE/);
    assert.equal(text(vduseUserRead(m, domain, h, 4).bytes), 'ping');
    dmaSyncSingleForDevice(m, dev, h, 4096n, DMA_TO_DEVICE);
    assert.equal(text(vduseUserRead(m, domain, h, 4).bytes), 'PING');
  });

  it('copies bounce -> orig for FROM_DEVICE only at sync_for_cpu or unmap', () => {
    const { m, dev, domain } = setup();
    const resp = page(m);
    m.cpuWrite(resp, bytes('old!'));
    const r = dmaMapPhys(m, dev, resp, 4096n, DMA_FROM_DEVICE, 0);
    assert.equal(r, 0x3fff000n);
    assert.deepEqual([...vduseUserRead(m, domain, r, 4).bytes], [0, 0, 0, 0], 'FROM_DEVICE maps do not copy: the bounce page is zeroed (__GFP_ZERO)');
    assert.equal(vduseUserWrite(m, domain, r, bytes('pong')).faulted, false);
    assert.equal(text(m.cache.cpuRead(resp, 4).bytes), 'old!', 'nothing reaches the buffer before a sync');
    dmaSyncSingleForCpu(m, dev, r, 4096n, DMA_FROM_DEVICE);
    assert.equal(text(m.cpuRead(resp, 4)), 'pong');
    vduseUserWrite(m, domain, r, bytes('more'));
    dmaUnmapPhys(m, dev, r, 4096n, DMA_FROM_DEVICE, 0);
    assert.equal(text(m.cpuRead(resp, 4)), 'more');
    assert.equal(domain.mapAt(0x3fff)?.origPhys, INVALID_PHYS_ADDR);
  });

  it('TO_DEVICE unmap copies nothing back; SKIP_CPU_SYNC skips the map-time copy', () => {
    const { m, dev, domain } = setup();
    const a = page(m);
    m.cpuWrite(a, bytes('keep'));
    const h = dmaMapPhys(m, dev, a, 4096n, DMA_TO_DEVICE, 0);
    vduseUserWrite(m, domain, h, bytes('junk'));
    dmaUnmapPhys(m, dev, h, 4096n, DMA_TO_DEVICE, 0);
    assert.equal(text(m.cpuRead(a, 4)), 'keep');
    const b = page(m);
    m.cpuWrite(b, bytes('skip'));
    const h2 = dmaMapPhys(m, dev, b, 4096n, DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC);
    assert.equal(h2, 0x3fff000n, 'the freed IOVA comes back from the rcache');
    assert.equal(text(vduseUserRead(m, domain, h2, 4).bytes), 'junk', 'same bounce page, not refreshed');
  });

  it('keeps bounce pages after unmap and reuses them for the same IOVA', () => {
    const { m, dev, domain } = setup();
    const a = page(m);
    const h = dmaMapPhys(m, dev, a, 4096n, DMA_TO_DEVICE, 0);
    const bp = domain.mapAt(0x3fff)?.bouncePage;
    dmaUnmapPhys(m, dev, h, 4096n, DMA_TO_DEVICE, 0);
    const used = m.pages.used.length;
    assert.equal(domain.mapAt(0x3fff)?.bouncePage, bp, 'kept until the domain is released');
    assert.equal(dmaMapPhys(m, dev, a, 4096n, DMA_TO_DEVICE, 0), h);
    assert.equal(m.pages.used.length, used, 'no new page');
    assert.equal(m.trace.count('engine:alloc_page'), 1);
  });

  it('maps a buffer at a sub-page offset slice by slice, orig_phys stepping 4 KiB', () => {
    const { m, dev, domain } = setup();
    const buf = page(m, 1);
    const src = new Uint8Array(0x1800).map((_, i) => i & 0xff);
    m.cpuWrite(buf + 0x800n, src);
    const h = dmaMapPhys(m, dev, buf + 0x800n, 0x1800n, DMA_TO_DEVICE, 0);
    assert.equal(h, 0x3ffe000n, 'two pages, size-aligned, page-aligned: the sub-page offset is not kept');
    assert.equal(domain.mapAt(0x3ffe)?.origPhys, buf + 0x800n);
    assert.equal(domain.mapAt(0x3fff)?.origPhys, buf + 0x1800n);
    assert.deepEqual(vduseUserRead(m, domain, h, 0x1800).bytes, src);
  });

  it('fails maps larger than the bounce area with DMA_MAPPING_ERROR', () => {
    const { m, dev } = setup({}, 1n << 20n);
    const big = page(m, 9); // 2 MiB
    assert.equal(dmaMapPhys(m, dev, big, 2n << 20n, DMA_TO_DEVICE, 0), DMA_MAPPING_ERROR);
    // 256 pages must be 256-page aligned, and pfn 0 is never handed out: the whole area cannot be one map.
    assert.equal(dmaMapPhys(m, dev, big, 1n << 20n, DMA_TO_DEVICE, 0), DMA_MAPPING_ERROR);
    assert.equal(dmaMapPhys(m, dev, big, 512n << 10n, DMA_TO_DEVICE, 0), 0x80000n);
  });

  it('warns when a sync runs past the mapped slices', () => {
    const { m, dev, domain } = setup();
    const a = page(m);
    const h = dmaMapPhys(m, dev, a, 4096n, DMA_TO_DEVICE, 0);
    vduseUserWrite(m, domain, h, bytes('user'));
    m.cpuWrite(a, bytes('cpu!'));
    m.trace.line = 42;
    // The generic layer finds the mapping by its start; the bounce walks on into IOVA 0x4000000.
    dmaSyncSingleForDevice(m, dev, h, 8192n, DMA_TO_DEVICE);
    const warn = m.trace.checks.find((c) => c.id === 'vduse-bounce-warn');
    assert.ok(warn);
    assert.equal(warn.line, 42);
    assert.match(m.trace.log.map((l) => l.text).join('\n'), /vduse_domain_bounce: IOVA 0x4000000 has no bounce page/);
    assert.equal(text(vduseUserRead(m, domain, h, 4).bytes), 'cpu!', 'the slices before the WARN were copied');
  });
});

describe('vduse: 4 KiB bounce maps on a 16 KiB-page kernel', () => {
  it('lets the four sub-maps of one CPU page share the head map\'s page', () => {
    const { m, dev, domain } = setup({ pageSize: 16384n });
    const buf = page(m);
    m.cpuWrite(buf + 0x2000n, bytes('third'));
    const h = dmaMapPhys(m, dev, buf, 16384n, DMA_TO_DEVICE, 0);
    assert.equal(h, 0x3ffc000n);
    const head = domain.mapAt(0x3ffc);
    assert.ok(head && head.bouncePage !== null);
    for (let i = 0; i < 4; i++) {
      const map = domain.mapAt(0x3ffc + i);
      assert.equal(map?.bouncePage, head.bouncePage, `sub-map ${i} shares the page`);
      assert.equal(map?.origPhys, buf + BigInt(i) * 0x1000n);
    }
    assert.equal(m.trace.count('engine:alloc_page'), 1);
    assert.equal(text(vduseUserRead(m, domain, h + 0x2000n, 5).bytes), 'third');
    const view = vduseDomainView(domain);
    assert.deepEqual(view.bounceMaps.map((b) => b.bounceAddr), [0n, 1n, 2n, 3n].map((i) => (head.bouncePage ?? 0n) + i * 0x1000n));
  });
});

describe('vduse: the daemon\'s mmap view', () => {
  it('SIGBUSes below bounce_size where no bounce page exists and allocates nothing', () => {
    const { m, dev, domain } = setup();
    dmaMapPhys(m, dev, page(m), 4096n, DMA_TO_DEVICE, 0);
    const used = m.pages.used.length;
    const r = vduseUserRead(m, domain, 0x100_0000n, 4);
    assert.equal(r.faulted, true);
    assert.equal(r.bytes.length, 0);
    assert.equal(m.trace.faults.length, 1);
    assert.equal(m.trace.faults[0].device, 'vd0');
    assert.equal(m.trace.faults[0].addr, 0x100_0000n);
    assert.match(m.trace.faults[0].reason, /^SIGBUS: no bounce page behind IOVA 0x1000000/);
    assert.equal(m.pages.used.length, used, 'nothing is allocated lazily on a user fault');
    assert.equal(domain.mapAt(0x1000), undefined);
  });

  it('reads what precedes a fault (a short read) when an access crosses into an unbacked slice', () => {
    const { m, dev, domain } = setup();
    const a = page(m);
    m.cpuWrite(a + 0xffen, bytes('ok'));
    const h = dmaMapPhys(m, dev, a, 4096n, DMA_TO_DEVICE, 0);
    const r = vduseUserRead(m, domain, h + 0xffen, 6);
    assert.equal(r.faulted, true);
    assert.equal(text(r.bytes), 'ok');
    assert.equal(m.trace.faults[0].addr, 0x400_0000n);
    assert.match(m.trace.faults[0].reason, /^SIGSEGV: no IOTLB range covers IOVA 0x4000000/);
  });

  it('faults everywhere before the first map: the bounce area is not in the IOTLB yet', () => {
    const { m, domain } = setup();
    const r = vduseUserRead(m, domain, 0x3fff000n, 4);
    assert.equal(r.faulted, true);
    assert.match(m.trace.faults[0].reason, /^SIGSEGV: no IOTLB range covers IOVA 0x3fff000/);
  });
});

describe('vduse: coherent memory above the bounce area', () => {
  it('maps alloc_pages_exact pages through an RW range at file offset = IOVA, unbounced', () => {
    const { m, dev, domain } = setup();
    const coh = dmaAllocCoherent(m, dev, 8192n);
    assert.ok(coh);
    assert.equal(coh.dma, 0x47ffe000n, 'top of the IOVA space, size-aligned');
    assert.deepEqual(domain.iotlb.at(-1), { start: 0x47ffe000n, last: 0x47ff_ffffn, addr: coh.cpu, perm: VHOST_MAP_RW, file: VDUSE_DOMAIN_FILE, offset: 0x47ffe000n });
    assert.equal(m.mappings.findByDma(coh.dma)?.bounce, null);
    m.cpuWrite(coh.cpu + 0x1ff0n, bytes('ring'));
    assert.equal(text(vduseUserRead(m, domain, coh.dma + 0x1ff0n, 4).bytes), 'ring', 'the daemon sees the driver\'s own pages');
    vduseUserWrite(m, domain, coh.dma + 8n, bytes('used'));
    assert.equal(text(m.cpuRead(coh.cpu + 8n, 4)), 'used');
    dmaFreeCoherent(m, dev, 8192n, coh);
    assert.equal(domain.iotlb.length, 0);
    assert.equal(m.pages.used.some((r) => r.start === coh.cpu), false, 'pages freed');
    const r = vduseUserRead(m, domain, coh.dma, 4);
    assert.equal(r.faulted, true);
    assert.match(m.trace.faults[0].reason, /no IOTLB range covers IOVA 0x47ffe000/);
    assert.equal(m.debug.pendingEntries().length, 0);
  });

  it('WARNs in free_coherent when set_map wiped the coherent range, and frees nothing', () => {
    const { m, dev, domain } = setup();
    const coh = dmaAllocCoherent(m, dev, 4096n);
    assert.ok(coh);
    assert.equal(vduseDomainSetMap(m, domain, []), 0);
    dmaFreeCoherent(m, dev, 4096n, coh);
    assert.equal(m.trace.checks.filter((c) => c.id === 'vduse-free-coherent-warn').length, 1);
    assert.equal(m.pages.used.some((r) => r.start === coh.cpu), true, 'the pages leak');
  });
});

describe('vduse: set_map (vhost-vdpa) and the IOTLB', () => {
  function guestSetup() {
    const m = machine();
    const i = m.addIommu({ name: 'vd1', kind: 'vduse', bounceSize: 1n << 20n }, 1);
    const domain = vduseIommuDomain(m, i);
    const guest = m.physBuffer(0x9000_0000n, 0x10000n, 'guest');
    m.cpuWrite(guest.phys + 0x10n, bytes('guest'));
    return { m, domain, guest };
  }

  it('exposes guest memory directly, below and above bounce_size', () => {
    const { m, domain } = guestSetup();
    const ret = vduseDomainSetMap(m, domain, [
      { start: 0x1000_0000n, last: 0x1000_ffffn, addr: 0x9000_0000n, perm: VHOST_MAP_RW, file: 'guest.mem', offset: 0n },
      { start: 0n, last: 0xfffn, addr: 0x9000_0000n, perm: VHOST_MAP_RO, file: 'guest.mem', offset: 0n },
    ]);
    assert.equal(ret, 0);
    assert.deepEqual(domain.iotlb.map((r) => r.start), [0n, 0x1000_0000n], 'kept in interval-tree order');
    assert.equal(text(vduseUserRead(m, domain, 0x1000_0010n, 5).bytes), 'guest');
    assert.equal(text(vduseUserRead(m, domain, 0x10n, 5).bytes), 'guest', 'a guest range below bounce_size is guest memory, not a bounce page');
    assert.equal(vduseUserWrite(m, domain, 0x10n, bytes('x')).faulted, true);
    assert.match(m.trace.faults[0].reason, /read-only range \[0x0\.\.0xfff\]/);
    assert.equal(vduseUserWrite(m, domain, 0x1000_0010n, bytes('GUEST')).faulted, false);
    assert.equal(text(m.cpuRead(0x9000_0010n, 5)), 'GUEST');
  });

  it('replaces every range, the bounce range included, and leaves the table empty on error', () => {
    const { m, domain } = guestSetup();
    assert.equal(vduseDomainSetMap(m, domain, [{ start: 0x1000n, last: 0x1fffn, addr: 0x9000_0000n, perm: VHOST_MAP_RW, file: 'g', offset: 0n }]), 0);
    const ret = vduseDomainSetMap(m, domain, [
      { start: 0x2000n, last: 0x2fffn, addr: 0x9000_1000n, perm: VHOST_MAP_RW, file: 'g', offset: 0x1000n },
      { start: 0x5000n, last: 0x4000n, addr: 0x9000_2000n, perm: VHOST_MAP_RW, file: 'g', offset: 0x2000n },
    ]);
    assert.equal(ret, -EFAULT, 'vhost_iotlb_add_range_ctx: last < start');
    assert.deepEqual(domain.iotlb, []);
  });

  it('splits [0, U64_MAX] in two like vhost_iotlb_add_range_ctx', () => {
    const { m, domain } = guestSetup();
    assert.equal(vduseDomainSetMap(m, domain, [{ start: 0n, last: (1n << 64n) - 1n, addr: 0n, perm: VHOST_MAP_RW, file: 'g', offset: 0n }]), 0);
    assert.deepEqual(domain.iotlb.map((r) => [r.start, r.last, r.addr]), [[0n, (1n << 63n) - 1n, 0n], [1n << 63n, (1n << 64n) - 1n, 1n << 63n]]);
  });

  it('device reset drops only the bounce range', () => {
    const { m, dev, domain } = setup();
    const coh = dmaAllocCoherent(m, dev, 4096n);
    dmaMapPhys(m, dev, page(m), 4096n, DMA_TO_DEVICE, 0);
    assert.equal(domain.iotlb.length, 2);
    vduseDomainResetBounceMap(m, domain);
    assert.deepEqual(domain.iotlb.map((r) => r.start), [coh?.dma]);
    assert.equal(domain.bounceMap, false);
  });
});

describe('vduse: user bounce pages (VDUSE_IOTLB_REG_UMEM)', () => {
  it('copies live slices to the daemon\'s memory and back', () => {
    const { m, dev, domain } = setup({}, 1n << 20n);
    const a = page(m);
    m.cpuWrite(a, bytes('live'));
    const h = dmaMapPhys(m, dev, a, 4096n, DMA_BIDIRECTIONAL, 0);
    assert.equal(h, 0xff000n);
    const umem = m.physBuffer(0x1_0000_0000n, 1n << 20n, 'umem');
    assert.equal(vduseDomainAddUserBouncePages(m, domain, umem.phys, 4096n), -EINVAL, 'no partial registration');
    assert.equal(vduseDomainAddUserBouncePages(m, domain, umem.phys, 1n << 20n), 0);
    assert.equal(text(m.cache.cpuRead(umem.phys + 0xff000n, 4).bytes), 'live', 'the in-use slice was copied over');
    assert.equal(text(vduseUserRead(m, domain, h, 4).bytes), 'live');
    m.cache.cpuWrite(umem.phys + 0xff000n, bytes('user'));
    dmaSyncSingleForCpu(m, dev, h, 4096n, DMA_BIDIRECTIONAL);
    assert.equal(text(m.cpuRead(a, 4)), 'user', 'bounces now go through the user pages');
    m.cache.cpuWrite(umem.phys + 0xff000n, bytes('back'));
    vduseDomainRemoveUserBouncePages(m, domain);
    const kpage = domain.mapAt(0xff)?.bouncePage ?? 0n;
    assert.equal(text(m.cache.cpuRead(kpage, 4).bytes), 'back', 'live slices copied back to the kernel page');
  });
});

describe('vduse: snapshots', () => {
  it('a restored machine keeps a working VDUSE domain (plain data, prototypes intact)', () => {
    const { m, dev } = setup();
    const a = page(m);
    m.cpuWrite(a, bytes('snap'));
    const h = dmaMapPhys(m, dev, a, 4096n, DMA_TO_DEVICE, 0);
    const snap = m.snapshot();
    const r = Machine.restore(snap, m.trace);
    const d2: VduseIovaDomain | null | undefined = r.iommus.get('vd0')?.vduse;
    assert.ok(d2 && d2 instanceof VduseIovaDomain);
    assert.notEqual(d2, m.iommus.get('vd0')?.vduse);
    assert.equal(text(vduseUserRead(r, d2, h, 4).bytes), 'snap');
    const dev2 = r.devices.get('vblk');
    assert.ok(dev2);
    assert.equal(dmaMapPhys(r, dev2, a, 4096n, DMA_TO_DEVICE, 0), 0x3ffe000n);
  });
});

describe('vduse: scenario builtins', () => {
  const head = 'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }\niommu vd0 : vduse { bounce_size = 1M }\n';

  it('returns set_map\'s errno and reads short on SIGBUS', () => {
    const src = head + [
      'g = phys_buffer(0x9000_0000, 8K)',
      'cpu_write(g, 0, "abc")',
      'e = vduse_domain_set_map(vd0, [{start = 0x2000, last = 0x1000, addr = 0x9000_0000, perm = RW}])',
      'expect error EFAULT vduse_domain_set_map(vd0, [{start = 0x2000, last = 0x1000, addr = 0x9000_0000, perm = RW}])',
      'expect vduse_domain_set_map(vd0, [{start = 0, last = 0x1fff, addr = g, perm = RO, file = "g", offset = 0}]) == 0',
      'expect user_read(vd0, 0, 3) == "abc"',
      'expect fault user_write(vd0, 0, "x")',
      'expect fault user_read(vd0, 0x2000, 1)',
    ].join('\n') + '\n';
    const r = runScenario(src, 't.dmas');
    assert.deepEqual(r.expectations.map((e) => e.passed), [true, true, true, true, true]);
    assert.equal(r.values.e, -EFAULT);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  });

  it('rejects a non-vduse IOMMU and a bad perm before running (checker) and at run time (builtin)', () => {
    const src = head + ['iommu s : arm-smmu-v3 { }', 'user_read(s, 0, 1)', 'vduse_domain_set_map(vd0, [{start = 0, last = 1, addr = 0, perm = 7}])'].join('\n') + '\n';
    const r = runScenario(src, 't.dmas');
    const errs = r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);
    assert.deepEqual(errs, ['4: user_read needs a vduse IOMMU; s is arm-smmu-v3', '5: perm is RO, WO or RW']);
    // The builtins refuse the same calls when they get past the checker (values only known at run time).
    const late = runScenario(head + ['iommu s : arm-smmu-v3 { }', 'xs = [s]', 'user_read(xs[0], 0, 1)', 'p = 7', 'vduse_domain_set_map(vd0, [{start = 0, last = 1, addr = 0, perm = p}])'].join('\n') + '\n', 't.dmas');
    const lateErrs = late.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);
    assert.deepEqual(lateErrs, [
      '5: s is an arm-smmu-v3 IOMMU; this call needs a `vduse` instance',
      '7: range 0 perm must be RO, WO or RW (VHOST_MAP_*), got 7',
    ]);
  });
});
