// An error in how the scenario uses the language or the API (wrong argument
// kind, unknown name at run time): reported as a diagnostic on the statement,
// and the run goes on with the next one.

import type { Span } from '../ast';

export class RuntimeError extends Error {
  constructor(message: string, readonly span?: Span, readonly code = 'runtime') {
    super(message);
  }
}
