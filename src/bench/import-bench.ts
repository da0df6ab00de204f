// Import figures for `npm run bench`: a generated mixed capture of 1,000,000
// lines (ftrace dma:/iommu:/swiotlb: events and unrelated trace events, VT-d,
// AMD-Vi, SMMUv2/v3 and swiotlb messages, dma-debug splats, other kernel
// lines) is imported in a fresh child process, events kept as for --json,
// so the resident memory is the import's own.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importCaptureFile } from '../traceimport/import-stream';

export const IMPORT_CHILD_FLAG = '--import-bench-child';

/** Writes `lines` lines of a mixed capture to `file`, a block at a time. */
export function writeMixedCapture(file: string, lines: number): void {
  const fd = fs.openSync(file, 'w');
  try {
    let n = 0;
    let block: string[] = [];
    const put = (l: string): void => {
      if (n >= lines) return;
      block.push(l);
      n++;
      if (block.length >= 4096) {
        fs.writeSync(fd, block.join('\n') + '\n');
        block = [];
      }
    };
    for (let i = 0; n < lines; i++) {
      const ts = (1000 + i / 1000).toFixed(6);
      const dev = `0000:0${i % 4}:00.0`;
      const dma = (0xfff00000 - (i % 256) * 0x1000).toString(16);
      const phys = (0x100000000 + (i % 4096) * 0x1000).toString(16);
      const cpu = String(i % 8).padStart(3, '0');
      const hdr = `     kworker/${i % 8}:1H-${300 + (i % 8)}     [${cpu}] .....  ${ts}:`;
      put(`${hdr} dma_map_phys: ${dev} dir=FROM_DEVICE dma_addr=${dma} size=4096 phys_addr=${phys} attrs=`);
      put(`${hdr} map: IOMMU: iova=0x00000000${dma} - 0x00000000${(parseInt(dma, 16) + 0x1000).toString(16)} paddr=0x0000000${phys} size=4096`);
      put(`${hdr} dma_sync_single_for_cpu: ${dev} dir=FROM_DEVICE dma_addr=${dma} size=512`);
      put(`${hdr} sched_switch: prev_comm=fio prev_pid=2211 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120`);
      put(`${hdr} dma_unmap_phys: ${dev} dir=FROM_DEVICE dma_addr=${dma} size=4096 attrs=`);
      put(`${hdr} unmap: IOMMU: iova=0x00000000${dma} - 0x00000000${(parseInt(dma, 16) + 0x1000).toString(16)} size=4096 unmapped_size=4096`);
      if (i % 3 === 0) put(`${hdr} swiotlb_bounced: dev_name: ${dev} dma_mask=ffffffff dev_addr=${phys} size=1500 NORMAL`);
      put(`[ ${ts}] r8169 0000:04:00.0 eno1: Link is Up - 1Gbps/Full - flow control rx/tx`);
      switch (i % 10) {
        case 0:
          put(`[ ${ts}] DMAR: DRHD: handling fault status reg 2`);
          put(`[ ${ts}] DMAR: [DMA Read NO_PASID] Request device [03:00.${i % 8}] fault addr 0x${dma} [fault reason 0x06] PTE Read access is not set`);
          break;
        case 1:
          put(`[ ${ts}] nvme ${dev}: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0000 address=0x${dma} flags=0x0020]`);
          break;
        case 2:
          put(`[ ${ts}] arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402, iova=0x${dma}, fsynr=0x7c0020, cbfrsynra=0x800, cb=7`);
          put(`[ ${ts}] arm-smmu 15000000.iommu: FSR    = 00000402 [Format=2 TF], SID=0x800`);
          break;
        case 3:
          put(`[ ${ts}] arm-smmu-v3 arm-smmu-v3.2.auto: event 0x10 received:`);
          for (const w of ['0x0000310200000010', '0x000002088000007f', `0x00000000${dma.padStart(8, '0')}`, '0x0000000000000000']) put(`[ ${ts}] arm-smmu-v3 arm-smmu-v3.2.auto: \t${w}`);
          break;
        case 4:
          put(`[ ${ts}] ${dev.replace('0000:', 'mt7615e 0000:')}: swiotlb buffer is full (sz: 3776 bytes), total 32768 (slots), used 31415 (slots)`);
          break;
        case 5:
          put(`[ ${ts}] DMA-API: qla2xxx ${dev}: device driver frees DMA memory with different size [device address=0x00000000${dma}] [map size=4088 bytes] [unmap size=512 bytes]`);
          put(`[ ${ts}] WARNING: CPU: 3 PID: 1122 at kernel/dma/debug.c:1021 check_unmap+0x4d0/0xbd0`);
          put(`[ ${ts}] Call Trace:`);
          put(`[ ${ts}]  debug_dma_free_coherent+0x123/0x173`);
          put(`[ ${ts}]  dma_free_attrs+0x76/0xe0`);
          put(`[ ${ts}] ---[ end trace 0123456789abcdef ]---`);
          break;
        default:
          put(`[ ${ts}] usb 3-3: new high-speed USB device number ${i % 100} using xhci_hcd`);
      }
    }
    if (block.length > 0) fs.writeSync(fd, block.join('\n') + '\n');
  } finally {
    fs.closeSync(fd);
  }
}

/** In the child: imports `file`, prints seconds, lines and resident MiB as JSON. */
export async function runImportChild(file: string): Promise<void> {
  const start = process.hrtime.bigint();
  const r = await importCaptureFile(file, { keepEvents: true });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = process.memoryUsage().rss / (1024 * 1024);
  process.stdout.write(JSON.stringify({ seconds, lines: r.lines, events: r.events.length, findings: r.findings.length, rss_mb: rss }) + '\n');
}

/** import_lines_per_s and import_1m_lines_rss_mb, from a child process running this bundle. */
export function importFigures(quick: boolean): { import_lines_per_s: number; import_1m_lines_rss_mb: number; import_lines: number } {
  const lines = quick ? 200_000 : 1_000_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmascope-bench-'));
  const file = path.join(dir, 'mixed.capture');
  try {
    writeMixedCapture(file, lines);
    const child = spawnSync(process.execPath, [process.argv[1], IMPORT_CHILD_FLAG, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (child.status !== 0) throw new Error(`bench: the import child failed: ${child.stderr}`);
    const out = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { seconds: number; lines: number; rss_mb: number };
    if (out.lines !== lines) throw new Error(`bench: the import read ${out.lines} of ${lines} lines`);
    return { import_lines_per_s: Math.round(out.lines / out.seconds), import_1m_lines_rss_mb: Math.round(out.rss_mb), import_lines: out.lines };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
