// Names a failed statement never made: the device, IOMMU or mm whose
// declaration a kernel BUG (or another error) stopped, and a variable whose
// value needed one of them. A later use says where the name was lost rather
// than "unknown name", so the first error stays the one that explains the
// run (an init_iova_domain BUG while a device probes, then every use of the
// device).

import { KernelBug } from '../../engine/errno';
import type { Span, Statement } from '../ast';
import { RuntimeError } from './runtime-error';

export interface LostName {
  /** Where it was lost: "the kernel BUG at line 3". */
  cause: string;
  /** Why that lost this name: "its declaration did not complete". */
  how: string;
}

/** A use of a lost name (the statement using it fails with this, and an assignment it fed is lost too). */
export class LostNameError extends RuntimeError {
  constructor(readonly lostName: string, readonly lost: LostName, span: Span) {
    super(`${lostName} was lost to ${lost.cause}: ${lost.how}`, span, 'lost-name');
  }
}

/** After `stmt` failed with `e`: the name it was to declare, or the variable it was to assign from a lost name, is lost. */
export function noteLostNames(lost: Map<string, LostName>, stmt: Statement, e: unknown): void {
  if (stmt.kind === 'iommu' || stmt.kind === 'device' || stmt.kind === 'mm') {
    const cause = e instanceof LostNameError ? e.lost.cause : `the ${e instanceof KernelBug ? 'kernel BUG' : 'error'} at line ${stmt.span.line}`;
    lost.set(stmt.name.text, { cause, how: `its ${stmt.kind} declaration did not complete` });
  } else if (stmt.kind === 'assign' && stmt.target.kind === 'ident' && e instanceof LostNameError) {
    lost.set(stmt.target.name, { cause: e.lost.cause, how: `its value at line ${stmt.span.line} needed ${e.lostName}` });
  }
}

/** The error for a use of `name` when a failed statement lost it. */
export function lostNameError(lost: ReadonlyMap<string, LostName>, name: string, span: Span): LostNameError | undefined {
  const l = lost.get(name);
  return l === undefined ? undefined : new LostNameError(name, l, span);
}
