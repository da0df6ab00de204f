// The debug adapter as VS Code drives it, for the suites that test it over
// stdio (debug-adapter, debug-capture): dist/debug-adapter.js, built by
// `npm run build`, in a fresh process for every test.

import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { REPO_ROOT } from './fixtures';

export const ADAPTER = path.join(REPO_ROOT, 'dist', 'debug-adapter.js');

/** A DebugClient talking to a fresh adapter process. */
export async function startDebugClient(): Promise<DebugClient> {
  const dc = new DebugClient('node', ADAPTER, 'dmascope');
  await dc.start();
  return dc;
}

/**
 * The suite's mocha hooks: the adapter must be built; each test gets a
 * client of its own (handed to `started`), and afterwards the client
 * `current` returns is stopped (a test may have started another one).
 */
export function useDebugClientPerTest(started: (dc: DebugClient) => void, current: () => DebugClient): void {
  before(() => assert.ok(existsSync(ADAPTER), `${ADAPTER} is missing: run npm run build first`));
  beforeEach(async () => started(await startDebugClient()));
  afterEach(async () => {
    await current().stop();
  });
}

/**
 * Launches as VS Code does: `setup` (breakpoints) runs between the
 * initialized event and configurationDone while the launch is answered.
 */
export async function launchAndConfigure(dc: DebugClient, args: Record<string, unknown>, setup: () => Promise<unknown> = async () => undefined): Promise<void> {
  await Promise.all([
    dc.waitForEvent('initialized').then(async () => {
      await setup();
      await dc.configurationDoneRequest();
    }),
    dc.launch(args as DebugProtocol.LaunchRequestArguments),
  ]);
}
