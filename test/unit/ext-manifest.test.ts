// package.json's contributions agree with the code and the files the VSIX
// ships: commands, settings and their defaults, walkthrough media, the
// language configuration, the .vscodeignore allow-list, folding.

import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMANDS } from '../../src/extension/command-ids';
import { foldingRanges } from '../../src/extension/folding-ranges';
import { TOKEN_TYPES } from '../../src/lang/services/semantic-tokens';
import { DEFAULT_SETTINGS, KERNEL_VERSIONS, MAX_DEBOUNCE_MS, MAX_RUN_MEMORY_BUDGET_MB, MAX_RUN_TIME_BUDGET_SECONDS, normalizeSettings, SETTING_KEYS } from '../../src/extension/settings';

const root = path.resolve(__dirname, '..', '..');
const read = (f: string): string => readFileSync(path.join(root, f), 'utf8');

interface Manifest {
  main: string;
  icon: string;
  engines: { vscode: string };
  activationEvents: string[];
  devDependencies: Record<string, string>;
  capabilities: { untrustedWorkspaces: { supported: boolean; description?: string } };
  contributes: {
    languages: { id: string; configuration: string; extensions: string[] }[];
    snippets: { language: string; path: string }[];
    commands: { command: string; title: string; category: string; icon?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    configuration: { properties: Record<string, { type: string; default: unknown; enum?: string[]; maximum?: number; markdownDescription?: string }> };
    semanticTokenTypes: { id: string; superType: string }[];
    semanticTokenScopes: { language: string; scopes: Record<string, string[]> }[];
    walkthroughs: { id: string; title: string; steps: { id: string; description: string; media: { markdown?: string }; completionEvents?: string[] }[] }[];
  };
}

const pkg = JSON.parse(read('package.json')) as Manifest;

describe('ext: package.json contributions', () => {
  it('contributes exactly the commands the extension registers', () => {
    const contributed: string[] = pkg.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(contributed, Object.values(COMMANDS).sort());
    const src = read('src/extension/commands.ts') + read('src/extension/debug/register-debugger.ts') + read('src/extension/debug/timeline-position.ts') + read('src/extension/panels/iova-map-panel.ts') + read('src/extension/panels/walk-panel.ts') + read('src/extension/panels/bounce-panel.ts') + read('src/extension/capture/capture-commands.ts');
    for (const key of Object.keys(COMMANDS)) assert.ok(src.includes(`registerCommand(COMMANDS.${key}`), `${key} is registered`);
    for (const c of pkg.contributes.commands) assert.equal(c.category, 'dmascope');
    assert.equal(pkg.contributes.commands.find((c) => c.command === COMMANDS.runScenario)?.icon, '$(play)');
    const run = pkg.contributes.menus['editor/title/run'] ?? [];
    assert.ok(run.some((m) => m.command === COMMANDS.runScenario && m.when === 'resourceLangId == dmas'), 'Run button in the editor title');
    for (const items of Object.values(pkg.contributes.menus)) {
      for (const m of items) assert.ok(new Set<string>(pkg.contributes.commands.map((c) => c.command)).has(m.command), `menu entry ${m.command} is a contributed command`);
    }
  });

  it('declares every setting with the defaults config.ts uses', () => {
    const props = pkg.contributes.configuration.properties;
    const declared = Object.keys(props).sort();
    assert.deepEqual(declared, Object.values(SETTING_KEYS).map((k) => `dmascope.${k}`).sort());
    for (const [field, key] of Object.entries(SETTING_KEYS)) {
      const p = props[`dmascope.${key}`]!;
      assert.deepEqual(p.default, DEFAULT_SETTINGS[field as keyof typeof DEFAULT_SETTINGS], key);
      assert.ok((p.markdownDescription ?? '').length > 40, `${key} is described`);
    }
    assert.deepEqual(props['dmascope.kernel.version']!.enum, [...KERNEL_VERSIONS]);
    assert.equal(props['dmascope.diagnostics.debounceMs']!.maximum, MAX_DEBOUNCE_MS);
    assert.equal(props['dmascope.run.timeBudgetSeconds']!.maximum, MAX_RUN_TIME_BUDGET_SECONDS);
    assert.equal(props['dmascope.run.memoryBudgetMb']!.maximum, MAX_RUN_MEMORY_BUDGET_MB);
  });

  it('normalises raw setting values', () => {
    const raw: Record<string, unknown> = { 'diagnostics.debounceMs': -5, 'inlayHints.enabled': 'yes', 'kernel.version': '5.4', runOnType: false };
    assert.deepEqual(normalizeSettings((k) => raw[k]), { debounceMs: 0, inlayHintsEnabled: true, kernelVersion: '6.18', runOnType: false, runTimeBudgetSeconds: 30, runMemoryBudgetMb: 1024 });
    const budgets: Record<string, unknown> = { 'run.timeBudgetSeconds': 0.5, 'run.memoryBudgetMb': 1e9 };
    assert.deepEqual([normalizeSettings((k) => budgets[k]).runTimeBudgetSeconds, normalizeSettings((k) => budgets[k]).runMemoryBudgetMb], [0.5, 16384]);
    const bad: Record<string, unknown> = { 'run.timeBudgetSeconds': 0, 'run.memoryBudgetMb': 'lots' };
    assert.deepEqual([normalizeSettings((k) => bad[k]).runTimeBudgetSeconds, normalizeSettings((k) => bad[k]).runMemoryBudgetMb], [30, 1024]);
    assert.deepEqual(normalizeSettings(() => undefined), DEFAULT_SETTINGS);
    assert.equal(normalizeSettings((k) => (k === 'diagnostics.debounceMs' ? 1e9 : undefined)).debounceMs, MAX_DEBOUNCE_MS);
  });

  it('activates on the language and the walkthrough, and supports untrusted workspaces', () => {
    assert.deepEqual(pkg.activationEvents, ['onLanguage:dmas', `onWalkthrough:${pkg.contributes.walkthroughs[0]!.id}`, 'onDebugResolve:dmascope', 'onDebugDynamicConfigurations:dmascope', 'onCommand:dmascope.debugScenario', 'onCommand:dmascope.debugCapture', 'onLanguage:dmascope-capture', 'onWebviewPanel:dmascope.iovaMap', 'onWebviewPanel:dmascope.walk', 'onWebviewPanel:dmascope.bounce']);
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, true);
    assert.ok((pkg.capabilities.untrustedWorkspaces.description ?? '').length > 20);
  });

  it('declares the custom semantic token types the semantic tokens service uses, with TextMate fallbacks', () => {
    const standard = new Set(['namespace', 'class', 'enum', 'interface', 'struct', 'typeParameter', 'type', 'parameter', 'variable', 'property',
      'enumMember', 'decorator', 'event', 'function', 'method', 'macro', 'label', 'comment', 'string', 'keyword', 'number', 'regexp', 'operator']);
    const declared = new Set(pkg.contributes.semanticTokenTypes.map((t) => t.id));
    const scopes = pkg.contributes.semanticTokenScopes[0]!.scopes;
    for (const t of TOKEN_TYPES) {
      if (standard.has(t)) continue;
      assert.ok(declared.has(t), `semanticTokenTypes declares ${t}`);
      assert.ok((scopes[t] ?? []).length > 0, `semanticTokenScopes maps ${t}`);
    }
  });

  it('pins @types/vscode to the minimum engine', () => {
    const engine = pkg.engines.vscode.replace(/^\^/, '');
    assert.equal(pkg.devDependencies['@types/vscode'], engine);
  });

  it('has a walkthrough whose steps exist and call contributed commands', () => {
    const w = pkg.contributes.walkthroughs[0]!;
    assert.equal(w.title, 'Get started with dmascope');
    assert.deepEqual(w.steps.map((s) => s.id), ['openExample', 'run', 'report', 'inline']);
    for (const s of w.steps) {
      assert.ok(s.media.markdown && existsSync(path.join(root, s.media.markdown)), `${s.id}: media ${s.media.markdown}`);
      for (const m of s.description.matchAll(/\(command:([\w.]+)/g)) {
        const id = m[1]!;
        assert.ok(id.startsWith('workbench.') || Object.values(COMMANDS).includes(id as never), `${s.id}: ${id}`);
      }
    }
    const first = /command:dmascope\.openExample\?([^)]+)\)/.exec(w.steps[0]!.description);
    const arg = JSON.parse(decodeURIComponent(first![1]!)) as string[];
    assert.ok(existsSync(path.join(root, 'examples', arg[0]!)), `the walkthrough opens ${arg[0]}, which ships in examples/`);
    assert.equal(arg[0], readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.dmas')).sort()[0], 'the first example');
  });

  it('ships what the extension needs in the VSIX (.vscodeignore allow-list)', () => {
    const lines = read('.vscodeignore').split('\n').map((l) => l.trim());
    assert.equal(lines.find((l) => l && !l.startsWith('#')), '**', 'exclude everything first');
    for (const f of ['dist/core.js', 'dist/extension.js', 'dist/run-worker.js', 'dist/cli.js', 'syntaxes/**', 'snippets/**', 'examples/**', 'media/icon.png', 'media/walkthrough/**', 'media/screenshots/**', 'docs/language.md', 'docs/run-output.md', 'docs/topics/**', 'CHANGELOG.md', 'LICENSE', 'language-configuration.json', 'package.json']) {
      assert.ok(lines.includes(`!${f}`), `${f} is shipped`);
    }
    // The developers' README stays out: the VSIX gets docs/vsix/README.md (scripts/package-vsix.mjs).
    assert.ok(!lines.includes('!README.md'));
    assert.ok(existsSync(path.join(root, 'docs/vsix/README.md')));
    assert.equal(pkg.icon, 'media/icon.png');
    assert.ok(existsSync(path.join(root, pkg.icon)));
    assert.equal(pkg.main, './dist/extension.js');
    assert.ok(read('esbuild.mjs').includes("outfile: 'dist/run-worker.js'"));
    const lang = pkg.contributes.languages[0]!;
    assert.ok(existsSync(path.join(root, lang.configuration)));
    assert.ok(existsSync(path.join(root, pkg.contributes.snippets[0]!.path)));
  });
});

describe('ext: language configuration', () => {
  const config = JSON.parse(read('language-configuration.json')) as {
    comments: { lineComment: string };
    brackets: string[][];
    autoClosingPairs: { open: string; close: string; notIn?: string[] }[];
    wordPattern: string;
  };

  it('has # comments, brackets and auto-closed quotes', () => {
    assert.equal(config.comments.lineComment, '#');
    assert.deepEqual(config.brackets, [['{', '}'], ['[', ']'], ['(', ')']]);
    assert.ok(config.autoClosingPairs.some((p) => p.open === '"' && p.close === '"' && p.notIn?.includes('string')));
  });

  it('takes hyphenated kinds, numbers with suffixes and identifiers as words', () => {
    const words = (s: string): string[] => [...s.matchAll(new RegExp(config.wordPattern, 'g'))].map((m) => m[0]);
    assert.deepEqual(words('iommu smmu0 : arm-smmu-v3 { granule = 16K }'), ['iommu', 'smmu0', 'arm-smmu-v3', 'granule', '16K']);
    assert.deepEqual(words('default_domain = dma-fq'), ['default_domain', 'dma-fq']);
    assert.deepEqual(words('h = dma_map_page(eth0, 0x8_0000_0000)'), ['h', 'dma_map_page', 'eth0', '0x8_0000_0000']);
    assert.deepEqual(words('a - b'), ['a', 'b']);
  });
});

describe('ext: folding ranges', () => {
  it('folds braces, multi-line lists, sections, regions and comment blocks', () => {
    const text = [
      '# A scenario',                                  // 0
      '# with a long header',                          // 1
      'platform {',                                    // 2
      '  page_size = 4K',                              // 3
      '  memory = "}"   # a brace in a string: no fold end',  // 4
      '}',                                             // 5
      '# --- 1. first ---',                            // 6
      'x = vduse_domain_set_map(vd, [{start = 0}, \\', // 7
      '   {start = 1}])',                              // 8
      'for i in 0 .. 4 {',                             // 9
      '  y = i',                                       // 10
      '}',                                             // 11
      '',                                              // 12
      '# --- 2. second ---',                           // 13
      '# region setup',                                // 14
      'z = 1',                                         // 15
      '# endregion',                                   // 16
    ].join('\n');
    const ranges = foldingRanges(text).map((r) => `${r.start}-${r.end}${r.kind ? ` ${r.kind}` : ''}`);
    assert.deepEqual(ranges.sort(), [
      '0-1 comment', '13-16 region', '14-16 region', '2-4', '6-11 region', '7-8', '9-10',
    ].sort());
  });

  it('tolerates unbalanced brackets while typing', () => {
    assert.doesNotThrow(() => foldingRanges('platform {\n  x = )\n] }\n{\n'));
    assert.deepEqual(foldingRanges('a = [1,\n 2\n'), []);
  });
});
