// An error in how the scenario uses the language or the API (wrong argument
// kind, unknown name at run time): reported as a diagnostic on the statement,
// and the run goes on with the next one.

import type { Span } from '../ast';

export class RuntimeError extends Error {
  readonly span?: Span;
  readonly code: string;

  constructor(message: string, span?: Span, code = 'runtime') {
    // No JavaScript stack: the diagnostic carries the scenario's span, and a
    // loop that fails a million times must not pay for a million stack walks.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.span = span;
    this.code = code;
  }
}
