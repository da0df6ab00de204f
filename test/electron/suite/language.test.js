/* global require, describe, it, before */
/* eslint-disable @typescript-eslint/no-require-imports */
// The language features of the extension through the VS Code API, the same
// behaviours test/e2e/run-e2e.mjs checks in the browser.
const assert = require('node:assert/strict');
const vscode = require('vscode');
const { EXT_ID, open, positionOf, poll, hoverText, labelOf, hintText, uriOf } = require('./helpers');

const STREAMING = '01-streaming-map.dmas';
const SUMMARY = /PASS|FAIL|\d+\s*\/\s*\d+|expectation/i;

describe('dmascope language features', function () {
  this.timeout(60_000);
  let editor;

  before(async () => {
    editor = await open(STREAMING);
  });

  it('activates on opening a .dmas file, with language id dmas', async () => {
    assert.equal(editor.document.languageId, 'dmas', 'the .dmas file should open in language mode dmas ("DMA scenario")');
    const ext = vscode.extensions.getExtension(EXT_ID);
    assert.ok(ext, `${EXT_ID} is not installed in the test instance`);
    const active = await poll(() => ext.isActive, 10_000);
    assert.ok(active, `${EXT_ID} did not activate on opening ${STREAMING} (activation event onLanguage:dmas missing?)`);
  });

  it('reports a diagnostic for a broken line (unclosed call)', async () => {
    const broken = await open('broken.dmas');
    const line = positionOf(broken.document, 'h = dma_map_page(').line;
    const diags = await poll(() => {
      const d = vscode.languages.getDiagnostics(uriOf('broken.dmas'));
      return d.some((x) => x.range.start.line === line && x.severity === vscode.DiagnosticSeverity.Error) ? d : undefined;
    });
    const seen = vscode.languages.getDiagnostics(uriOf('broken.dmas'));
    assert.ok(diags, `no error diagnostic on line ${line + 1} of broken.dmas (got: ${JSON.stringify(seen.map((d) => `${d.range.start.line + 1}: ${d.message}`))})`);
    editor = await open(STREAMING);
  });

  it('completes dma_map_page after "dma_"', async () => {
    // No dma_map_page in the text: word-based suggestions must not make this pass.
    const content = editor.document.getText().split('\n').filter((l) => !l.includes('dma_map_page')).join('\n') + '\nh = dma_';
    const doc = await vscode.workspace.openTextDocument({ language: 'dmas', content });
    const end = doc.lineAt(doc.lineCount - 1).range.end;
    const list = await vscode.commands.executeCommand('vscode.executeCompletionItemProvider', doc.uri, end);
    const labels = (list?.items ?? []).filter((i) => i.kind !== vscode.CompletionItemKind.Text).map(labelOf);
    assert.ok(labels.includes('dma_map_page'), `no dma_map_page completion (got ${labels.length}: ${labels.slice(0, 10).join(', ')})`);
  });

  it('shows the kernel documentation when hovering a call', async () => {
    const pos = positionOf(editor.document, 't = dma_map_page(', 'dma_map_page', 3);
    const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', editor.document.uri, pos);
    const text = hoverText(hovers ?? []);
    assert.ok(text.includes('dma_map_page') && text.length > 30, `no documentation hover on dma_map_page (got "${text.slice(0, 200)}")`);
  });

  it('shows the IOVA a call returned as an inlay hint', async () => {
    const doc = editor.document;
    const range = new vscode.Range(0, 0, doc.lineCount, 0);
    const hints = await poll(async () => {
      const h = (await vscode.commands.executeCommand('vscode.executeInlayHintProvider', doc.uri, range)) ?? [];
      return h.some((x) => hintText(x).includes('0xfffff000')) ? h : undefined;
    });
    const seen = ((await vscode.commands.executeCommand('vscode.executeInlayHintProvider', doc.uri, range)) ?? []).map(hintText);
    assert.ok(hints, `no inlay hint with 0xfffff000 (got ${seen.length}: ${seen.slice(0, 8).join(' | ')})`);
  });

  it('shows the run summary and a Run action as code lenses', async () => {
    const lenses = await poll(async () => {
      const l = (await vscode.commands.executeCommand('vscode.executeCodeLensProvider', editor.document.uri, 20)) ?? [];
      return l.some((x) => SUMMARY.test(x.command?.title ?? '')) ? l : undefined;
    });
    const titles = ((await vscode.commands.executeCommand('vscode.executeCodeLensProvider', editor.document.uri, 20)) ?? []).map((x) => x.command?.title ?? '(unresolved)');
    assert.ok(lenses, `no code lens with the run summary (got: ${titles.join(' | ') || 'none'})`);
    assert.ok(titles.some((t) => /\brun\b/i.test(t)), `no "Run" code lens (got: ${titles.join(' | ')})`);
  });

  it('runs the scenario with "dmascope: Run scenario"', async () => {
    await vscode.window.showTextDocument(editor.document);
    // Executing a contributed command activates its extension first (onCommand).
    await vscode.commands.executeCommand('dmascope.runScenario');
    assert.ok(vscode.extensions.getExtension(EXT_ID)?.isActive, `${EXT_ID} is not active after running dmascope.runScenario`);
  });
});
