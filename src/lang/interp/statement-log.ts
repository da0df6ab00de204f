// What each statement returned, in run order (RunResult.statements), kept as
// the trace keeps its events: distinct results once, and a column of ids into
// them (id-column.ts). A loop returns the same value on the same line again
// and again, so a million iterations cost a few kilobytes, not an array of
// millions of pointers grown (and copied into fresh memory) as it fills.

import { CLONE } from '../../engine/snapshot';
import { IdColumn } from '../../engine/trace/id-column';
import type { StatementResult } from '../run-result';

export class StatementLog {
  constructor(
    /** Distinct results, shared with the copies of this log (only appended to: an id never changes meaning). */
    private readonly distinct: StatementResult[] = [],
    private readonly ids: IdColumn = new IdColumn(),
  ) {}

  get length(): number {
    return this.ids.length;
  }

  /** Appends a result; its id, to append it again with pushId. */
  add(result: StatementResult): number {
    const id = this.distinct.length;
    this.distinct.push(result);
    this.ids.push(id);
    return id;
  }

  /** Appends the result `add` returned this id for. */
  pushId(id: number): void {
    this.ids.push(id);
  }

  at(i: number): StatementResult {
    return this.distinct[this.ids.get(i)];
  }

  /** The first n results (all by default) as an array. */
  toArray(n = this.length): StatementResult[] {
    const out = new Array<StatementResult>(n);
    for (let i = 0; i < n; i++) out[i] = this.distinct[this.ids.get(i)];
    return out;
  }

  /** A snapshot's or a restore's copy: the id column copied (sharing its full chunks), the distinct results shared. */
  [CLONE](): StatementLog {
    return new StatementLog(this.distinct, this.ids.copy());
  }
}
