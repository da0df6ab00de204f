// The one size limit of a scenario, shared by the parser, the command line and
// the extension: a 10,000-line scenario is about 400 KB, so 2 MiB leaves room
// while keeping every keystroke's parse and check fast.

export const MAX_SCENARIO_BYTES = 2 * 1024 * 1024;

/** The limit as people read it. */
export const MAX_SCENARIO_TEXT = '2 MiB';

/** Why a scenario of `size` bytes (or characters) is refused, or undefined when it is not. */
export function scenarioTooLarge(size: number, what = 'scenario'): string | undefined {
  if (size <= MAX_SCENARIO_BYTES) return undefined;
  return `${what} is too large: ${(size / (1024 * 1024)).toFixed(1)} MiB (${size} bytes); a scenario may be at most ${MAX_SCENARIO_TEXT} (${MAX_SCENARIO_BYTES} bytes)`;
}
