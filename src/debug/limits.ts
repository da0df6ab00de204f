// The scenario size limit, as the debugger reports it at launch.

import { scenarioTooLarge } from '../lang/limits';

export function limitsMessage(source: string): string | undefined {
  return scenarioTooLarge(source.length);
}
