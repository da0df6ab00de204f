// What changed between two JSON views (a machine view one event apart, or
// one step apart): a patch to send instead of the whole view. Between two
// stops of the debugger a machine of 100,000 mappings changes by a row or
// two, while the whole view is tens of megabytes of JSON (serialised and
// parsed twice on its way from the debug session to a panel).
//
// Objects are compared key by key; arrays of rows (objects of scalars, as a
// view's mappings, IOVA allocations and buffers) by content, as a list of
// splices, so that a row put in or taken out does not shift the rest; other
// arrays of the same length element by element. Unchanged parts are shared
// with the old view by reference, never copied.

/** A JSON value as the views are made of. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One splice of an array of rows: at `at` (an index of the old array) drop `drop` rows and put in `put`. */
export type RowSplice = [at: number, drop: number, put: Json[]];

export type ViewPatch =
  /** Replaced whole. */
  | { set: Json }
  /** An object: the changed keys' patches, and the keys it lost. */
  | { keys: { [key: string]: ViewPatch }; gone?: string[] }
  /** An array of the same length: the changed elements' patches by index. */
  | { items: { [index: string]: ViewPatch } }
  /** An array of rows: splices in increasing `at`, not overlapping. */
  | { rows: RowSplice[] };

const isObject = (v: Json): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep equality of two JSON values (without building strings). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // for-in over plain JSON objects (no inherited keys): no key arrays made, this runs once per row.
  // A key holding undefined is no key (JSON drops it).
  let keys = 0;
  for (const k in a) {
    const ak = a[k] as Json | undefined;
    if (ak === undefined) continue;
    keys++;
    const bk = b[k] as Json | undefined;
    if (bk === undefined || !jsonEqual(ak, bk)) return false;
  }
  for (const k in b) if ((b[k] as Json | undefined) !== undefined) keys--;
  return keys === 0;
}

/** A row: a scalar, or an object or short array of scalars (one level of nesting allowed: a buffer's cache counts). */
function isRow(v: Json, depth = 2): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (depth === 0) return false;
  if (Array.isArray(v)) return v.length <= 16 && v.every((x) => isRow(x, depth - 1));
  for (const k in v) if (!isRow(v[k], depth - 1)) return false;
  return true;
}

/** Arrays are diffed as rows when their end elements are rows or scalars (views' arrays hold one shape each; a buffer's ownedBy can list thousands of names). */
function holdsRows(a: Json[], b: Json[]): boolean {
  const sample = [a[0], a[a.length - 1], b[0], b[b.length - 1]].filter((x): x is Json => x !== undefined);
  return sample.length > 0 && sample.every((x) => isRow(x));
}

/** How far ahead a row is looked for when two rows differ (further moves go as rows dropped and put in again). */
const RESYNC_WINDOW = 64;

/**
 * Splices turning rows `a` into rows `b`, in one pass: where the rows
 * differ, the nearest row ahead in either array that meets the other again
 * says whether rows were put in or dropped; with none in reach, the row was
 * replaced.
 */
function diffRows(a: Json[], b: Json[]): RowSplice[] {
  const splices: RowSplice[] = [];
  let open: RowSplice | null = null;
  const edit = (at: number): RowSplice => {
    if (!open) {
      open = [at, 0, []];
      splices.push(open);
    }
    return open;
  };
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (jsonEqual(a[i], b[j])) {
      i++;
      j++;
      open = null;
      continue;
    }
    let put = 0;
    let drop = 0;
    for (let d = 1; d <= RESYNC_WINDOW && put === 0 && drop === 0; d++) {
      if (j + d < b.length && jsonEqual(a[i], b[j + d])) put = d;
      else if (i + d < a.length && jsonEqual(a[i + d], b[j])) drop = d;
    }
    if (put === 0 && drop === 0) {
      put = 1;
      drop = 1;
    }
    const s = edit(i);
    s[1] += drop;
    for (let k = 0; k < put; k++) s[2].push(b[j + k]);
    i += drop;
    j += put;
  }
  if (i < a.length) edit(i)[1] += a.length - i;
  if (j < b.length) for (; j < b.length; j++) edit(i)[2].push(b[j]);
  return splices;
}

/** The patch turning `a` into `b`; undefined when they are equal. */
export function diffView(a: Json, b: Json): ViewPatch | undefined {
  if (a === b) return undefined;
  if (isObject(a) && isObject(b)) {
    const keys: { [key: string]: ViewPatch } = {};
    let changed = false;
    // A key holding undefined is no key (JSON drops it).
    const has = (o: { [key: string]: Json }, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k) && (o[k] as Json | undefined) !== undefined;
    for (const k of Object.keys(b)) {
      if (!has(b, k)) continue;
      const p = has(a, k) ? diffView(a[k], b[k]) : { set: b[k] };
      if (p) {
        keys[k] = p;
        changed = true;
      }
    }
    const gone = Object.keys(a).filter((k) => has(a, k) && !has(b, k));
    if (gone.length > 0) return { keys, gone };
    return changed ? { keys } : undefined;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (holdsRows(a, b)) {
      const rows = diffRows(a, b);
      return rows.length > 0 ? { rows } : undefined;
    }
    if (a.length === b.length) {
      const items: { [index: string]: ViewPatch } = {};
      let changed = false;
      for (let i = 0; i < a.length; i++) {
        const p = diffView(a[i], b[i]);
        if (p) {
          items[i] = p;
          changed = true;
        }
      }
      return changed ? { items } : undefined;
    }
  }
  return jsonEqual(a, b) ? undefined : { set: b };
}

/** `a` with `patch` applied (a new value; `a` is not changed, its unchanged parts are shared). Throws on a patch that does not fit `a`. */
export function applyViewPatch(a: Json, patch: ViewPatch | undefined): Json {
  if (patch === undefined) return a;
  // Patches come over the wire: a malformed one is refused with an Error, never a TypeError half way.
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new Error('a patch must be an object');
  if ('set' in patch) return patch.set;
  if ('keys' in patch) {
    if (!isObject(a)) throw new Error('a patch of keys applies to an object');
    if (typeof patch.keys !== 'object' || patch.keys === null || (patch.gone !== undefined && !Array.isArray(patch.gone))) throw new Error('a patch of keys needs keys { } and gone [ ]');
    const out: { [key: string]: Json } = {};
    const gone = new Set(patch.gone ?? []);
    for (const k of Object.keys(a)) if (!gone.has(k)) out[k] = a[k];
    for (const k of Object.keys(patch.keys)) out[k] = applyViewPatch(Object.prototype.hasOwnProperty.call(a, k) ? a[k] : null, patch.keys[k]);
    return out;
  }
  if (!Array.isArray(a)) throw new Error('a patch of items or rows applies to an array');
  if ('items' in patch) {
    if (typeof patch.items !== 'object' || patch.items === null) throw new Error('a patch of items needs items { }');
    const out = a.slice();
    for (const k of Object.keys(patch.items)) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= a.length) throw new Error(`item ${k} is not in an array of ${a.length}`);
      out[i] = applyViewPatch(a[i], patch.items[k]);
    }
    return out;
  }
  if (!('rows' in patch) || !Array.isArray(patch.rows)) throw new Error('a patch must hold set, keys, items or rows');
  const out: Json[] = [];
  let from = 0;
  for (const splice of patch.rows) {
    if (!Array.isArray(splice) || !Array.isArray(splice[2])) throw new Error('a splice of rows is [at, drop, put[]]');
    const [at, drop, put] = splice;
    if (!Number.isInteger(at) || !Number.isInteger(drop) || at < from || drop < 0 || at + drop > a.length) throw new Error(`a splice at ${at} dropping ${drop} does not fit an array of ${a.length}`);
    for (let i = from; i < at; i++) out.push(a[i]);
    for (const r of put) out.push(r);
    from = at + drop;
  }
  for (let i = from; i < a.length; i++) out.push(a[i]);
  return out;
}
