// The one place that reads dmascope's settings from VS Code. Everything else
// asks `config.current` and listens to `config.onDidChange`.

import * as vscode from 'vscode';
import { type DmascopeSettings, normalizeSettings } from './settings';

export type { DmascopeSettings, KernelVersion } from './settings';

export const CONFIG_SECTION = 'dmascope';

export class Config implements vscode.Disposable {
  private settings: DmascopeSettings = Config.read();
  private readonly emitter = new vscode.EventEmitter<DmascopeSettings>();
  private readonly subscription: vscode.Disposable;

  /** Fires with the new settings after any `dmascope.*` setting changed. */
  readonly onDidChange: vscode.Event<DmascopeSettings> = this.emitter.event;

  constructor() {
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(CONFIG_SECTION)) return;
      this.settings = Config.read();
      this.emitter.fire(this.settings);
    });
  }

  get current(): DmascopeSettings {
    return this.settings;
  }

  private static read(): DmascopeSettings {
    const section = vscode.workspace.getConfiguration(CONFIG_SECTION);
    return normalizeSettings((key) => section.get(key));
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
