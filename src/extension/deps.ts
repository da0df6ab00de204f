// What the extension's parts share, handed to every `register...(context, deps)`.

import type * as vscode from 'vscode';
import type { Config } from './config';
import type { RunService } from './run-service';
import type { RunStore } from './run-store';

export interface ExtensionDeps {
  /** Settings, read in one place: `deps.config.current`, `deps.config.onDidChange`. */
  readonly config: Config;
  /** The latest run of each open scenario (see run-store.ts for the reader API). */
  readonly store: RunStore;
  /** Runs on demand: `deps.service.runNow(document)`. */
  readonly service: RunService;
  /** The "dmascope" output channel (run reports). */
  readonly output: vscode.OutputChannel;
}
