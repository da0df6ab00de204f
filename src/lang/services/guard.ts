// Every service entry point runs inside guard(): editor features must never
// throw on broken input, so a bug degrades to "no hover" instead of an error
// popup. Tests install a handler to see (and fail on) what was swallowed.

type ErrorHandler = (error: unknown, where: string) => void;

let handler: ErrorHandler | undefined;

/** Installs (or with undefined removes) the handler told about swallowed errors. */
export function setServiceErrorHandler(h: ErrorHandler | undefined): void {
  handler = h;
}

export function guard<T>(where: string, fallback: T, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    try {
      handler?.(e, where);
    } catch {
      // a failing handler must not break the editor either
    }
    return fallback;
  }
}
