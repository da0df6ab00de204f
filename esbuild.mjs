// One esbuild config, one bundle per target. `node esbuild.mjs` builds once,
// `node esbuild.mjs --watch` rebuilds on change. The extension build also
// regenerates the TextMate grammar (scripts/gen-grammar.mjs).
import * as esbuild from 'esbuild';
import { chmodSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGrammar } from './scripts/gen-grammar.mjs';

const root = path.dirname(fileURLToPath(import.meta.url));
const watch = process.argv.includes('--watch');
/** `--production` (npm run package): minified, and no source maps unless DMASCOPE_SOURCEMAPS=1 asks for them. */
const production = process.argv.includes('--production');
const sourcemap = !production || process.env.DMASCOPE_SOURCEMAPS === '1';

/** Options shared by every Node bundle. */
const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap,
  minify: production,
  logLevel: 'info',
  absWorkingDir: root,
};

/**
 * Every bundle the project ships. `optional` entries are skipped while their
 * source file does not exist yet; `executable` entries get chmod +x after a
 * build; `usesCore` entries load the language and engine from dist/core.js
 * instead of bundling their own copy; `usesToolkit` entries (the panels) take
 * the webview controls from dist/webview/toolkit.js, loaded by their page.
 * @type {{ name: string, optional?: boolean, executable?: boolean, usesCore?: boolean, usesToolkit?: boolean, options: import('esbuild').BuildOptions }[]}
 */
const targets = [
  {
    // The language, the engine and the report, shared by the entries below.
    name: 'core',
    options: { ...nodeCommon, entryPoints: ['src/core.ts'], outfile: 'dist/core.js' },
  },
  {
    name: 'extension',
    usesCore: true,
    options: { ...nodeCommon, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  },
  {
    // The worker thread that checks and runs scenarios off the extension host's thread.
    name: 'run-worker',
    usesCore: true,
    options: { ...nodeCommon, entryPoints: ['src/extension/run-worker.ts'], outfile: 'dist/run-worker.js' },
  },
  {
    name: 'cli',
    executable: true,
    usesCore: true,
    options: { ...nodeCommon, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  },
  {
    // The debug adapter over stdio (`node dist/debug-adapter.js`); the extension runs the same session inline.
    name: 'debug-adapter',
    usesCore: true,
    options: { ...nodeCommon, entryPoints: ['src/debug/debug-adapter.ts'], outfile: 'dist/debug-adapter.js' },
  },
  {
    name: 'engine',
    options: { ...nodeCommon, entryPoints: ['src/engine/index.ts'], outfile: 'dist/engine.js' },
  },
  {
    name: 'bench',
    optional: true,
    options: { ...nodeCommon, entryPoints: ['src/bench/bench.ts'], outfile: 'dist/bench.js' },
  },
  {
    // The webview control library, once for the three panels (each page loads it before its own script).
    name: 'webview-toolkit',
    optional: true,
    options: { bundle: true, platform: 'browser', format: 'iife', globalName: 'dmascopeToolkit', target: 'es2022', sourcemap, minify: production, logLevel: 'info', absWorkingDir: root,
               entryPoints: ['webview/common/toolkit.ts'], outfile: 'dist/webview/toolkit.js' },
  },
  {
    // The IOVA map panel's webview (browser).
    name: 'webview-iova-map',
    optional: true,
    usesToolkit: true,
    options: { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap, minify: production, logLevel: 'info', absWorkingDir: root,
               entryPoints: ['webview/iova-map/main.ts'], outfile: 'dist/webview/iova-map.js' },
  },
  {
    // The translation walk panel's webview (browser).
    name: 'webview-walk',
    optional: true,
    usesToolkit: true,
    options: { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap, minify: production, logLevel: 'info', absWorkingDir: root,
               entryPoints: ['webview/walk/main.ts'], outfile: 'dist/webview/walk.js' },
  },
  {
    // The bounce buffers panel's webview (browser).
    name: 'webview-bounce',
    optional: true,
    usesToolkit: true,
    options: { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap, minify: production, logLevel: 'info', absWorkingDir: root,
               entryPoints: ['webview/bounce/main.ts'], outfile: 'dist/webview/bounce.js' },
  },
];

/** esbuild plugin that marks a file executable after each successful build. */
function makeExecutable(outfile) {
  return {
    name: 'make-executable',
    setup(build) {
      build.onEnd((result) => {
        if (result.errors.length === 0 && existsSync(path.join(root, outfile))) {
          chmodSync(path.join(root, outfile), 0o755);
        }
      });
    },
  };
}

/** Folders whose code lives in dist/core.js (src/core.ts exports what the entries use). */
const CORE_DIRS = ['lang', 'engine', 'report'].map((d) => path.join(root, 'src', d) + path.sep);

/** esbuild plugin: imports that resolve into the core folders load dist/core.js at run time instead. */
function sharedCore() {
  return {
    name: 'shared-core',
    setup(build) {
      build.onResolve({ filter: /^\./ }, (args) => {
        const target = path.resolve(args.resolveDir, args.path);
        return CORE_DIRS.some((d) => target.startsWith(d)) ? { path: './core.js', external: true } : undefined;
      });
    },
  };
}

const TOOLKIT = path.join(root, 'webview', 'common', 'toolkit');

/** esbuild plugin: the panels' imports of webview/common/toolkit read the page's one copy (toolkit-global.ts) instead of bundling it. */
function sharedToolkit() {
  return {
    name: 'shared-toolkit',
    setup(build) {
      build.onResolve({ filter: /toolkit$/ }, (args) => {
        const target = path.resolve(args.resolveDir, args.path);
        return target === TOOLKIT ? { path: `${TOOLKIT}-global.ts` } : undefined;
      });
    },
  };
}

/** esbuild plugin that regenerates syntaxes/dmas.tmLanguage.json from the language tables before each build. */
function grammar() {
  return {
    name: 'dmas-grammar',
    setup(build) {
      build.onStart(async () => {
        try {
          if (await writeGrammar()) console.log('[gen-grammar] syntaxes/dmas.tmLanguage.json written');
        } catch (err) {
          return { errors: [{ text: `gen-grammar: ${err instanceof Error ? err.message : String(err)}` }] };
        }
        return undefined;
      });
    },
  };
}

function optionsFor(target) {
  const plugins = [...(target.options.plugins ?? [])];
  if (target.executable) plugins.push(makeExecutable(target.options.outfile));
  if (target.name === 'extension') plugins.push(grammar());
  if (target.usesCore) plugins.push(sharedCore());
  if (target.usesToolkit) plugins.push(sharedToolkit());
  return { ...target.options, plugins };
}

const active = targets.filter((t) => {
  if (!t.optional) return true;
  return t.options.entryPoints.every((e) => existsSync(path.join(root, e)));
});

if (watch) {
  const contexts = await Promise.all(active.map((t) => esbuild.context(optionsFor(t))));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`[esbuild] watching ${active.map((t) => t.name).join(', ')}`);
} else {
  const results = await Promise.allSettled(active.map((t) => esbuild.build(optionsFor(t))));
  const failed = active.filter((_, i) => results[i].status === 'rejected').map((t) => t.name);
  if (failed.length > 0) {
    console.error(`[esbuild] failed: ${failed.join(', ')}`);
    process.exit(1);
  }
}
