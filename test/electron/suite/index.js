/* global require, exports, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
// The extension-tests entry that VS Code loads (--extensionTestsPath): runs
// every *.test.js beside it with mocha (BDD) inside the extension host.
const fs = require('node:fs');
const path = require('node:path');

exports.run = async function run() {
  // mocha 12 is an ES module; its test files are still loaded with require().
  const { default: Mocha } = await import('mocha');
  // Other extensions in the host may throw asynchronously (a builtin's telemetry
  // failing offline, say); mocha would blame whichever test is running. Only
  // errors whose stack passes through this repository (the tests, dist/) count.
  const repo = path.resolve(__dirname, '..', '..', '..');
  const uncaught = Mocha.Runner.prototype._uncaught;
  Mocha.Runner.prototype._uncaught = function (err) {
    const stack = err instanceof Error ? String(err.stack) : '';
    if (err instanceof Error && !stack.includes(repo)) {
      console.warn(`(ignored an error thrown outside dmascope and its tests: ${err.message})`);
      return;
    }
    return uncaught.call(this, err);
  };
  const mocha = new Mocha({ ui: 'bdd', timeout: 30_000, color: true });
  for (const f of fs.readdirSync(__dirname).filter((n) => n.endsWith('.test.js')).sort()) {
    mocha.addFile(path.join(__dirname, f));
  }
  await new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} test(s) failed`)) : resolve()));
  });
};
