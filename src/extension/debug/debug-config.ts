// The launch configuration F5 uses when there is no launch.json: debug the
// active scenario, stopping at its first statement. Pure (no vscode), so
// unit tests check it.

export const DEBUG_TYPE = 'dmascope';

export interface DmascopeLaunch {
  type: string;
  request: string;
  name: string;
  program?: string;
  stopOnEntry?: boolean;
  noDebug?: boolean;
  [key: string]: unknown;
}

/**
 * Fills in a launch configuration: an empty one (F5 without launch.json) gets
 * the active .dmas file; one without a program gets it too. Returns a message
 * instead when there is nothing to debug.
 */
export function resolveLaunch(config: Partial<DmascopeLaunch>, activeDmas: string | undefined): DmascopeLaunch | string {
  const empty = !config.type && !config.request && !config.name;
  const program = typeof config.program === 'string' && config.program !== '' && config.program !== '${file}' ? config.program : activeDmas;
  if (!program) return 'dmascope: open a .dmas scenario to debug (or set "program" in the launch configuration).';
  return {
    ...config,
    type: DEBUG_TYPE,
    request: config.request ?? 'launch',
    name: config.name ?? 'Debug scenario',
    program,
    stopOnEntry: empty ? true : config.stopOnEntry === true,
  };
}
