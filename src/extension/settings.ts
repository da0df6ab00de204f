// The extension's settings: names, defaults and how a raw value read from
// the configuration becomes a usable one. No vscode import, so the defaults
// can be checked against package.json in unit tests; config.ts reads them.

/** Kernel versions whose behaviour the engine models (docs/language.md: default mainline v6.18). */
export const KERNEL_VERSIONS = ['6.18'] as const;
export type KernelVersion = (typeof KERNEL_VERSIONS)[number];

export interface DmascopeSettings {
  /** Quiet time after the last edit before the scenario runs (`dmascope.diagnostics.debounceMs`). */
  readonly debounceMs: number;
  /** Show values and IOVAs as inlay hints (`dmascope.inlayHints.enabled`). */
  readonly inlayHintsEnabled: boolean;
  /** Kernel behaviour to emulate (`dmascope.kernel.version`). */
  readonly kernelVersion: KernelVersion;
  /** Run the scenario while typing (`dmascope.runOnType`); off: only the Run command runs it. */
  readonly runOnType: boolean;
  /** Seconds a run may take before it stops and reports where (`dmascope.run.timeBudgetSeconds`). */
  readonly runTimeBudgetSeconds: number;
  /** MiB a run may add to the worker's heap before it stops and reports where (`dmascope.run.memoryBudgetMb`). */
  readonly runMemoryBudgetMb: number;
}

/** Setting keys under the `dmascope` section. */
export const SETTING_KEYS = {
  debounceMs: 'diagnostics.debounceMs',
  inlayHintsEnabled: 'inlayHints.enabled',
  kernelVersion: 'kernel.version',
  runOnType: 'runOnType',
  runTimeBudgetSeconds: 'run.timeBudgetSeconds',
  runMemoryBudgetMb: 'run.memoryBudgetMb',
} as const satisfies Record<keyof DmascopeSettings, string>;

export const DEFAULT_SETTINGS: DmascopeSettings = {
  debounceMs: 300,
  inlayHintsEnabled: true,
  kernelVersion: '6.18',
  runOnType: true,
  runTimeBudgetSeconds: 30,
  runMemoryBudgetMb: 1024,
};

/** Largest budgets accepted (package.json declares the same maxima). */
export const MAX_RUN_TIME_BUDGET_SECONDS = 3600;
export const MAX_RUN_MEMORY_BUDGET_MB = 16384;

/** Longest debounce accepted (package.json declares the same maximum). */
export const MAX_DEBOUNCE_MS = 10_000;

/**
 * A run stops itself at its time budget and keeps what it did; a worker that
 * has not answered this long after the budget (a statement that never
 * returns) is stopped and the run reported on line 1.
 */
export const RUN_TIME_GRACE_MS = 10_000;

/** The worker's deadline for a run with a time budget of `budgetSeconds`. */
export function runTimeLimitMs(budgetSeconds: number): number {
  return Math.round(budgetSeconds * 1000) + RUN_TIME_GRACE_MS;
}

/** Deadline of a check (parse and check only). */
export const CHECK_TIME_LIMIT_MS = 20_000;

/**
 * Scenarios up to this many characters are checked on the extension host's
 * thread at each edit (a few milliseconds); longer ones in a worker, so a
 * 10,000-line scenario never blocks other extensions while typing.
 */
export const SYNC_CHECK_MAX_CHARS = 32_000;

/** Turns raw configuration values (any type, possibly missing) into settings. */
export function normalizeSettings(get: (key: string) => unknown): DmascopeSettings {
  const debounce = get(SETTING_KEYS.debounceMs);
  const hints = get(SETTING_KEYS.inlayHintsEnabled);
  const kernel = get(SETTING_KEYS.kernelVersion);
  const onType = get(SETTING_KEYS.runOnType);
  const budget = (key: string, max: number, fallback: number): number => {
    const v = get(key);
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.min(max, v) : fallback;
  };
  return {
    debounceMs: typeof debounce === 'number' && Number.isFinite(debounce)
      ? Math.min(MAX_DEBOUNCE_MS, Math.max(0, Math.round(debounce)))
      : DEFAULT_SETTINGS.debounceMs,
    inlayHintsEnabled: typeof hints === 'boolean' ? hints : DEFAULT_SETTINGS.inlayHintsEnabled,
    kernelVersion: (KERNEL_VERSIONS as readonly unknown[]).includes(kernel) ? (kernel as KernelVersion) : DEFAULT_SETTINGS.kernelVersion,
    runOnType: typeof onType === 'boolean' ? onType : DEFAULT_SETTINGS.runOnType,
    runTimeBudgetSeconds: budget(SETTING_KEYS.runTimeBudgetSeconds, MAX_RUN_TIME_BUDGET_SECONDS, DEFAULT_SETTINGS.runTimeBudgetSeconds),
    runMemoryBudgetMb: budget(SETTING_KEYS.runMemoryBudgetMb, MAX_RUN_MEMORY_BUDGET_MB, DEFAULT_SETTINGS.runMemoryBudgetMb),
  };
}
