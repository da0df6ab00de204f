import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAndCheck, hasErrors } from '../../src/lang/frontend';
import { constValue, formatSize } from '../../src/lang/checker';
import { BUILTINS, DECL_KEYS, bindArgs, formatSignature } from '../../src/lang/builtins';
import { CONSTANTS } from '../../src/lang/constants';
import { parse } from '../../src/lang/parser';
import type { Diagnostic } from '../../src/lang/run-result';
import { SCENARIOS_DIR, acceptanceScenarios } from './fixtures';

const sharedDir = SCENARIOS_DIR;

const MACHINE = [
  'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 64M }',
  'iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }',
  'iommu vd0 : vduse { bounce_size = 64M; iova_limit = 1G + 128M }',
  'device nvme0 : pci "0000:01:00.0" { iommu = smmu0; coherent = true; dma_mask = 64 }',
  'a = alloc_pages(0)',
].join('\n');

/** Diagnostics of MACHINE + `extra`, as `line:code:message` with lines relative to `extra`. */
function diags(extra: string, machine = MACHINE): Diagnostic[] {
  const base = machine === '' ? 0 : machine.split('\n').length;
  const { diagnostics } = parseAndCheck(machine === '' ? extra : `${machine}\n${extra}`);
  return diagnostics.map((d) => ({ ...d, line: d.line - base }));
}

function only(extra: string, code: string, message: RegExp, machine = MACHINE): Diagnostic {
  const ds = diags(extra, machine);
  assert.equal(ds.length, 1, `expected one diagnostic, got:\n${ds.map((d) => `${d.line}:${d.code}: ${d.message}`).join('\n')}`);
  assert.equal(ds[0]!.code, code, ds[0]!.message);
  assert.match(ds[0]!.message, message);
  return ds[0]!;
}

function clean(extra: string, machine = MACHINE): void {
  const ds = diags(extra, machine);
  assert.deepEqual(ds.map((d) => `${d.line}:${d.code}: ${d.message}`), []);
}

describe('lang checker', () => {
  describe('acceptance scenarios', () => {
    const files = acceptanceScenarios().map((f) => f.name);
    for (const f of files) {
      it(`${f} parses and checks with zero diagnostics`, () => {
        const { diagnostics, program } = parseAndCheck(readFileSync(path.join(sharedDir, f), 'utf8'));
        assert.deepEqual(diagnostics.map((d) => `${d.line}:${d.column} ${d.code}: ${d.message}`), []);
        assert.ok(program.body.length > 0);
      });
    }
  });

  describe('names', () => {
    it('reports variables used before assignment, with the line they get it', () => {
      const d = only('x = y + 1\ny = 2', 'unknown-name', /'y' is used before it is assigned \(line 7\)/);
      assert.deepEqual([d.line, d.column, d.endColumn], [1, 5, 6]);
    });

    it('reports unknown names with a suggestion', () => {
      only('print nvme1', 'unknown-name', /unknown name 'nvme1' \(did you mean nvme0\?\)/);
      only('print DMA_TO_DEVIC', 'unknown-name', /unknown constant 'DMA_TO_DEVIC' \(did you mean DMA_TO_DEVICE\?\)/);
    });

    it('reports unknown functions with a suggestion', () => {
      only('dma_map_pag(nvme0, a, 0, 4K, DMA_TO_DEVICE)', 'unknown-name', /unknown function 'dma_map_pag' \(did you mean dma_map_page\?\)/);
      only('a(1)', 'unknown-name', /'a' is a variable, not a function/);
    });

    it('scopes the loop variable to its body but keeps names assigned inside', () => {
      clean('for i in 0 .. 4 {\n  hs[i] = i * 2\n}\nfor i in 0 .. 4 {\n  print hs[i]\n}\nprint hs');
      only('for i in 0 .. 4 { }\nprint i', 'unknown-name', /exists only inside its body/);
    });

    it('reports a device declared twice and names redefined', () => {
      only('device nvme0 : pci "0000:02:00.0" { }', 'duplicate', /'nvme0' is already a device, defined on line 4/);
      only('nvme0 = 1', 'duplicate', /already a device/);
      only('EINVAL = 1', 'reserved', /kernel constant/);
      only('kmalloc = 1', 'reserved', /builtin function/);
      only('platform { cpus = 2 }', 'duplicate', /platform is already declared on line 1/);
    });

    it('reports members that do not exist', () => {
      only('print a.phis', 'unknown-member', /a buffer has no member 'phis' \(did you mean phys\?\); members: phys, size/);
      only('print a.phys.x', 'type', /an integer has no members/);
      clean('st = dma_iova_try_alloc(nvme0, a, 4K)\nprint st.addr + st.size\nc = dma_alloc_coherent(nvme0, 8K)\nprint c.dma + c.cpu\nw = translate(nvme0, 0)\nprint w.accesses');
    });
  });

  describe('calls', () => {
    it('reports wrong argument counts', () => {
      only('dma_map_page(nvme0, a, 0)', 'arg-count', /missing arguments size, dir: dma_map_page\(dev, page, offset, size, dir\[, attrs\]\)/);
      only('dma_mapping_error(nvme0, 1, 2)', 'arg-count', /too many arguments/);
    });

    it('reports unknown and repeated named arguments', () => {
      only('dev_read(nvme0, 0, 4, pasdi = 1)', 'arg-name', /dev_read has no parameter 'pasdi'/);
      only('dev_read(nvme0, 0, 4, len = 4)', 'arg-name', /'len' is given twice/);
      clean('dev_read(nvme0, 0, len = 4, pasid = 1)');
    });

    it('reports arguments of the wrong kind', () => {
      only('dma_map_page(a, a, 0, 4K, DMA_TO_DEVICE)', 'arg-kind', /'dev' takes a device, not a buffer/);
      assert.deepEqual(diags('dma_map_page(a, nvme0, 0, 4K, DMA_TO_DEVICE)').map((d) => d.column), [14, 17]);
      only('user_read(smmu0, 0, 4)', 'arg-kind', /user_read needs a vduse IOMMU; smmu0 is arm-smmu-v3/);
      only('iommu_map(nvme0, 0, 0, 4K, IOMMU_READ)', 'arg-kind', /'domain' takes an IOMMU domain, not a device/);
      only('cpu_write(a, 0, 5)', 'arg-kind', /'data' takes a string or bytes value, not an integer/);
    });

    it('flags constants of the wrong family and invalid directions', () => {
      const d = only('dma_map_page(nvme0, a, 0, 4K, IOMMU_READ)', 'arg-kind', /'dir' takes a DMA direction, but IOMMU_READ is an IOMMU_\* prot flag/);
      assert.equal(d.severity, 'warning');
      only('dma_map_page(nvme0, a, 0, 4K, DMA_NONE)', 'out-of-range', /DMA_NONE is not a valid direction/);
      only('d = iommu_paging_domain_alloc(nvme0)\niommu_map(d, 0, a, 4K, DMA_TO_DEVICE)', 'arg-kind', /'prot' takes an IOMMU_\* prot flag, but DMA_TO_DEVICE is a DMA direction/);
    });

    it('checks builtin-specific ranges', () => {
      only('b = alloc_pages(11)', 'out-of-range', /order 11 is above MAX_PAGE_ORDER \(10\)/);
      clean('b = alloc_pages(10)');
      only('b = phys_buffer(0x1000, 4K)', 'out-of-range', /0x1000 \.\. 0x2000 is outside RAM \(platform memory: 0x80000000 \.\. 0x200000000\)/);
      only('b = phys_buffer(0x1_ffff_f000, 8K)', 'out-of-range', /outside RAM/);
      clean('b = phys_buffer(0x1_ffff_f000, 4K)');
      only('b = phys_buffer(0x1000, 4K)', 'out-of-range', /outside RAM \(platform memory: 0x80000000 \.\. 0x200000000\)/, 'device d : platform "x" { }'); // the default machine
      only('cpu_fill(a, 0x100)', 'out-of-range', /does not fit in a byte/);
    });

    it('refuses to use the value of a void call', () => {
      only('x = dma_unmap_page(nvme0, 0, 4K, DMA_TO_DEVICE)', 'void-value', /dma_unmap_page returns nothing/);
      only('expect dma_unmap_page(nvme0, 0, 4K, DMA_TO_DEVICE)', 'void-value', /returns nothing/);
      clean('dma_unmap_page(nvme0, 0, 4K, DMA_TO_DEVICE)');
    });

    it('checks scatterlists', () => {
      clean('s = sg_table(a : 0x800, a + 0x800 : 0x800)\nn = dma_map_sg(nvme0, s, DMA_TO_DEVICE)\nprint s[0].dma_address + s[1].dma_length\ndma_unmap_sg(nvme0, s, DMA_TO_DEVICE)');
      only('x = a : 4', 'parse', /expected end of line/);
      only('print [a : 4]', 'parse', /expected/);
      only('s = sg_table()', 'arg-count', /missing argument entries/);
      only('s = sg_table(nvme0 : 4)', 'arg-kind', /physical address/);
    });

    it('checks vduse_domain_set_map ranges', () => {
      clean('vduse_domain_set_map(vd0, [{start = 0, last = 0xfff, addr = 0x9000_0000, perm = RW, file = "m", offset = 0}])');
      assert.deepEqual(diags('vduse_domain_set_map(vd0, [{start = 0, last = 0xfff, adr = 0}])').map((d) => `${d.code}: ${d.message}`), [
        'arg-count: IOTLB range needs addr',
        "unknown-key: unknown IOTLB range field 'adr' (did you mean addr?); fields: start, last, addr, perm, file, offset",
      ]);
    });

    it('checks expect operands', () => {
      only('expect error EFOO dma_mapping_error(nvme0, 0)', 'unknown-name', /unknown errno 'EFOO'/);
      only('expect error IOMMU_READ dma_mapping_error(nvme0, 0)', 'arg-kind', /not an errno/);
      clean('expect error -EINVAL iommu_paging_domain_alloc(nvme0)');
      const w = only('expect fault dma_mapping_error(nvme0, 0)', 'expect-form', /cannot raise an IO page fault/);
      assert.equal(w.severity, 'warning');
    });

    it('checks operators', () => {
      only('x = nvme0 + 1', 'type', /'\+' needs integers, not a device/);
      only('x = 1 / 0', 'div-zero', /division by zero/);
      clean('x = a + 0x100\ny = a - 1\nexpect cpu_read(a, 0, 2) == "hi"');
    });

    it('warns about values that are computed and dropped', () => {
      const d = only('a.phys == 0', 'no-effect', /not used/);
      assert.equal(d.severity, 'warning');
    });
  });

  describe('declarations', () => {
    it('reports unknown keys with a suggestion', () => {
      only('iommu x : generic { granul = 4K }', 'unknown-key', /unknown iommu key 'granul' \(did you mean granule\?\)/);
      only('device d : pci "0000:02:00.0" { dmamask = 32 }', 'unknown-key', /unknown device key 'dmamask' \(did you mean dma_mask\?\)/);
    });

    it('reports out-of-range values', () => {
      only('iommu x : generic { granule = 3K }', 'out-of-range', /granule must be a power of two, not 3K/);
      only('iommu x : arm-smmu-v3 { granule = 8K }', 'out-of-range', /arm-smmu-v3 granules are 4K, 16K or 64K/);
      only('iommu x : generic { ias = 70 }', 'out-of-range', /ias must be between 12 and 64, not 70/);
      only('iommu x : arm-smmu-v3 { oas = 56 }', 'out-of-range', /at most 52 bits/);
      only('iommu x : intel-vtd { aw = 40 }', 'out-of-range', /aw must be one of 39, 48, 57, not 40/);
      only('iommu x : intel-vtd { stage = third }', 'out-of-range', /stage must be first or second/);
      only('device d : pci "0000:02:00.0" { dma_mask = 0 }', 'out-of-range', /dma_mask must be between 12 and 64/);
      only('device d : pci "0000:02:00.0" { dma_mask = 0xffff_ffff }', 'out-of-range', /dma_mask is a bit count: write 32/);
      only('device d : pci "0000:02:00.0" { segment_boundary = 0x1000 }', 'out-of-range', /mask 2\^n - 1/);
      only('platform { page_size = 8K }', 'out-of-range', /page_size must be one of 4K, 16K, 64K, not 8K/, '');
      only('platform { memory = 0x2000 .. 0x1000 }', 'out-of-range', /is empty/, '');
      only('iommu v : vduse { bounce_size = 2G; iova_limit = 1G }', 'out-of-range', /bounce_size 2G is above iova_limit 1G/);
    });

    it('reports keys of the wrong type', () => {
      only('device d : pci "0000:02:00.0" { coherent = 2 }', 'type', /coherent takes true or false/);
      clean('device d : pci "0000:02:00.0" { coherent = 0; default_domain = "identity"; iommu = smmu0 }');
      only('platform { swiotlb = 64K }', 'out-of-range', /swiotlb must be 0 \(no pool\) or at least 1M, not 64K/, '');
      only('iommu x : generic { ias = a }', 'not-constant', /ias takes a constant number/);
    });

    it('warns about keys that do not apply to the IOMMU kind', () => {
      const d = only('iommu x : arm-smmu-v3 { aw = 48 }', 'key-not-applicable', /aw applies to intel-vtd IOMMUs; arm-smmu-v3 ignores it/);
      assert.equal(d.severity, 'warning');
    });

    it('reports unknown IOMMU kinds and buses', () => {
      only('iommu x : arm-smmu-v4 { }', 'unknown-kind', /unknown IOMMU kind 'arm-smmu-v4' \(did you mean arm-smmu-v3\?\)/);
      only('device d : pcie "0000:02:00.0" { }', 'unknown-kind', /unknown bus 'pcie' \(did you mean pci\?\)/);
    });

    it('reports devices behind undeclared or later IOMMUs', () => {
      only('device d : pci "0000:02:00.0" { iommu = smmu9 }', 'unknown-name', /no IOMMU named 'smmu9'/);
      only('device d : pci "0000:02:00.0" { iommu = [smmu0, v2] }\niommu v2 : intel-vtd { }', 'unknown-name', /iommu v2 is declared later \(line 7\)/);
      only('device d : pci "0000:02:00.0" { iommu = nvme0 }', 'arg-kind', /nvme0 is a device, not an IOMMU/);
    });

    it('checks default domain types against the chain', () => {
      only('device d : pci "0000:02:00.0" { iommu = smmu0; default_domain = dma-fqq }', 'out-of-range', /not 'dma-fqq' \(did you mean dma-fq\?\)/);
      only('device d : pci "0000:02:00.0" { iommu = smmu0; default_domain = [dma, dma] }', 'arg-count', /2 types for a chain of 1/);
      clean('iommu v2 : intel-vtd { }\ndevice d : pci "0000:02:00.0" { iommu = [smmu0, v2]; default_domain = [dma-fq, identity] }');
    });

    it('checks groups share an IOMMU', () => {
      clean('device f0 : pci "0000:6b:00.0" { iommu = smmu0; group = g1 }\ndevice f1 : pci "0000:6b:00.1" { iommu = smmu0; group = g1 }');
      only('device f0 : pci "0000:6b:00.0" { iommu = smmu0; group = g1 }\ndevice f1 : pci "0000:6b:00.1" { group = g1 }', 'group', /different IOMMU/);
    });

    it('checks mm mappings', () => {
      clean('mm p1 { map 0x7f00_0000_0000 -> a size 4K rw }\nh = iommu_sva_bind_device(nvme0, p1)\nprint h.pasid');
      only('mm p1 { map 0x7f00_0000_0100 -> a size 4K rw }', 'out-of-range', /not aligned to the 4K page size/);
      only('mm p1 { map 0x7f00_0000_0000 -> a size 4K rq }', 'out-of-range', /permission 'rq'/);
      only('mm p1 { map 0x1000 -> a size 8K r; map 0x2000 -> a size 4K r }', 'out-of-range', /overlaps/);
    });

    it('keeps declarations at the top level', () => {
      only('for i in 0 .. 2 {\n  iommu x : generic { }\n}', 'decl-in-loop', /top level/);
    });

    it('warns about PCI ids that are not BDFs', () => {
      only('device d : pci "eth0" { }', 'bad-id', /BDF/);
    });
  });

  describe('front end', () => {
    it('sorts diagnostics and reports errors', () => {
      const { diagnostics } = parseAndCheck('x = y\nz = (\nprint q');
      assert.deepEqual(diagnostics.map((d) => d.line), [1, 2, 3]);
      assert.ok(hasErrors(diagnostics));
      assert.ok(!hasErrors(parseAndCheck('x = 1').diagnostics));
    });

    it('lists the symbols the scenario defines', () => {
      const { symbols } = parseAndCheck(`${MACHINE}\nmm p { map 0x1000 -> a size 4K r }\nfor i in 0..2 { }`);
      assert.deepEqual(symbols.map((s) => `${s.name}:${s.origin}:${s.kind}`), [
        'smmu0:iommu:iommu', 'vd0:iommu:iommu', 'nvme0:device:device', 'a:variable:buffer', 'p:mm:mm', 'i:loop:int',
      ]);
      assert.equal(symbols[0]!.iommuKind, 'arm-smmu-v3');
    });
  });

  describe('tables', () => {
    it('has a signature and a doc for every call in the language reference', () => {
      const calls = ['alloc_pages', 'kmalloc', 'phys_buffer', 'dma_alloc_coherent', 'cpu_write', 'cpu_fill', 'cpu_read',
        'dma_map_page', 'dma_map_single', 'dma_unmap_page', 'dma_unmap_single', 'dma_mapping_error', 'sg_table', 'dma_map_sg',
        'dma_unmap_sg', 'dma_free_coherent', 'dma_sync_single_for_cpu', 'dma_sync_single_for_device', 'dma_sync_sg_for_cpu',
        'dma_sync_sg_for_device', 'dma_iova_try_alloc', 'dma_use_iova', 'dma_iova_link', 'dma_iova_sync', 'dma_iova_unlink',
        'dma_iova_destroy', 'dma_iova_free', 'iommu_paging_domain_alloc', 'iommu_attach_device', 'iommu_detach_device',
        'iommu_map', 'iommu_unmap', 'iommu_iova_to_phys', 'iommu_flush_iotlb_all', 'iommu_nested_domain_alloc',
        'iommu_attach_device_pasid', 'iommu_detach_device_pasid', 'iommu_replace_device_pasid', 'iommu_attach_handle_get',
        'iommu_sva_bind_device', 'iommu_sva_unbind_device', 'vduse_domain_set_map', 'user_read', 'user_write', 'dev_read',
        'dev_write', 'translate', 'events'];
      for (const c of calls) {
        const b = BUILTINS.get(c);
        assert.ok(b, c);
        assert.ok(b.doc.length > 40, `${c} has a doc`);
        for (const p of b.params) assert.ok(p.doc.length > 0, `${c}.${p.name} has a doc`);
      }
      assert.equal(formatSignature(BUILTINS.get('dev_read')!), 'dev_read(dev, addr, len[, pasid = ...])');
      assert.equal(formatSignature(BUILTINS.get('sg_table')!), 'sg_table(entries...)');
    });

    it('binds positional and named arguments to parameters', () => {
      const call = parse('iommu_nested_domain_alloc(s2, gpu, granule = 16K)').program.body[0]!;
      assert.equal(call.kind, 'expr');
      if (call.kind !== 'expr' || call.expr.kind !== 'call') return;
      const b = bindArgs(BUILTINS.get('iommu_nested_domain_alloc')!, call.expr);
      assert.deepEqual(b.values.map((v) => (v === undefined ? '-' : v.kind === 'ident' ? v.name : v.kind === 'number' ? String(v.value) : '?')), ['s2', 'gpu', '-', '16384']);
      assert.deepEqual(b.problems, []);
    });

    it('has the kernel values of the constants', () => {
      const v = (n: string): bigint | undefined => CONSTANTS.get(n)?.value;
      assert.deepEqual([v('DMA_BIDIRECTIONAL'), v('DMA_TO_DEVICE'), v('DMA_FROM_DEVICE'), v('DMA_NONE')], [0n, 1n, 2n, 3n]);
      assert.deepEqual([v('IOMMU_READ'), v('IOMMU_WRITE'), v('IOMMU_CACHE'), v('IOMMU_NOEXEC'), v('IOMMU_MMIO'), v('IOMMU_PRIV')], [1n, 2n, 4n, 8n, 16n, 32n]);
      assert.equal(v('DMA_ATTR_SKIP_CPU_SYNC'), 1n << 5n);
      assert.equal(v('DMA_ATTR_MMIO'), 1n << 10n);
      assert.equal(v('DMA_MAPPING_ERROR'), (1n << 64n) - 1n);
      assert.deepEqual([v('RO'), v('WO'), v('RW'), v('IOMMU_NO_PASID'), v('EINVAL'), v('ENOSPC')], [1n, 2n, 3n, 0n, 22n, 28n]);
    });

    it('declares the keys docs/language.md lists', () => {
      assert.deepEqual([...DECL_KEYS.platform.keys()], ['page_size', 'memory', 'cache_line', 'swiotlb', 'swiotlb_force', 'swiotlb_dynamic', 'cpus', 'sanitize_cpu_bounds', 'sanitize_dma_bounds', 'sanitize_dma_direct', 'sanitize_stale_iotlb']);
      for (const k of ['granule', 'pgsizes', 'ias', 'oas', 'levels', 'iotlb', 'deferred_flush', 'pasid_bits', 'coherent_walk', 'aw', 'stage', 'bounce_size', 'iova_limit']) assert.ok(DECL_KEYS.iommu.has(k), k);
      for (const k of ['iommu', 'coherent', 'untrusted', 'dma_mask', 'max_segment_size', 'segment_boundary', 'pasid_bits', 'ats', 'pri', 'min_align_mask', 'default_domain', 'group']) assert.ok(DECL_KEYS.device.has(k), k);
    });

    it('folds constants with C unsigned arithmetic', () => {
      const e = (src: string): bigint | undefined => {
        const s = parse(`x = ${src}`).program.body[0]!;
        return s.kind === 'assign' ? constValue(s.value) : undefined;
      };
      assert.equal(e('-1'), (1n << 64n) - 1n);
      assert.equal(e('1G + 128M'), 0x48000000n);
      assert.equal(e('IOMMU_READ | IOMMU_WRITE'), 3n);
      assert.equal(e('1 << 64'), 0n);
      assert.equal(e('4 / 0'), undefined);
      assert.equal(e('x + 1'), undefined);
      assert.equal(formatSize(0x48000000n), '1152M');
      assert.equal(formatSize(0x1234n), '0x1234');
    });
  });
});
