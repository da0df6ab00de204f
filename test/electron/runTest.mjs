// `npm run test:electron`: the integration checks of test/electron/suite/
// inside desktop VS Code, through the VS Code API (diagnostics, completions,
// hovers, code lenses, inlay hints, the run command), with @vscode/test-electron.
//
// test-electron downloads VS Code from update.code.visualstudio.com into
// .vscode-test/ (git-ignored) on first use. Where that host cannot be reached
// (CI here: only the npm registry and Debian apt) this stops at once with a
// message, unless a copy is already cached in .vscode-test/ or VSCODE_EXECUTABLE
// names a local VS Code. The offline equivalent is `npm run test:e2e`
// (code-server in chromium). Not part of `npm test`.
//
// Desktop VS Code needs a display: without DISPLAY this re-runs itself under
// `xvfb-run` (apt-get install xvfb) when it is there.
/* global AbortSignal */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNode, setLogPrefix } from '../../scripts/tools.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const cache = path.join(root, '.vscode-test');
const UPDATE_HOST = 'https://update.code.visualstudio.com/api/releases/stable';

// @vscode/test-electron 3 wants Node >= 22: re-run under the Node 24 of
// .tools/node24 (shared with npm run package) when this one is older.
if (Number(process.versions.node.split('.')[0]) < 22) {
  setLogPrefix('test:electron');
  const node = ensureNode('@vscode/test-electron');
  const r = spawnSync(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const { runTests } = await import('@vscode/test-electron');

function fail(message) {
  console.error(`test:electron: ${message}`);
  process.exit(1);
}

if (!existsSync(path.join(root, 'dist', 'extension.js'))) fail('dist/extension.js is missing: run `npm run build` first');

const vscodeExecutablePath = process.env.VSCODE_EXECUTABLE || undefined;
if (vscodeExecutablePath && !existsSync(vscodeExecutablePath)) fail(`VSCODE_EXECUTABLE=${vscodeExecutablePath} does not exist`);
const cached = existsSync(cache) ? readdirSync(cache).filter((d) => /^vscode-/.test(d)) : [];
if (!vscodeExecutablePath && cached.length === 0) {
  try {
    const res = await fetch(UPDATE_HOST, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (e) {
    const why = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    fail(
      `cannot download VS Code: ${UPDATE_HOST} is not reachable (${why}).\n` +
        '  This machine cannot run desktop VS Code tests. Use `npm run test:e2e` (code-server, offline),\n' +
        '  or set VSCODE_EXECUTABLE to a local VS Code binary, or put a test-electron download in .vscode-test/.',
    );
  }
}

if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  if (process.env.DMASCOPE_UNDER_XVFB) fail('xvfb-run gave no DISPLAY');
  if (spawnSync('xvfb-run', ['--help'], { stdio: 'ignore' }).error) {
    fail('desktop VS Code needs a display: set DISPLAY, or install xvfb (apt-get install xvfb) so this can run under xvfb-run');
  }
  const r = spawnSync('xvfb-run', ['-a', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, DMASCOPE_UNDER_XVFB: '1' },
  });
  process.exit(r.status ?? 1);
}

// A workspace like the e2e test's: the examples plus a broken scenario.
const workspace = path.join(cache, 'workspace');
rmSync(workspace, { recursive: true, force: true });
mkdirSync(workspace, { recursive: true });
for (const f of readdirSync(path.join(root, 'examples')).filter((n) => n.endsWith('.dmas'))) {
  cpSync(path.join(root, 'examples', f), path.join(workspace, f));
}
writeFileSync(
  path.join(workspace, 'broken.dmas'),
  `# A scenario with mistakes: the tests expect diagnostics here.
platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }
device nvme0 : pci "0000:03:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }

a = alloc_pages(0)
h = dma_map_page(nvme0, a, 0, 4K
`,
);

try {
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(here, 'suite', 'index.js'),
    vscodeExecutablePath,
    cachePath: cache,
    timeout: 120_000,
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes', '--disable-gpu'],
    extensionTestsEnv: { DMASCOPE_TEST_WORKSPACE: workspace },
  });
} catch (e) {
  fail(`failed: ${e instanceof Error ? e.message : String(e)}`);
}
