// Public surface of the engine, bundled as dist/engine.js for the oracle
// replay scripts and the benchmark. Each unit adds one export line.
export * from './u64';
export * from './errno';
export * from './trace/recorder';
export * from './memory/physmem';
export * from './io-pgtable/types';
export * from './dma-debug/dma-debug';
export * from './dma-mapping/dma-direction';
export * from './iova/iova';
export * from './iova/iova-rcache';
export * from './io-pgtable/arm-lpae';
export * from './iommu/iommu-pgsize';
export * from './swiotlb/swiotlb';
export * from './io-pgtable/generic-pt';
export * from './io-pgtable/vtd-second-stage';
export * from './io-pgtable/vtd-first-stage';
export * from './io-pgtable/amd-v1';
export * from './io-pgtable/apple-dart';
export * from './io-pgtable/formats';
