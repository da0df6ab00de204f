// How a kernel call of the language is described to the user, shared by
// completion, signature help and hover: its Markdown documentation, the
// words for its value kinds, and which parameter an argument being written
// fills.

import type { BuiltinSpec, ValueKind } from '../builtins';

/** What a value kind is called in documentation and details. */
export const KIND_LABEL: Partial<Record<ValueKind, string>> = {
  device: 'device', iommu: 'IOMMU', domain: 'IOMMU domain', buffer: 'buffer', coherent: 'coherent allocation', iova_state: 'IOVA state',
  sva_handle: 'SVA handle', attach_handle: 'attach handle', sg: 'scatterlist', sg_entry: 'scatterlist entry', mm: 'address space', walk: 'walk',
  int: 'integer', bool: 'boolean', string: 'string', bytes: 'bytes', list: 'list', record: 'record', range: 'range',
};

/** Markdown doc of a builtin: prototype, doc, parameters. */
export function builtinMarkdown(spec: BuiltinSpec): string {
  const lines = ['```c', spec.kernel, '```', '', spec.doc, ''];
  for (const p of spec.params) {
    const extra = p.optional ? ` (optional${p.default !== undefined ? `, default ${p.default}` : ''})` : '';
    lines.push(`- \`${p.namedOnly ? `${p.name} = ` : p.name}\`${extra}: ${p.doc}`);
  }
  if (spec.returns !== 'void') lines.push('', `Returns ${KIND_LABEL[spec.returns] ?? spec.returns}.`);
  return lines.join('\n');
}

/**
 * Which parameter the argument being written binds to, the way bindArgs()
 * binds: positional arguments fill the parameters that are not named-only, in
 * order (a variadic one takes all the rest); `name = ` picks by name.
 */
export function activeParameter(spec: BuiltinSpec, positionalIndex: number, named: string | undefined): number | undefined {
  if (named !== undefined) {
    const i = spec.params.findIndex((p) => p.name === named);
    return i < 0 ? undefined : i;
  }
  let n = 0;
  for (let i = 0; i < spec.params.length; i++) {
    const p = spec.params[i]!;
    if (p.namedOnly) continue;
    if (p.variadic || n === positionalIndex) return i;
    n++;
  }
  return undefined;
}
