// The language and engine as one bundle (dist/core.js) that the extension,
// its run worker and the command line share instead of each carrying a copy
// (esbuild.mjs rewrites their imports of src/lang, src/engine and src/report
// to it). Everything an entry imports from those folders is exported here;
// the type checker reports any name two modules would both export.

export * from './lang/run';
export * from './lang/run-result';
export * from './lang/limits';
export * from './report/format-report';
export * from './lang/services/inlay-hints';
export * from './lang/services/code-lenses';
export * from './lang/services/signature-help';
export * from './lang/services/hover';
export * from './lang/services/document-model';
export * from './lang/services/positions';
export * from './lang/services/run-index';
export * from './lang/services/completion';
export * from './lang/services/semantic-tokens';
export * from './lang/services/code-actions';
export * from './lang/timeline';
export * from './lang/frontend';
export * from './lang/parser';
export * from './lang/interp/values';
export * from './lang/interp/number-style';
export * from './engine/inspect';
export * from './engine/snapshot';
export * from './lang/interp/run-budget';
export * from './engine/sanitizer';
export * from './lang/incremental';
