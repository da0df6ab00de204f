/* global require, module */
/* eslint-disable @typescript-eslint/no-require-imports */
// Shared by the *.test.js files: the workspace runTest.mjs prepared, opening
// its files, and a bounded poll.
const path = require('node:path');
const vscode = require('vscode');

const EXT_ID = 'dmascope.dmascope';
const workspace = process.env.DMASCOPE_TEST_WORKSPACE ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;

function uriOf(name) {
  if (!workspace) throw new Error('no test workspace (DMASCOPE_TEST_WORKSPACE)');
  return vscode.Uri.file(path.join(workspace, name));
}

/** Opens a workspace file in an editor and returns the editor. */
async function open(name) {
  const doc = await vscode.workspace.openTextDocument(uriOf(name));
  return vscode.window.showTextDocument(doc);
}

/** The position of `target` inside the first line of doc containing `context` (offset `into` chars into target). */
function positionOf(doc, context, target = context, into = 0) {
  for (let i = 0; i < doc.lineCount; i++) {
    const at = doc.lineAt(i).text.indexOf(context);
    if (at >= 0) return new vscode.Position(i, at + context.indexOf(target) + into);
  }
  throw new Error(`${path.basename(doc.fileName)} has no line with "${context}"`);
}

/** Calls fn until it returns a truthy value or ms pass; returns the last value. */
async function poll(fn, ms = 10_000, every = 200) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() >= deadline) return v;
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Plain text of hover contents (MarkdownString | MarkedString). */
function hoverText(hovers) {
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : c.value))
    .join('\n');
}

const labelOf = (item) => (typeof item.label === 'string' ? item.label : item.label.label);
const hintText = (hint) => (typeof hint.label === 'string' ? hint.label : hint.label.map((p) => p.value).join(''));

module.exports = { EXT_ID, workspace, uriOf, open, positionOf, poll, hoverText, labelOf, hintText };
