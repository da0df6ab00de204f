// Deep copies of engine state for the debugger's step back: a snapshot is a
// clone of the whole object graph (prototypes, Maps, Sets, typed arrays with
// their shared buffers, and shared references preserved), restored by cloning it again. Engine state
// holds no closures, so a structural copy is a complete one.

export function cloneState<T>(root: T): T {
  const seen = new Map<unknown, unknown>();
  const visit = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const done = seen.get(value);
    if (done !== undefined) return done;
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
