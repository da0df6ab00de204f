// Signature help: the kernel function's arguments in kernel order, with the
// one being written highlighted. Positions are 0-based (positions.ts).

import { BUILTINS, type BuiltinSpec } from '../builtins';
import { activeParameter, builtinMarkdown } from './builtin-docs';
import { cursorInfo } from './cursor-context';
import type { DocumentModel } from './document-model';
import { guard } from './guard';
import type { Position } from './positions';

export interface ParameterInfo {
  /** [start, end) of the parameter inside `label`. */
  label: [number, number];
  name: string;
  /** Markdown. */
  documentation: string;
}

export interface SignatureInfo {
  label: string;
  /** Markdown. */
  documentation: string;
  parameters: ParameterInfo[];
  /** Index into parameters; undefined when the cursor is past the last one. */
  activeParameter: number | undefined;
  callee: string;
}


/** `dma_map_page(dev, page, offset, size, dir[, attrs])` with the offsets of each parameter. */
export function signatureOf(spec: BuiltinSpec): { label: string; parameters: ParameterInfo[] } {
  let label = `${spec.name}(`;
  const parameters: ParameterInfo[] = [];
  spec.params.forEach((p, i) => {
    const text = p.variadic ? `${p.name}...` : p.namedOnly ? `${p.name} = ...` : p.name;
    const sep = i === 0 ? '' : ', ';
    if (p.optional) label += `[${sep}`;
    else label += sep;
    const start = label.length;
    label += text;
    parameters.push({
      label: [start, label.length],
      name: p.name,
      documentation: `${p.doc}${p.optional ? ` *(optional${p.default !== undefined ? `, default ${p.default}` : ''})*` : ''}`,
    });
    if (p.optional) label += ']';
  });
  label += ')';
  return { label, parameters };
}

/** Signature help at a 0-based position, or undefined outside a known call. Never throws. */
export function signatureHelp(model: DocumentModel, pos: Position): SignatureInfo | undefined {
  return guard('signatureHelp', undefined, () => {
    const info = cursorInfo(model, model.offsetAt(pos), true);
    if (info.ctx.kind !== 'argument') return undefined;
    const frame = info.ctx.frame;
    const spec = BUILTINS.get(frame.callee);
    if (spec === undefined) return undefined;
    const { label, parameters } = signatureOf(spec);
    return { label, documentation: builtinMarkdown(spec), parameters, activeParameter: activeParameter(spec, frame.argIndex, frame.named), callee: spec.name };
  });
}
