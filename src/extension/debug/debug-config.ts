// The launch configuration F5 uses when there is no launch.json: debug the
// active scenario (or kernel capture), stopping at its first statement. Pure (no vscode), so
// unit tests check it.

export const DEBUG_TYPE = 'dmascope';

export interface DmascopeLaunch {
  type: string;
  request: string;
  name: string;
  program?: string;
  stopOnEntry?: boolean;
  noDebug?: boolean;
  /** The program is a kernel capture (the adapter also tells one by its name and first lines). */
  capture?: boolean;
  [key: string]: unknown;
}

/**
 * Fills in a launch configuration: an empty one (F5 without launch.json) gets
 * the active .dmas file (or the active kernel capture: `activeIsCapture`);
 * one without a program gets it too. Returns a message instead when there is
 * nothing to debug.
 */
export function resolveLaunch(config: Partial<DmascopeLaunch>, activeDmas: string | undefined, activeIsCapture = false): DmascopeLaunch | string {
  const empty = !config.type && !config.request && !config.name;
  const given = typeof config.program === 'string' && config.program !== '' && config.program !== '${file}';
  const program = given ? config.program : activeDmas;
  if (!program) return 'dmascope: open a .dmas scenario to debug (or set "program" in the launch configuration).';
  // The editor knew the active file is a capture (by its language): tell the adapter, whatever its name.
  const capture = !given && activeIsCapture ? { capture: true } : {};
  return {
    ...config,
    ...capture,
    type: DEBUG_TYPE,
    request: config.request ?? 'launch',
    name: config.name ?? (activeIsCapture && !given ? 'Debug capture' : 'Debug scenario'),
    program,
    stopOnEntry: empty ? true : config.stopOnEntry === true,
  };
}
