// `node dist/debug-adapter.js`: the dmascope debug adapter over stdin/stdout,
// the same session the extension runs inline (tests drive it with DebugClient).

import { DmascopeDebugSession } from './dmascope-session';

DmascopeDebugSession.run(DmascopeDebugSession);
