// The signature table of every call a scenario can make (docs/language.md,
// calls) and of every declaration key (declarations): kernel argument names and
// order, the kind of each parameter, what the call returns and a short doc of
// what the kernel function does. The checker, hovers, signature help and
// completion all read these tables; the interpreter uses bindArgs() to match
// arguments to parameters the same way the checker does.

import { IOMMU_KINDS as ENGINE_IOMMU_KINDS } from '../engine/iommu/iommu-kinds';
import type { CallExpr, Expr, NamedArg, Span } from './ast';

/** What a value is, as far as the checker can tell statically. */
export type ValueKind =
  | 'int' | 'bool' | 'string' | 'bytes' | 'range' | 'list' | 'record'
  | 'buffer' | 'coherent' | 'device' | 'iommu' | 'domain' | 'iova_state' | 'sva_handle'
  | 'attach_handle' | 'sg' | 'sg_entry' | 'mm' | 'walk'
  /** Calls that return nothing (the kernel function is void). */
  | 'void'
  | 'unknown';

/**
 * What a parameter accepts:
 * - `phys`: a physical address, or a buffer standing for its start (`buf` = `buf.phys`), or a coherent allocation;
 * - `dir` / `prot` / `attrs`: integers from the DMA_*, IOMMU_* and DMA_ATTR_* families;
 * - `bytes`: a bytes value or a string; `data`: bytes, a string, or an integer length;
 * - `sg_entry`: `addr : len` (or a whole buffer), only in sg_table.
 */
export type ParamKind =
  | 'device' | 'buffer' | 'iommu' | 'domain' | 'iova_state' | 'sva_handle' | 'coherent' | 'sg' | 'mm'
  | 'int' | 'phys' | 'dir' | 'prot' | 'attrs' | 'bool' | 'bytes' | 'data' | 'string' | 'list' | 'sg_entry' | 'any';

export interface ParamSpec {
  /** Kernel argument name; also the name for `name = value` arguments. */
  name: string;
  kind: ParamKind;
  doc: string;
  optional?: boolean;
  /** Only as `name = value` (the kernel has no such argument; the scenario adds it). */
  namedOnly?: boolean;
  /** Takes all remaining positional arguments (sg_table entries). */
  variadic?: boolean;
  /** What an omitted optional parameter means. */
  default?: string;
}

export type BuiltinGroup = 'memory' | 'dma' | 'sg' | 'iova' | 'iommu' | 'pasid' | 'sva' | 'vduse' | 'device' | 'inspect';

export interface BuiltinSpec {
  name: string;
  group: BuiltinGroup;
  params: readonly ParamSpec[];
  returns: ValueKind;
  /** The kernel prototype this call stands for (or "scenario" for emulator-only calls). */
  kernel: string;
  doc: string;
  /** For `iommu` parameters: the IOMMU kinds the call works on. */
  iommuKinds?: readonly string[];
}

const p = (name: string, kind: ParamKind, doc: string, extra: Partial<ParamSpec> = {}): ParamSpec => ({ name, kind, doc, ...extra });

const DEV = p('dev', 'device', 'The device doing DMA (a declared `device`).');
const DIR = p('dir', 'dir', 'DMA direction: DMA_TO_DEVICE, DMA_FROM_DEVICE or DMA_BIDIRECTIONAL.');
const ATTRS = p('attrs', 'attrs', 'DMA_ATTR_* flags, or-ed together.', { optional: true, default: '0' });
const DOMAIN = p('domain', 'domain', 'An IOMMU domain (from iommu_paging_domain_alloc or iommu_nested_domain_alloc).');
const PASID = p('pasid', 'int', 'Process Address Space ID; 0 is IOMMU_NO_PASID.');
/** The nents a driver passes to dma_unmap_sg / dma_sync_sg_*: named, since the kernel's order puts it before dir. */
const SG_NENTS = p('nents', 'int', 'The entry count the driver passes; it must be the count given to dma_map_sg, not what dma_map_sg returned (dma-debug reports a different entry count).', { optional: true, namedOnly: true, default: 'the scatterlist\'s own count' });
const ACCESS_PASID = p('pasid', 'int', 'Tag the access with this PASID (a PASID-tagged TLP).', { optional: true, namedOnly: true, default: 'no PASID (the RID)' });

const list: BuiltinSpec[] = [
  // ---- memory and the CPU
  {
    name: 'alloc_pages', group: 'memory', returns: 'buffer', kernel: 'struct page *alloc_pages(gfp_t gfp, unsigned int order)',
    params: [p('order', 'int', 'log2 of the number of pages; at most MAX_PAGE_ORDER (10).')],
    doc: 'Allocates 2^order physically contiguous pages from the buddy allocator. The buffer has `.phys` and `.size` (PAGE_SIZE << order).',
  },
  {
    name: 'kmalloc', group: 'memory', returns: 'buffer', kernel: 'void *kmalloc(size_t size, gfp_t flags)',
    params: [p('size', 'int', 'Bytes; the object comes from the smallest kmalloc cache that fits and is aligned to ARCH_KMALLOC_MINALIGN.')],
    doc: 'Allocates a slab object. Small objects share pages (and possibly cache lines) with other objects, which matters for non-coherent DMA.',
  },
  {
    name: 'phys_buffer', group: 'memory', returns: 'buffer', kernel: 'scenario',
    params: [p('phys', 'int', 'Physical start address (inside the platform memory).'), p('size', 'int', 'Size in bytes.')],
    doc: 'A buffer at a fixed physical address, for reproducing a report that names addresses. It must lie inside the platform `memory`.',
  },
  {
    name: 'dma_alloc_coherent', group: 'dma', returns: 'coherent', kernel: 'void *dma_alloc_coherent(struct device *dev, size_t size, dma_addr_t *dma_handle, gfp_t gfp)',
    params: [DEV, p('size', 'int', 'Bytes; rounded up to whole pages.')],
    doc: 'Allocates memory that CPU and device see coherently and maps it for the device. The result has `.cpu` (physical address of the memory), `.dma` (the device address) and `.size`. Free it with dma_free_coherent().',
  },
  {
    name: 'dma_free_coherent', group: 'dma', returns: 'void', kernel: 'void dma_free_coherent(struct device *dev, size_t size, void *cpu_addr, dma_addr_t dma_handle)',
    params: [DEV, p('size', 'int', 'Must equal the size passed to dma_alloc_coherent().'), p('coh', 'coherent', 'The value dma_alloc_coherent() returned (stands for cpu_addr and dma_handle).')],
    doc: 'Unmaps and frees a coherent allocation. dma-debug reports a size that differs from the allocation or memory that was never allocated.',
  },
  {
    name: 'cpu_write', group: 'memory', returns: 'void', kernel: 'memcpy(buf + offset, data, len)',
    params: [p('buf', 'phys', 'The buffer to write, or a physical address such as coh.cpu.'), p('offset', 'int', 'Byte offset from there.'), p('data', 'bytes', 'A string or bytes value.')],
    doc: 'The CPU stores bytes into a buffer through its cache (lines become dirty on non-coherent platforms). Writing a buffer that is mapped or synced for the device is reported: the CPU does not own it.',
  },
  {
    name: 'cpu_fill', group: 'memory', returns: 'void', kernel: 'memset(buf + offset, c, len)',
    params: [
      p('buf', 'phys', 'The buffer to fill, or a physical address.'),
      p('c', 'int', 'The byte value (0..255).'),
      p('offset', 'int', 'Byte offset inside the buffer.', { optional: true, default: '0' }),
      p('len', 'int', 'Bytes to fill.', { optional: true, default: 'to the end of the buffer' }),
    ],
    doc: 'The CPU fills (part of) a buffer with one byte value, through its cache, like memset().',
  },
  {
    name: 'cpu_read', group: 'memory', returns: 'bytes', kernel: 'memcpy(out, buf + offset, len)',
    params: [p('buf', 'phys', 'The buffer to read, or a physical address.'), p('offset', 'int', 'Byte offset from there.'), p('len', 'int', 'Bytes to read.')],
    doc: 'The CPU loads bytes from a buffer through its cache. A read of lines the device wrote without a dma_sync_*_for_cpu() or unmap since is a stale read.',
  },

  // ---- streaming DMA API
  {
    name: 'dma_map_page', group: 'dma', returns: 'int', kernel: 'dma_addr_t dma_map_page_attrs(struct device *dev, struct page *page, size_t offset, size_t size, enum dma_data_direction dir, unsigned long attrs)',
    params: [DEV, p('page', 'phys', 'The buffer (its first page), or a physical address.'), p('offset', 'int', 'Byte offset into the buffer.'), p('size', 'int', 'Bytes to map.'), DIR, ATTRS],
    doc: 'Maps part of a buffer for streaming DMA and returns the device address: through the IOMMU DMA domain (IOVA allocation, page-table map), dma-direct, or a swiotlb bounce slot. Syncs CPU caches for the device. Returns DMA_MAPPING_ERROR on failure; check it with dma_mapping_error().',
  },
  {
    name: 'dma_map_single', group: 'dma', returns: 'int', kernel: 'dma_addr_t dma_map_single_attrs(struct device *dev, void *ptr, size_t size, enum dma_data_direction dir, unsigned long attrs)',
    params: [DEV, p('addr', 'phys', 'Start of the memory (a physical address such as buf.phys + 0x100, or a buffer).'), p('size', 'int', 'Bytes to map.'), DIR, ATTRS],
    doc: 'Maps a kernel-virtual (here: physical) range for streaming DMA, like dma_map_page() on the page that holds it. Returns the device address or DMA_MAPPING_ERROR.',
  },
  {
    name: 'dma_unmap_page', group: 'dma', returns: 'void', kernel: 'void dma_unmap_page_attrs(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir, unsigned long attrs)',
    params: [DEV, p('addr', 'int', 'The device address dma_map_page() returned.'), p('size', 'int', 'Must equal the mapped size.'), DIR, ATTRS],
    doc: 'Ends a streaming mapping: syncs for the CPU (copying back from a bounce buffer), unmaps the IOVA and frees it. dma-debug reports unknown addresses and a size, direction or type that differ from the map.',
  },
  {
    name: 'dma_unmap_single', group: 'dma', returns: 'void', kernel: 'void dma_unmap_single_attrs(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir, unsigned long attrs)',
    params: [DEV, p('addr', 'int', 'The device address dma_map_single() returned.'), p('size', 'int', 'Must equal the mapped size.'), DIR, ATTRS],
    doc: 'Ends a mapping made with dma_map_single(); the same checks as dma_unmap_page(), and unmapping a page mapping with it is a type mismatch.',
  },
  {
    name: 'dma_mapping_error', group: 'dma', returns: 'int', kernel: 'int dma_mapping_error(struct device *dev, dma_addr_t dma_addr)',
    params: [DEV, p('dma_addr', 'int', 'A device address a map call returned.')],
    doc: 'Returns -ENOMEM (non-zero) when dma_addr is DMA_MAPPING_ERROR, else 0. dma-debug records that the driver checked the mapping; unchecked mappings are warned about at unmap.',
  },
  {
    name: 'dma_sync_single_for_cpu', group: 'dma', returns: 'void', kernel: 'void dma_sync_single_for_cpu(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir)',
    params: [DEV, p('addr', 'int', 'Device address inside a streaming mapping.'), p('size', 'int', 'Bytes to sync.'), DIR],
    doc: 'Gives ownership of (part of) a mapping back to the CPU: invalidates CPU caches for DMA_FROM_DEVICE/BIDIRECTIONAL and copies from a bounce buffer. dma-debug reports syncs outside the mapping.',
  },
  {
    name: 'dma_sync_single_for_device', group: 'dma', returns: 'void', kernel: 'void dma_sync_single_for_device(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir)',
    params: [DEV, p('addr', 'int', 'Device address inside a streaming mapping.'), p('size', 'int', 'Bytes to sync.'), DIR],
    doc: 'Gives ownership of (part of) a mapping to the device: writes back CPU caches and copies into a bounce buffer for DMA_TO_DEVICE/BIDIRECTIONAL.',
  },

  // ---- scatterlists
  {
    name: 'sg_table', group: 'sg', returns: 'sg', kernel: 'int sg_alloc_table(struct sg_table *table, unsigned int nents, gfp_t gfp_mask) + sg_set_page()',
    params: [p('entries', 'sg_entry', 'Entries `addr : len` (e.g. `buf + 0x200 : 0x600`), or a whole buffer.', { variadic: true })],
    doc: 'Builds a scatterlist, one entry per argument, as sg_alloc_table() plus sg_set_page()/sg_set_buf() would. Index it after mapping: `sgl[0].dma_address`, `sgl[0].dma_length`.',
  },
  {
    name: 'dma_map_sg', group: 'sg', returns: 'int', kernel: 'int dma_map_sg_attrs(struct device *dev, struct scatterlist *sg, int nents, enum dma_data_direction dir, unsigned long attrs)',
    params: [DEV, p('sgl', 'sg', 'A scatterlist from sg_table().'), DIR, ATTRS],
    doc: 'Maps every entry of a scatterlist; behind an IOMMU the entries are merged into one contiguous IOVA range where segment size and boundary allow. Returns the number of DMA segments (0 on failure); each entry then has `.dma_address` and `.dma_length`.',
  },
  {
    name: 'dma_unmap_sg', group: 'sg', returns: 'void', kernel: 'void dma_unmap_sg_attrs(struct device *dev, struct scatterlist *sg, int nents, enum dma_data_direction dir, unsigned long attrs)',
    params: [DEV, p('sgl', 'sg', 'The scatterlist passed to dma_map_sg().'), DIR, ATTRS, SG_NENTS],
    doc: 'Unmaps a scatterlist. nents must be the count passed to dma_map_sg(), not the count it returned; dma-debug reports a different entry count or direction.',
  },
  {
    name: 'dma_sync_sg_for_cpu', group: 'sg', returns: 'void', kernel: 'void dma_sync_sg_for_cpu(struct device *dev, struct scatterlist *sg, int nelems, enum dma_data_direction dir)',
    params: [DEV, p('sgl', 'sg', 'A mapped scatterlist.'), DIR, SG_NENTS],
    doc: 'dma_sync_single_for_cpu() for every entry of a mapped scatterlist.',
  },
  {
    name: 'dma_sync_sg_for_device', group: 'sg', returns: 'void', kernel: 'void dma_sync_sg_for_device(struct device *dev, struct scatterlist *sg, int nelems, enum dma_data_direction dir)',
    params: [DEV, p('sgl', 'sg', 'A mapped scatterlist.'), DIR, SG_NENTS],
    doc: 'dma_sync_single_for_device() for every entry of a mapped scatterlist.',
  },

  // ---- two-step IOVA API (v6.16+)
  {
    name: 'dma_iova_try_alloc', group: 'iova', returns: 'iova_state', kernel: 'bool dma_iova_try_alloc(struct device *dev, struct dma_iova_state *state, phys_addr_t phys, size_t size)',
    params: [DEV, p('phys', 'phys', 'Physical address of the first byte to be linked; its offset inside the granule is kept in the IOVA.'), p('size', 'int', 'Total bytes that will be linked.')],
    doc: 'Reserves an IOVA range for later dma_iova_link() calls, when the device is behind an IOMMU DMA domain. Returns the state (`st.addr`, `st.size`); dma_use_iova(st) is false when the device must use the regular dma_map_* API instead.',
  },
  {
    name: 'dma_use_iova', group: 'iova', returns: 'bool', kernel: 'bool dma_use_iova(struct dma_iova_state *state)',
    params: [p('state', 'iova_state', 'A state from dma_iova_try_alloc().')],
    doc: 'True when dma_iova_try_alloc() reserved an IOVA range (state->__size != 0).',
  },
  {
    name: 'dma_iova_link', group: 'iova', returns: 'int', kernel: 'int dma_iova_link(struct device *dev, struct dma_iova_state *state, phys_addr_t phys, size_t offset, size_t size, enum dma_data_direction dir, unsigned long attrs)',
    params: [DEV, p('state', 'iova_state', 'The reserved range.'), p('phys', 'phys', 'Physical address to link.'), p('offset', 'int', 'Offset inside the reserved IOVA range.'), p('size', 'int', 'Bytes to link.'), DIR, ATTRS],
    doc: 'Maps phys at state->addr + offset in the IOMMU without flushing the IOTLB; untrusted devices bounce unaligned head and tail granules through swiotlb. Only the first link may start inside a granule (else -EIO). Follow with dma_iova_sync().',
  },
  {
    name: 'dma_iova_sync', group: 'iova', returns: 'int', kernel: 'int dma_iova_sync(struct device *dev, struct dma_iova_state *state, size_t offset, size_t size)',
    params: [DEV, p('state', 'iova_state', 'The reserved range.'), p('offset', 'int', 'Offset of the linked range to sync.'), p('size', 'int', 'Bytes.')],
    doc: 'Makes linked mappings visible to the device (iotlb_sync_map). Device accesses to linked but unsynced IOVAs are reported.',
  },
  {
    name: 'dma_iova_unlink', group: 'iova', returns: 'void', kernel: 'void dma_iova_unlink(struct device *dev, struct dma_iova_state *state, size_t offset, size_t size, enum dma_data_direction dir, unsigned long attrs)',
    params: [DEV, p('state', 'iova_state', 'The reserved range.'), p('offset', 'int', 'Offset of the linked range.'), p('size', 'int', 'Bytes to unlink.'), DIR, ATTRS],
    doc: 'Unmaps a linked range (syncing bounce buffers back for the CPU) and flushes the IOTLB; the IOVA stays reserved. Unlinking what was never linked is reported.',
  },
  {
    name: 'dma_iova_destroy', group: 'iova', returns: 'void', kernel: 'void dma_iova_destroy(struct device *dev, struct dma_iova_state *state, size_t mapped_len, enum dma_data_direction dir, unsigned long attrs)',
    params: [DEV, p('state', 'iova_state', 'The reserved range.'), p('mapped_len', 'int', 'Bytes linked from offset 0; must match what was linked.'), DIR, ATTRS],
    doc: 'Unlinks mapped_len bytes from the start of the range and frees the IOVA reservation (dma_iova_unlink() + dma_iova_free()).',
  },
  {
    name: 'dma_iova_free', group: 'iova', returns: 'void', kernel: 'void dma_iova_free(struct device *dev, struct dma_iova_state *state)',
    params: [DEV, p('state', 'iova_state', 'A range with nothing linked any more.')],
    doc: 'Frees an IOVA reservation whose links were all unlinked.',
  },

  // ---- IOMMU API
  {
    name: 'iommu_paging_domain_alloc', group: 'iommu', returns: 'domain', kernel: 'struct iommu_domain *iommu_paging_domain_alloc_flags(struct device *dev, unsigned int flags)',
    params: [DEV, p('nest_parent', 'bool', 'Allocate a stage-2 domain that can parent nested domains (IOMMU_HWPT_ALLOC_NEST_PARENT).', { optional: true, default: 'false' })],
    doc: 'Allocates an unmanaged paging domain on the device\'s IOMMU (its page-table format, granule and aperture). Returns -EINVAL (and friends) when the IOMMU cannot build one for this kernel, e.g. a 16K-only DART on a 4K-page kernel.',
  },
  {
    name: 'iommu_attach_device', group: 'iommu', returns: 'int', kernel: 'int iommu_attach_device(struct iommu_domain *domain, struct device *dev)',
    params: [DOMAIN, DEV],
    doc: 'Attaches the device (its whole IOMMU group, which must hold just this device: -EINVAL otherwise) to the domain, replacing the default domain. -EBUSY while the group holds a domain other than its default (the same domain again included). Which IOMMU may take the domain is the driver\'s rule: SMMUv3 only the SMMU that made it (-EINVAL), and a stage-2 or nested domain not while PASIDs are in use (-EBUSY); VT-d any compatible DMAR unit (width, levels, coherency, page sizes; -EINVAL otherwise), which then caches the domain\'s translations and gets its invalidations too.',
  },
  {
    name: 'iommu_detach_device', group: 'iommu', returns: 'void', kernel: 'void iommu_detach_device(struct iommu_domain *domain, struct device *dev)',
    params: [DOMAIN, DEV],
    doc: 'Detaches the device from the domain and puts its group back on the default domain.',
  },
  {
    name: 'iommu_map', group: 'iommu', returns: 'int', kernel: 'int iommu_map(struct iommu_domain *domain, unsigned long iova, phys_addr_t paddr, size_t size, int prot, gfp_t gfp)',
    params: [DOMAIN, p('iova', 'int', 'I/O virtual address; aligned to the smallest page size.'), p('paddr', 'phys', 'Physical address (an IPA for a nested stage 1); same alignment.'), p('size', 'int', 'Bytes; same alignment.'), p('prot', 'prot', 'IOMMU_READ | IOMMU_WRITE | ... .')],
    doc: 'Maps [iova, iova + size) to paddr in the domain\'s page table using the largest page sizes that fit. Returns -EINVAL ("unaligned: iova ... min_pagesz ...") unless iova, paddr and size are aligned to the smallest supported page.',
  },
  {
    name: 'iommu_unmap', group: 'iommu', returns: 'int', kernel: 'size_t iommu_unmap(struct iommu_domain *domain, unsigned long iova, size_t size)',
    params: [DOMAIN, p('iova', 'int', 'Start of the range.'), p('size', 'int', 'Bytes.')],
    doc: 'Unmaps a range and invalidates the IOTLB for it. Returns the number of bytes unmapped.',
  },
  {
    name: 'iommu_iova_to_phys', group: 'iommu', returns: 'int', kernel: 'phys_addr_t iommu_iova_to_phys(struct iommu_domain *domain, dma_addr_t iova)',
    params: [DOMAIN, p('iova', 'int', 'Address to look up.')],
    doc: 'Walks the domain\'s page table in software and returns the physical address iova maps to, or 0 when unmapped. Identity domains return iova.',
  },
  {
    name: 'iommu_flush_iotlb_all', group: 'iommu', returns: 'void', kernel: 'void iommu_flush_iotlb_all(struct iommu_domain *domain)',
    params: [DOMAIN],
    doc: 'Invalidates every IOTLB entry of the domain (what a flush queue does when it drains).',
  },
  {
    name: 'iommu_nested_domain_alloc', group: 'iommu', returns: 'domain', kernel: 'iommufd: IOMMU_HWPT_ALLOC with a nest parent (domain_alloc_nested)',
    params: [
      p('parent', 'domain', 'A stage-2 domain allocated with nest_parent = true.'), DEV,
      p('ias', 'int', 'Stage-1 input address bits.', { optional: true, default: 'the IOMMU\'s ias' }),
      p('granule', 'int', 'Stage-1 granule.', { optional: true, default: 'the IOMMU\'s granule' }),
    ],
    doc: 'Allocates a stage-1 domain over a stage-2 parent, as a VMM does through iommufd. The stage-1 tables live in guest memory at IPAs the parent maps, so every stage-1 table read is itself translated by stage 2. iommu_map/iommu_unmap on it stand for the guest editing its own tables.',
  },
  {
    name: 'guest_stage1_map', group: 'iommu', returns: 'int', kernel: 'scenario: the guest writes its own stage-1 table entries (no kernel call)',
    params: [p('domain', 'domain', 'A nested domain.'), p('iova', 'int', 'Guest IOVA (stage-1 input).'), p('ipa', 'int', 'Guest physical address it maps to.'), p('size', 'int', 'Bytes.'), p('prot', 'prot', 'IOMMU_READ | IOMMU_WRITE ...')],
    doc: 'The guest writes stage-1 entries with plain stores and tells the IOMMU nothing: nothing is invalidated. 0 or a negative errno (-EINVAL on a domain that is not nested).',
  },
  {
    name: 'guest_stage1_unmap', group: 'iommu', returns: 'int', kernel: 'scenario: the guest clears its own stage-1 table entries (no kernel call)',
    params: [p('domain', 'domain', 'A nested domain.'), p('iova', 'int', 'Guest IOVA.'), p('size', 'int', 'Bytes.')],
    doc: 'The guest clears stage-1 entries without invalidating: the IOTLB keeps translating through what it cached until iommu_cache_invalidate. Returns the bytes unmapped.',
  },
  {
    name: 'iommu_cache_invalidate', group: 'iommu', returns: 'int', kernel: 'int iommu_hwpt_invalidate(): domain->ops->cache_invalidate_user (iommufd IOMMU_HWPT_INVALIDATE)',
    params: [
      p('domain', 'domain', 'A nested domain.'),
      p('iova', 'int', 'Start of the range to invalidate.', { optional: true, default: 'the whole domain' }),
      p('size', 'int', 'Bytes of the range.', { optional: true }),
      p('pasid', 'int', 'Only translations cached for this PASID (the ASID of its context descriptor on SMMUv3).', { optional: true, namedOnly: true, default: 'every PASID' }),
    ],
    doc: 'The guest\'s invalidation, forwarded by iommufd to the driver: drops the cached translations of the nested domain in the range, of the PASID, or all of them, on every IOMMU caching the domain. 0, or -EINVAL on a domain that is not nested.',
  },
  {
    name: 'iommu_attach_device_pasid', group: 'pasid', returns: 'int', kernel: 'int iommu_attach_device_pasid(struct iommu_domain *domain, struct device *dev, ioasid_t pasid, struct iommu_attach_handle *handle)',
    params: [DOMAIN, DEV, PASID],
    doc: 'Attaches a domain to one PASID of the device, beside the RID\'s domain. -EINVAL for IOMMU_NO_PASID, for an incompatible domain or when the PASID is too large for any device in the group; -EBUSY when something is already attached to that PASID.',
  },
  {
    name: 'iommu_detach_device_pasid', group: 'pasid', returns: 'void', kernel: 'void iommu_detach_device_pasid(struct iommu_domain *domain, struct device *dev, ioasid_t pasid)',
    params: [DOMAIN, DEV, PASID],
    doc: 'Detaches the domain from the PASID; later requests with that PASID are blocked.',
  },
  {
    name: 'iommu_replace_device_pasid', group: 'pasid', returns: 'int', kernel: 'int iommu_replace_device_pasid(struct iommu_domain *domain, struct device *dev, ioasid_t pasid, struct iommu_attach_handle *handle)',
    params: [DOMAIN, DEV, PASID],
    doc: 'Atomically replaces whatever is attached to the PASID with the domain (iommufd\'s path; the emulator supplies the attach handle).',
  },
  {
    name: 'iommu_attach_handle_get', group: 'pasid', returns: 'attach_handle', kernel: 'struct iommu_attach_handle *iommu_attach_handle_get(struct iommu_group *group, ioasid_t pasid, unsigned int type)',
    params: [DEV, PASID, p('type', 'any', 'Only a domain of this type counts: 0 or a type name string such as "sva".', { optional: true, default: 'any type' })],
    doc: 'Looks up the attach handle of whatever is attached to the PASID in the device\'s group; -ENOENT when nothing is.',
  },

  // ---- SVA
  {
    name: 'iommu_sva_bind_device', group: 'sva', returns: 'sva_handle', kernel: 'struct iommu_sva *iommu_sva_bind_device(struct device *dev, struct mm_struct *mm)',
    params: [DEV, p('mm', 'mm', 'A process address space declared with `mm NAME { ... }`.')],
    doc: 'Shares a process address space with the device: allocates (or reuses) the mm\'s PASID and attaches an SVA domain that walks the CPU page table. The handle has `.pasid`. On VT-d the device needs PRI (else -ENODEV).',
  },
  {
    name: 'iommu_sva_unbind_device', group: 'sva', returns: 'void', kernel: 'void iommu_sva_unbind_device(struct iommu_sva *handle)',
    params: [p('handle', 'sva_handle', 'A handle from iommu_sva_bind_device().')],
    doc: 'Drops the binding; when the last one goes the PASID is detached and device requests with it fault.',
  },

  // ---- VDUSE
  {
    name: 'vduse_domain_set_map', group: 'vduse', returns: 'int', kernel: 'int vduse_domain_set_map(struct vduse_iova_domain *domain, struct vhost_iotlb *iotlb)',
    params: [p('domain', 'iommu', 'A `vduse` IOMMU.'), p('iotlb', 'list', 'Ranges `{start, last, addr, perm, file, offset}`; perm is RO, WO or RW.')],
    iommuKinds: ['vduse'],
    doc: 'Replaces the VDUSE domain\'s IOTLB with the given ranges (the vhost-vdpa path: guest memory handed over directly, no bouncing).',
  },
  {
    name: 'user_read', group: 'vduse', returns: 'bytes', kernel: 'scenario: the VDUSE daemon reads its mmap of the IOVA space',
    params: [p('domain', 'iommu', 'A `vduse` IOMMU.'), p('iova', 'int', 'IOVA to read.'), p('len', 'int', 'Bytes.')],
    iommuKinds: ['vduse'],
    doc: 'The userspace device reads through the mmap\'ed IOVA space. An IOVA with no bounce page or IOTLB range behind it is SIGBUS (a fault).',
  },
  {
    name: 'user_write', group: 'vduse', returns: 'void', kernel: 'scenario: the VDUSE daemon writes its mmap of the IOVA space',
    params: [p('domain', 'iommu', 'A `vduse` IOMMU.'), p('iova', 'int', 'IOVA to write.'), p('data', 'bytes', 'A string or bytes value.')],
    iommuKinds: ['vduse'],
    doc: 'The userspace device writes through the mmap\'ed IOVA space (into a bounce page or an IOTLB range).',
  },

  // ---- device side
  {
    name: 'dev_read', group: 'device', returns: 'bytes', kernel: 'scenario: a DMA read by the device',
    params: [DEV, p('addr', 'int', 'Device (bus) address.'), p('len', 'int', 'Bytes.'), ACCESS_PASID],
    doc: 'The device reads memory: the address goes through its IOMMU chain (IOTLB first), permissions are checked, and the bytes come from memory (not the CPU cache). Unmapped or read-protected addresses raise an IO page fault.',
  },
  {
    name: 'dev_write', group: 'device', returns: 'void', kernel: 'scenario: a DMA write by the device',
    params: [DEV, p('addr', 'int', 'Device (bus) address.'), p('data', 'data', 'A string or bytes value, or a length (that many zero bytes).'), ACCESS_PASID],
    doc: 'The device writes memory through its IOMMU chain. Unmapped or write-protected addresses raise an IO page fault.',
  },

  // ---- inspection
  {
    name: 'translate', group: 'inspect', returns: 'walk', kernel: 'scenario: the walk the IOMMU would do',
    params: [DEV, p('addr', 'int', 'Device address.'), ACCESS_PASID],
    doc: 'Returns the translation the device\'s next access to addr would make, changing no state (IOTLB included): `.phys`, `.fault`, `.iotlb_hit`, `.accesses` (memory reads of the walk; a full two-stage walk of n over m levels costs (n+1)(m+1)-1) and `.steps`.',
  },
  {
    name: 'bounce_addr', group: 'inspect', returns: 'int', kernel: 'scenario: the bounce buffer behind a DMA address (swiotlb tlb_addr / VDUSE bounce page)',
    params: [DEV, p('dma_addr', 'int', 'A DMA address a map call returned, or an address inside that mapping.')],
    doc: 'The physical address of the bounce buffer that stands in for the mapping holding dma_addr (the swiotlb slot, io_tlb_slot tlb_addr, or the VDUSE bounce page), at the same offset; 0 when that mapping did not bounce or there is none.',
  },
  {
    name: 'events', group: 'inspect', returns: 'int', kernel: 'scenario: counts trace events',
    params: [p('name', 'string', 'A trace event name such as "swiotlb:swiotlb_bounced" or "iommu:map".')],
    doc: 'Counts the trace events of that name recorded so far in the run.',
  },
  {
    name: 'driver_unbind', group: 'dma', returns: 'void', kernel: 'void device_release_driver(struct device *dev)',
    params: [DEV],
    doc: 'Unbinds the driver from the device (BUS_NOTIFY_UNBOUND_DRIVER): dma-debug reports the mappings and allocations it left behind ("device driver has pending DMA allocations while released from device"), here rather than at the end of the scenario.',
  },
  {
    name: 'set_cpu', group: 'inspect', returns: 'void', kernel: 'scenario: the CPU the following calls run on (raw_smp_processor_id())',
    params: [p('cpu', 'int', 'A CPU number, 0 .. platform cpus - 1.')],
    doc: 'The calls that follow run on this CPU until the next set_cpu (the run starts on CPU 0): swiotlb starts its slot search in area cpu & (nareas - 1), and the IOVA rcaches use that CPU\'s magazines.',
  },
  {
    name: 'debugfs_read', group: 'inspect', returns: 'unknown', kernel: 'scenario: cat /sys/kernel/debug/PATH',
    params: [p('path', 'string', 'A debugfs file: "dma-api/error_count", "dma-api/num_errors", "dma-api/all_errors", "dma-api/driver_filter", "dma-api/disabled", "swiotlb/io_tlb_nslabs", "swiotlb/io_tlb_used", "swiotlb/io_tlb_used_hiwater", "swiotlb/io_tlb_transient_nslabs".')],
    doc: 'Reads a dma-debug or swiotlb debugfs file: a number (driver_filter: a string).',
  },
  {
    name: 'debugfs_write', group: 'inspect', returns: 'int', kernel: 'scenario: echo VALUE > /sys/kernel/debug/PATH',
    params: [p('path', 'string', 'A writable debugfs file: "dma-api/num_errors", "dma-api/all_errors", "dma-api/driver_filter", "swiotlb/io_tlb_used_hiwater".'), p('value', 'any', 'A number, or a string for driver_filter.')],
    doc: 'Writes a dma-debug or swiotlb debugfs file (dma-debug\'s num_errors, all_errors and driver_filter, swiotlb\'s high-water mark, which only takes 0); 0, or -EINVAL for a value the kernel refuses or a read-only file.',
  },
  {
    name: 'msleep', group: 'inspect', returns: 'void', kernel: 'void msleep(unsigned int msecs)',
    params: [p('ms', 'int', 'Milliseconds of emulated time.')],
    doc: 'Advances the emulated clock, so timers run: a dma-fq flush queue drains (IOTLB invalidation and IOVA free) after its timeout.',
  },
];

export const BUILTINS: ReadonlyMap<string, BuiltinSpec> = new Map(list.map((b) => [b.name, b]));

export interface MemberSpec {
  kind: ValueKind;
  doc: string;
}

/** Members of values, for `.member` checks and completion. Kinds not listed here are not checked. */
export const MEMBERS: Partial<Record<ValueKind, Readonly<Record<string, MemberSpec>>>> = {
  buffer: {
    phys: { kind: 'int', doc: 'Physical address of the first byte.' },
    size: { kind: 'int', doc: 'Size in bytes.' },
  },
  coherent: {
    cpu: { kind: 'int', doc: 'Physical address of the memory (the CPU side).' },
    dma: { kind: 'int', doc: 'Device address of the memory.' },
    size: { kind: 'int', doc: 'Size in bytes.' },
  },
  iova_state: {
    addr: { kind: 'int', doc: 'Start of the reserved IOVA range (state->addr).' },
    size: { kind: 'int', doc: 'Size of the reservation (state->__size).' },
  },
  sva_handle: {
    pasid: { kind: 'int', doc: 'The PASID of the bound mm (iommu_sva_get_pasid()).' },
    domain: { kind: 'domain', doc: 'The SVA domain attached to the PASID.' },
    users: { kind: 'int', doc: 'Bindings sharing this handle.' },
  },
  attach_handle: {
    domain: { kind: 'domain', doc: 'The domain attached to the PASID.' },
    pasid: { kind: 'int', doc: 'The PASID looked up.' },
    type: { kind: 'unknown', doc: 'The domain type.' },
  },
  sg: {
    nents: { kind: 'int', doc: 'Entries in the table.' },
    mapped_nents: { kind: 'int', doc: 'DMA segments after dma_map_sg() (what it returned).' },
  },
  sg_entry: {
    dma_address: { kind: 'int', doc: 'sg_dma_address(): device address of this DMA segment.' },
    dma_length: { kind: 'int', doc: 'sg_dma_len(): length of this DMA segment.' },
    phys: { kind: 'int', doc: 'sg_phys(): physical address of the entry.' },
    length: { kind: 'int', doc: 'Length of the entry in bytes.' },
  },
  walk: {
    phys: { kind: 'int', doc: 'The physical address reached (absent when the walk faults).' },
    fault: { kind: 'bool', doc: 'The access would fault.' },
    reason: { kind: 'string', doc: 'Why it would fault (empty when it would not).' },
    iotlb_hit: { kind: 'bool', doc: 'The IOTLB already held the translation: no table reads.' },
    accesses: { kind: 'int', doc: 'Memory accesses the walk makes, nested stage-2 reads included.' },
    steps: { kind: 'list', doc: 'Each table read: stage, level, table address, index, descriptor.' },
  },
};

// ---------------------------------------------------------------------------
// Declaration keys (docs/language.md)

export type DeclKind = 'platform' | 'iommu' | 'device';

/**
 * How a key's value is read:
 * size/int: a constant integer; bool: true/false; memory: a range or list of ranges;
 * iommu-ref: one IOMMU name or a list of them; domain-type: dma | dma-fq | identity or a list;
 * word: one of `words`; name: any identifier; size-list: a list of constant integers;
 * mask: 2^n - 1 (0 allowed); bits: a bit count.
 */
export type KeyValueKind = 'size' | 'int' | 'bits' | 'bool' | 'memory' | 'iommu-ref' | 'domain-type' | 'word' | 'name' | 'size-list' | 'mask';

export interface KeySpec {
  name: string;
  value: KeyValueKind;
  doc: string;
  min?: bigint;
  max?: bigint;
  oneOf?: readonly bigint[];
  words?: readonly string[];
  powerOfTwo?: boolean;
  /** IOMMU kinds the key means something for (others get a warning). */
  kinds?: readonly string[];
  default?: string;
}

const K = 1024n;
const M = 1024n * K;
const G = 1024n * M;

/** The IOMMU kinds the engine emulates (its table, as strings for the checker's lookups). */
export const IOMMU_KINDS: readonly string[] = ENGINE_IOMMU_KINDS;
export const DEVICE_BUSES: readonly string[] = ['pci', 'platform', 'virtio'];
export const DOMAIN_TYPES: readonly string[] = ['dma', 'dma-fq', 'identity'];

const keys = (specs: KeySpec[]): ReadonlyMap<string, KeySpec> => new Map(specs.map((s) => [s.name, s]));

export const DECL_KEYS: Readonly<Record<DeclKind, ReadonlyMap<string, KeySpec>>> = {
  platform: keys([
    { name: 'page_size', value: 'size', oneOf: [4n * K, 16n * K, 64n * K], default: '4K', doc: 'CPU PAGE_SIZE: 4K, 16K or 64K.' },
    { name: 'memory', value: 'memory', default: '0x8000_0000 .. 0x2_0000_0000', doc: 'RAM: a range `start .. end` (end exclusive), or a list of ranges.' },
    { name: 'cache_line', value: 'size', powerOfTwo: true, min: 16n, max: 4096n, default: '64', doc: 'ARCH_DMA_MINALIGN, the cache line size that non-coherent DMA must respect.' },
    { name: 'swiotlb', value: 'size', min: 0n, max: 16n * G, default: '64M', doc: 'Size of the swiotlb bounce pool: 0 = none, else 1M..16G.' },
    { name: 'swiotlb_force', value: 'bool', default: 'false', doc: 'swiotlb=force: every dma-direct mapping bounces.' },
    { name: 'swiotlb_dynamic', value: 'bool', default: 'false', doc: 'CONFIG_SWIOTLB_DYNAMIC: the pool grows when full.' },
    { name: 'cpus', value: 'int', min: 1n, max: 1024n, default: '4', doc: 'Number of CPUs (IOVA rcache magazines, swiotlb areas).' },
    { name: 'sanitize_cpu_bounds', value: 'bool', default: 'true', doc: 'DMA sanitizer: a CPU access past the end of the buffer it names is a finding (dmascope-cpu-out-of-bounds).' },
    { name: 'sanitize_dma_bounds', value: 'bool', default: 'true', doc: 'DMA sanitizer: a device access through an IOMMU mapping past the mapped bytes, inside the mapped granule, is a finding (dmascope-dma-beyond-mapping).' },
    { name: 'sanitize_dma_direct', value: 'bool', default: 'true', doc: 'DMA sanitizer: a dma-direct device touching memory no live mapping of it covers is a finding (dmascope-dma-unmapped).' },
    { name: 'sanitize_stale_iotlb', value: 'bool', default: 'true', doc: 'DMA sanitizer: a device access through a stale IOTLB entry after a deferred unmap is a finding (dmascope-use-after-unmap).' },
  ]),
  iommu: keys([
    { name: 'granule', value: 'size', powerOfTwo: true, min: 4n * K, max: 1n * G, doc: 'Smallest page size of pgsize_bitmap (the IOVA granule).' },
    { name: 'pgsizes', value: 'size-list', doc: 'Supported page sizes (pgsize_bitmap), e.g. [4K, 2M, 1G].' },
    { name: 'ias', value: 'bits', min: 12n, max: 64n, doc: 'Input address bits (the IOVA size; on arm-smmu-v3 the stage-1 size, min(48, VA_BITS)).' },
    { name: 'oas', value: 'bits', min: 12n, max: 64n, doc: 'Output address bits (stage-2 IPA size on arm-smmu-v3).' },
    { name: 'levels', value: 'int', min: 1n, max: 6n, doc: 'Page-table levels (derived from ias and granule when absent).' },
    { name: 'iotlb', value: 'int', min: 0n, max: 1n << 20n, default: '128', doc: 'IOTLB entries; 0 = no IOTLB.' },
    { name: 'deferred_flush', value: 'bool', doc: 'IOMMU_CAP_DEFERRED_FLUSH: dma-fq domains are allowed.' },
    { name: 'pasid_bits', value: 'bits', min: 0n, max: 20n, doc: 'PASID width the IOMMU supports (0 = no PASID).' },
    { name: 'coherent_walk', value: 'bool', doc: 'The table walker snoops CPU caches (no cache maintenance for table updates).' },
    { name: 'aw', value: 'bits', oneOf: [39n, 48n, 57n], kinds: ['intel-vtd'], default: '48', doc: 'VT-d address width: 39 (3 levels), 48 (4 levels) or 57 (5 levels).' },
    { name: 'stage', value: 'word', words: ['first', 'second'], kinds: ['intel-vtd'], default: 'first', doc: 'VT-d translation: first stage (scalable mode, canonical aperture 2^(aw-1)) or second stage (aperture 2^aw).' },
    { name: 'sagaw', value: 'int', min: 0n, max: 0x1fn, kinds: ['intel-vtd'], default: 'the bit aw needs', doc: 'VT-d CAP.SAGAW as its 5-bit field: bit 1 = 39-bit (3-level), bit 2 = 48-bit (4-level), bit 3 = 57-bit (5-level) second-stage tables. The unit uses the highest offered at or below 5 levels (iommu->agaw), its width capped by aw (MGAW); none offered: the unit is not registered.' },
    { name: 'fl5lp', value: 'bool', kinds: ['intel-vtd'], default: 'true when aw = 57', doc: 'VT-d CAP.FL5LP: 5-level first-stage paging; a nested domain whose guest stage 1 has 5 levels needs it (-EINVAL).' },
    { name: 'bounce_size', value: 'size', min: 4n * K, max: 1n << 40n, kinds: ['vduse'], default: '64M', doc: 'VDUSE bounce area at the bottom of the IOVA space.' },
    { name: 'iova_limit', value: 'size', min: 4n * K, kinds: ['vduse'], doc: 'Top of the VDUSE IOVA space (coherent allocations sit between bounce_size and it).' },
  ]),
  device: keys([
    { name: 'iommu', value: 'iommu-ref', doc: 'The IOMMU in front of the device, or a chain `[near, far]` (device side first). Absent: dma-direct.' },
    { name: 'coherent', value: 'bool', default: 'true, false on the platform bus', doc: 'DMA snoops CPU caches (dev_is_dma_coherent).' },
    { name: 'untrusted', value: 'bool', default: 'false', doc: 'External-facing device: partial-granule maps bounce through swiotlb.' },
    { name: 'dma_mask', value: 'bits', min: 12n, max: 64n, default: '32', doc: 'DMA mask in bits (dma_set_mask(dev, DMA_BIT_MASK(n))).' },
    { name: 'max_segment_size', value: 'size', min: 1n, max: 0xffff_ffffn, default: '64K', doc: 'dma_set_max_seg_size(): largest scatterlist DMA segment.' },
    { name: 'segment_boundary', value: 'mask', default: '0xffff_ffff', doc: 'dma_set_seg_boundary(): DMA segments may not cross a multiple of mask + 1.' },
    { name: 'pasid_bits', value: 'bits', min: 0n, max: 20n, default: '0', doc: 'PASID width of the device (0 = no PASID support).' },
    { name: 'ats', value: 'bool', default: 'false', doc: 'The device has Address Translation Services (a device TLB).' },
    { name: 'pri', value: 'bool', default: 'false', doc: 'The device has Page Request Interface (needed for SVA on VT-d).' },
    { name: 'min_align_mask', value: 'mask', default: '0', doc: 'dma_set_min_align_mask(): low address bits swiotlb must preserve (NVMe: 0xfff).' },
    { name: 'default_domain', value: 'domain-type', doc: 'Default domain type: dma, dma-fq or identity (a list for an IOMMU chain). Absent: the policy default.' },
    { name: 'group', value: 'name', doc: 'Join the named IOMMU group (devices that cannot be isolated from each other).' },
  ]),
};

// ---------------------------------------------------------------------------
// Argument binding, shared by the checker and the interpreter

export interface ArgProblem {
  span: Span;
  code: 'arg-count' | 'arg-name';
  message: string;
}

export interface BoundArgs {
  /** One slot per parameter, in parameter order; undefined where omitted (or past the end). */
  values: readonly (Expr | undefined)[];
  /** Extra positional arguments taken by a variadic last parameter. */
  rest: readonly Expr[];
  problems: readonly ArgProblem[];
}

// What most calls bind: no variadic extras, no problems. Shared, never written to.
const NO_REST: readonly Expr[] = [];
const NO_PROBLEMS: readonly ArgProblem[] = [];

/** `dma_map_page(dev, page, offset, size, dir[, attrs])`: the signature as shown in messages and signature help. */
export function formatSignature(spec: BuiltinSpec): string {
  const show = (prm: ParamSpec): string => (prm.variadic ? `${prm.name}...` : prm.namedOnly ? `${prm.name} = ...` : prm.name);
  const required = spec.params.filter((prm) => !prm.optional).map(show).join(', ');
  const optional = spec.params.filter((prm) => prm.optional).map(show).join(', ');
  if (optional === '') return `${spec.name}(${required})`;
  return required === '' ? `${spec.name}([${optional}])` : `${spec.name}(${required}[, ${optional}])`;
}

/**
 * True when `count` positional arguments bind one to one to the first
 * parameters with nothing left to report (no named-only parameter among
 * them, no variadic one, none missing): the call's own argument list is the binding.
 */
export function bindsInOrder(params: readonly ParamSpec[], count: number): boolean {
  if (count > params.length) return false;
  for (let i = 0; i < params.length; i++) {
    const prm = params[i]!;
    // A named-only parameter after the arguments (dev_read's pasid) leaves them in their slots.
    if (prm.variadic || (i < count ? prm.namedOnly === true : !prm.optional)) return false;
  }
  return true;
}

/**
 * Matches a call's positional and named arguments to the builtin's parameters.
 * A variadic parameter's slot holds its first argument and `rest` all of them.
 * `named` stands for the call's named arguments (the interpreter leaves out
 * the scenario-only ones; a copy of the call would lose its spans, which are getters).
 */
export function bindArgs(spec: BuiltinSpec, call: CallExpr, named: readonly NamedArg[] = call.named): BoundArgs {
  const params = spec.params;
  if (named.length === 0 && bindsInOrder(params, call.args.length)) return { values: call.args, rest: NO_REST, problems: NO_PROBLEMS };
  const values: (Expr | undefined)[] = new Array<Expr | undefined>(params.length).fill(undefined);
  let rest: Expr[] | undefined;
  let problems: ArgProblem[] | undefined;
  // Positional arguments fill the parameters that are not named-only, in order.
  let slot = 0;
  let positionalCount = 0;
  for (const prm of params) if (!prm.namedOnly) positionalCount++;
  for (let i = 0; i < call.args.length; i++) {
    const arg = call.args[i]!;
    while (slot < params.length && params[slot]!.namedOnly) slot++;
    const prm = params[slot];
    if (prm === undefined) {
      if (i === positionalCount) (problems ??= []).push({ span: arg.span, code: 'arg-count', message: `too many arguments: ${formatSignature(spec)} takes at most ${positionalCount}` });
      continue;
    }
    if (prm.variadic) {
      values[slot] ??= arg;
      (rest ??= []).push(arg);
      continue;
    }
    values[slot] = arg;
    slot++;
  }
  for (const na of named) {
    const idx = params.findIndex((prm) => prm.name === na.name.text);
    if (idx < 0) {
      const names = params.map((prm) => prm.name).join(', ');
      (problems ??= []).push({ span: na.name.span, code: 'arg-name', message: `${spec.name} has no parameter '${na.name.text}' (parameters: ${names})` });
    } else if (values[idx] !== undefined) {
      (problems ??= []).push({ span: na.name.span, code: 'arg-name', message: `'${na.name.text}' is given twice` });
    } else {
      values[idx] = na.value;
    }
  }
  let missing: string[] | undefined;
  for (let i = 0; i < params.length; i++) {
    if (!params[i]!.optional && values[i] === undefined) (missing ??= []).push(params[i]!.name);
  }
  if (missing !== undefined) {
    (problems ??= []).push({ span: call.argsSpan, code: 'arg-count', message: `missing ${missing.length === 1 ? 'argument' : 'arguments'} ${missing.join(', ')}: ${formatSignature(spec)}` });
  }
  return { values, rest: rest ?? NO_REST, problems: problems ?? NO_PROBLEMS };
}
