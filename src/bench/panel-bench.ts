// The IOVA map panel's figures for `npm run bench`: the real bundled webview
// (dist/webview/iova-map.js, its markup and CSS) in headless chromium driven
// by playwright-core (found or installed by scripts/e2e-setup.mjs), given one
// domain with 100,000 mappings and 100,000 IOVA allocations in a 57-bit
// aperture. First paint: from posting the state message (structured clone
// included) to the first animation frame after the canvases are drawn. Zoom
// step: one '+' or '-' key on the map, handler and redraw of both canvases,
// from the whole aperture down to granules and back.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MachineView, MappedRangeView } from '../engine/inspect/types';
import { buildIovaMapModel } from '../panels/iova-map-model';
import { IOVA_MAP_BODY } from '../panels/iova-map-page';
import type { IovaMapState } from '../protocol';

const DOMAIN = 'default domain of nvme0';
const hex = (v: bigint): string => `0x${v.toString(16)}`;

/**
 * A machine whose domain holds `n` mappings: half packed 8K apart around the
 * middle of a 57-bit aperture (a busy driver's IOVAs), half spread over all
 * of it; permissions cycle through r, w, rw; each maps a 4K page holding a
 * 512-byte buffer (granule exposure on every one).
 */
export function manyMappingsMachine(n: number): MachineView {
  const mappings: MappedRangeView[] = [];
  const allocations = [];
  const buffers = [];
  const half = Math.floor(n / 2);
  const spread = (1n << 57n) / BigInt(n - half + 1) & ~0xfffn;
  for (let i = 0; i < n; i++) {
    const iova = i < half ? (1n << 56n) - BigInt(half / 2) * 0x2000n + BigInt(i) * 0x2000n : BigInt(i - half + 1) * spread;
    const phys = 0x1_0000_0000n + BigInt(i) * 0x1000n;
    mappings.push({ iova: hex(iova), phys: hex(phys), size: '0x1000', prot: ['r', 'w', 'rw'][i % 3], line: 10 + (i % 50) });
    allocations.push({ start: hex(iova), last: hex(iova + 0xfffn), pages: 1, cached: i % 17 === 0 });
    buffers.push({ id: i, label: `buf${i}`, kind: 'kmalloc', phys: hex(phys), size: '0x200', line: 5, owner: 'device' as const, ownedBy: [], cache: { lines: 0, dirty: 0, stale: 0 } });
  }
  return {
    iommus: [], devices: [], iotlb: [], mappings: [], swiotlb: null, vduse: [], buffers,
    domains: [{
      id: 1, label: DOMAIN, type: 'DMA', iommu: 'smmu0', format: 'arm-lpae-s1', granule: '0x1000', pgsizeBitmap: '0x40201000', aperture: ['0x0', hex((1n << 57n) - 1n)],
      nestParent: false, parent: null, users: ['nvme0'], line: 3, mappings,
      iova: { granule: '0x1000', startPfn: 1, dma32bitPfn: 0x100000, allocations, rcache: [] }, flushQueue: null,
    }],
  };
}

/** Plain JSON for the page: typed arrays as { $typed, data } (rebuilt in the page, outside the timing). */
function toPlain(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return { $typed: v.constructor.name, data: Array.from(v as unknown as ArrayLike<number>) };
  if (Array.isArray(v)) return v.map(toPlain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]));
  return v;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };
const round = (x: number): number => Math.round(x * 100) / 100;

interface PlaywrightPage {
  goto(url: string): Promise<unknown>;
  evaluate<R>(expression: string): Promise<R>;
  waitForFunction(expression: string): Promise<unknown>;
}

export interface PanelFigures {
  panel_iova_map_mappings: number;
  panel_iova_map_100k_model_ms: number;
  panel_iova_map_100k_first_paint_ms: number;
  panel_iova_map_100k_zoom_ms: number;
  panel_iova_map_100k_zoom_max_ms: number;
  /** Where the first paint's time goes (webview measures): indexing, the data grids, drawing, up to the paint mark. */
  panel_iova_map_100k_first_paint_parts_ms: Record<string, number>;
}

export async function panelFigures(quick: boolean, root: string): Promise<PanelFigures> {
  const n = 100_000;
  const machine = manyMappingsMachine(n);
  const t0 = performance.now();
  const model = buildIovaMapModel(machine, DOMAIN)!;
  const modelMs = performance.now() - t0;
  const state: IovaMapState = {
    position: { source: 'run', event: 0, total: 1, line: 0, backwards: false, statements: [], uri: 'file:///bench.dmas' },
    domains: [{ label: DOMAIN, mappings: n }], model, compare: null,
  };
  const setup = (await import(pathToFileURL(path.join(root, 'scripts', 'e2e-setup.mjs')).href)) as { setupBrowser(): { chromium: string; playwrightCore: string } };
  const tools = setup.setupBrowser();
  const { chromium } = createRequire(path.join(tools.playwrightCore, 'package.json'))('playwright-core') as { chromium: { launch(o: object): Promise<{ newPage(o: object): Promise<PlaywrightPage>; close(): Promise<void> }> } };
  const dir = mkdtempSync(path.join(tmpdir(), 'dmascope-panel-bench-'));
  const css = readFileSync(path.join(root, 'media', 'panels', 'iova-map.css'), 'utf8');
  writeFileSync(path.join(dir, 'iova-map.html'), `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><style>${css}</style>
<script>window.__sent = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__sent.push(m), getState: () => undefined, setState: () => {} });</script>
</head><body class="vscode-dark">${IOVA_MAP_BODY}<script src="${pathToFileURL(path.join(root, 'dist', 'webview', 'toolkit.js')).href}"></script>
<script src="${pathToFileURL(path.join(root, 'dist', 'webview', 'iova-map.js')).href}"></script></body></html>`);
  const browser = await chromium.launch({ executablePath: tools.chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--allow-file-access-from-files'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // Each run is a fresh page: the bundle loaded anew, as when the panel opens.
    const runs = quick ? 3 : 7;
    const paints: number[] = [];
    const zooms: number[] = [];
    const parts: Record<string, number>[] = [];
    const plain = JSON.stringify(toPlain(state));
    for (let run = 0; run < runs; run++) {
      await page.goto(pathToFileURL(path.join(dir, 'iova-map.html')).href);
      await page.waitForFunction(`window.__sent.some((m) => m.type === 'iovaMap/ready')`);
      // Rebuild the typed arrays in the page, then time the message to the frame after the paint.
      // (Page code as strings: a bundler's helpers must not leak into the page.)
      paints.push(await page.evaluate<number>(`(() => {
        const revive = (v) => {
          if (Array.isArray(v)) return v.map(revive);
          if (typeof v === 'object' && v !== null) {
            if (typeof v.$typed === 'string') return new globalThis[v.$typed](v.data);
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
          }
          return v;
        };
        const s = revive(JSON.parse(${JSON.stringify(plain)}));
        return new Promise((resolve) => {
          const start = performance.now();
          window.postMessage({ type: 'iovaMap/state', state: s }, '*');
          const wait = () => {
            if (performance.getEntriesByName('iova-map-painted').length > 0) {
              const m = (n) => performance.getEntriesByName(n).reduce((a, e) => a + e.duration, 0);
              const painted = performance.getEntriesByName('iova-map-painted')[0].startTime;
              window.__parts = { received: performance.getEntriesByName('iova-map-received')[0].startTime - start, index: m('iova-map-index'), grids: m('iova-map-grids'), draw: m('iova-map-draw'), toPainted: painted - start };
              resolve(performance.now() - start);
            }
            else requestAnimationFrame(wait);
          };
          requestAnimationFrame(wait);
        });
      })()`));
      parts.push(await page.evaluate<Record<string, number>>('window.__parts'));
      // Zoom from the whole aperture (57 bits over ~1400 pixels) to 64 pixels a granule and back.
      zooms.push(...await page.evaluate<number[]>(`(() => {
        const canvas = document.getElementById('map');
        const key = (k) => {
          const t = performance.now();
          canvas.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
          return performance.now() - t;
        };
        const out = [];
        for (let i = 0; i < 50; i++) out.push(key('+'));
        for (let i = 0; i < 50; i++) out.push(key('-'));
        return out;
      })()`));
    }
    return {
      panel_iova_map_mappings: n,
      panel_iova_map_100k_model_ms: round(modelMs),
      panel_iova_map_100k_first_paint_ms: round(median(paints)),
      panel_iova_map_100k_zoom_ms: round(median(zooms)),
      panel_iova_map_100k_zoom_max_ms: round(Math.max(...zooms)),
      panel_iova_map_100k_first_paint_parts_ms: Object.fromEntries(Object.keys(parts[0] ?? {}).map((k) => [k, round(median(parts.map((p) => p[k])))])),
    };
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
