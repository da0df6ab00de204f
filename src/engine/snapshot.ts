// Deep copies of engine state for the debugger's step back: a snapshot is a
// clone of the object graph (prototypes, Maps, Sets, typed arrays with their
// shared buffers, and shared references preserved), restored by cloning it
// again. Engine state holds no closures, so a structural copy is a complete one.
//
// What a snapshot costs is what changed, not what exists:
// - Objects holding big buffers (emulated memory frames, swiotlb slot arrays)
//   clone themselves through CLONE, sharing their buffers copy-on-write.
// - Append-only logs (markAppendOnly: the statements and expectations a run
//   has produced) are not copied into a snapshot; it keeps the array and its
//   length, and a restore takes that prefix.

/**
 * A method an object defines to clone itself (copy-on-write sharing, for one).
 * It is given the clone's own copier: an object it holds that is also held
 * elsewhere in the state (a mapping record that is its ownership region) must
 * be copied through it, so both holders get the same copy.
 */
export const CLONE = Symbol('dmascope.clone');

/** cloneState's copier of one value, as a CLONE method receives it. */
export type CloneChild = (value: unknown) => unknown;

interface SelfCloning {
  [CLONE](cloneChild: CloneChild): unknown;
}

function isSelfCloning(value: object): value is SelfCloning {
  return typeof (value as Partial<SelfCloning>)[CLONE] === 'function';
}

const appendOnly = new WeakSet<unknown[]>();

/** Declares an array that only ever grows at its end: snapshots keep its length, not a copy. */
export function markAppendOnly<T>(arr: T[]): T[] {
  appendOnly.add(arr);
  return arr;
}

/** An append-only array inside a snapshot: the live array and how long it was then. */
class AppendOnlyPrefix {
  constructor(readonly arr: unknown[], readonly length: number) {}
}

export interface CloneOptions {
  /** Taking a snapshot: append-only arrays are kept by reference and length (see markAppendOnly). */
  snapshot?: boolean;
}

export function cloneState<T>(root: T, opts: CloneOptions = {}): T {
  const seen = new Map<unknown, unknown>();
  const visit = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const done = seen.get(value);
    if (done !== undefined) return done;
    if (value instanceof AppendOnlyPrefix) {
      // Entries of an append-only log are never changed once appended: the prefix shares them.
      const copy = markAppendOnly(value.arr.slice(0, value.length));
      seen.set(value, copy);
      return copy;
    }
    if (isSelfCloning(value)) {
      const copy = value[CLONE](visit);
      seen.set(value, copy);
      return copy;
    }
    if (ArrayBuffer.isView(value)) {
      // Views that share a buffer (a frame's bytes and its 64-bit words) must share the copy too.
      let buf = seen.get(value.buffer) as ArrayBuffer | undefined;
      if (!buf) {
        buf = (value.buffer as ArrayBuffer).slice(0);
        seen.set(value.buffer, buf);
      }
      const ctor = value.constructor as new (b: ArrayBuffer, offset: number, length: number) => ArrayBufferView;
      const perElement = (value as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      const copy = new ctor(buf, value.byteOffset, value.byteLength / perElement);
      seen.set(value, copy);
      return copy;
    }
    if (Array.isArray(value)) {
      if (appendOnly.has(value)) {
        if (opts.snapshot) {
          const ref = new AppendOnlyPrefix(value, value.length);
          seen.set(value, ref);
          return ref;
        }
        const copy = markAppendOnly(new Array<unknown>(value.length));
        seen.set(value, copy);
        for (let i = 0; i < value.length; i++) copy[i] = visit(value[i]);
        return copy;
      }
      const copy: unknown[] = new Array(value.length);
      seen.set(value, copy);
      for (let i = 0; i < value.length; i++) copy[i] = visit(value[i]);
      return copy;
    }
    if (value instanceof Map) {
      const copy = new Map<unknown, unknown>();
      seen.set(value, copy);
      for (const [k, v] of value) copy.set(visit(k), visit(v));
      return copy;
    }
    if (value instanceof Set) {
      const copy = new Set<unknown>();
      seen.set(value, copy);
      for (const v of value) copy.add(visit(v));
      return copy;
    }
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
    seen.set(value, copy);
    for (const key of Object.keys(value)) copy[key] = visit((value as Record<string, unknown>)[key]);
    return copy;
  };
  return visit(root) as T;
}
