// What the panels' bundles get when they import ./toolkit: the one copy of
// the toolkit module, loaded by the page before the panel's own script
// (dist/webview/toolkit.js, which sets globalThis.dmascopeToolkit). The
// three panels would otherwise each carry the whole control library (about
// 137 KB minified each). esbuild.mjs swaps this file in for ./toolkit in the
// panel bundles; type checks and unit tests see ./toolkit itself.

import type * as Toolkit from './toolkit';

const toolkit = (globalThis as unknown as { dmascopeToolkit?: typeof Toolkit }).dmascopeToolkit;
if (!toolkit) throw new Error('dmascope: the page did not load dist/webview/toolkit.js before the panel script');

export const { registerToolkit, dropdown, textField, fillDropdown, fillGrid, onGridRowActivate } = toolkit;
export type { Choice, Column } from './toolkit';
