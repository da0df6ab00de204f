// The shape of a builtin binding, shared by the per-topic builtin tables.

import type { Machine } from '../../engine/machine';
import type { Value } from './values';

export interface CallContext {
  m: Machine;
  /** Name the result will be assigned to, for labels ("buf", "d"). */
  target?: string;
}

export interface BuiltinBinding {
  min: number;
  max: number;
  named?: readonly string[];
  impl(c: CallContext, args: Value[], named: ReadonlyMap<string, Value>): Value;
}
