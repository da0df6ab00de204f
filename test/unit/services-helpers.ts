// Shared helpers of the services-*.test.ts files: a source with a `‸`
// cursor marker becomes a model and a 0-based position.

import { DocumentModel } from '../../src/lang/services/document-model';
import type { Position } from '../../src/lang/services/positions';

export const CURSOR = '‸';

export function at(source: string): { model: DocumentModel; pos: Position; text: string } {
  const i = source.indexOf(CURSOR);
  if (i < 0) throw new Error('no cursor marker');
  const text = source.slice(0, i) + source.slice(i + CURSOR.length);
  const model = new DocumentModel(text);
  return { model, pos: model.positionAt(i), text };
}

/** The 0-based position of the first occurrence of `needle` (plus `delta` characters). */
export function posOf(model: DocumentModel, needle: string, delta = 0, occurrence = 0): Position {
  let i = -1;
  for (let n = 0; n <= occurrence; n++) i = model.text.indexOf(needle, i + 1);
  if (i < 0) throw new Error(`${needle} not found`);
  return model.positionAt(i + delta);
}

export const MACHINE = [
  'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }',
  'iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48 }',
  'iommu vd0 : vduse { bounce_size = 64M }',
  'device eth0 : pci "0000:02:00.0" { iommu = smmu0; dma_mask = 64 }',
  'device nvme0 : pci "0000:01:00.0" { iommu = smmu0; dma_mask = 64 }',
  'a = alloc_pages(1)',
  'd = iommu_paging_domain_alloc(eth0)',
  'st = dma_iova_try_alloc(nvme0, 0, 8K)',
  'n = 4',
  '',
].join('\n');
