// How a number prints, decided from the expression that produced it, the way
// the kernel prints it: addresses (dma_addr_t, phys_addr_t, IOVAs, masks) as
// 0x-prefixed hex, counts and sizes in decimal. A literal keeps the base it
// was written in.

import type { Expr } from '../ast';
import { BUILTINS } from '../builtins';
import { CONSTANTS } from '../constants';
import { RecordValue, renderValue, type Value } from './values';

export type NumberStyle = 'hex' | 'dec';

/** Fields of engine values that hold addresses (w.phys, buf.phys, sg.dma_address, st.addr, ...). */
const ADDRESS_FIELDS = new Set(['phys', 'dma', 'addr', 'iova', 'cpu', 'dma_address', 'bounce', 'table', 'desc', 'desc_addr', 'orig_addr', 'tlb_addr', 'paddr', 'start', 'end', 'last']);

/** Kernel return types that are addresses. */
const ADDRESS_TYPES = /^(dma_addr_t|phys_addr_t|unsigned long iova|void \*)\b/;

/**
 * The style of each builtin's result, worked out once per builtin (a loop
 * asks on every call). A prototype-less object: its keyed load compares the
 * parser's (internalized) name by pointer, a Map compares the characters.
 */
const CALL_STYLES: Record<string, NumberStyle | undefined> = Object.create(null) as Record<string, NumberStyle | undefined>;

function callStyle(callee: string): NumberStyle {
  let style = CALL_STYLES[callee];
  if (style === undefined) {
    const spec = BUILTINS.get(callee);
    style = spec && ADDRESS_TYPES.test(spec.kernel) ? 'hex' : 'dec';
    CALL_STYLES[callee] = style;
  }
  return style;
}

/** The style of each variable, from the expression last assigned to it (lists: to any element). */
export type VariableStyles = Map<string, NumberStyle>;

export function numberStyle(e: Expr, vars: VariableStyles): NumberStyle {
  switch (e.kind) {
    case 'number':
      return /^0[xX]/.test(e.raw) ? 'hex' : 'dec';
    case 'ident': {
      const v = vars.get(e.name);
      if (v !== undefined) return v;
      return CONSTANTS.get(e.name)?.family === 'dma_addr' ? 'hex' : 'dec';
    }
    case 'member':
      return ADDRESS_FIELDS.has(e.property.text) ? 'hex' : 'dec';
    case 'index':
      return numberStyle(e.object, vars);
    case 'call':
      return callStyle(e.callee.text);
    case 'unary':
      return numberStyle(e.operand, vars);
    case 'binary':
      if (['+', '-', '&', '|', '^', '<<', '>>'].includes(e.op)) {
        return numberStyle(e.left, vars) === 'hex' || numberStyle(e.right, vars) === 'hex' ? 'hex' : 'dec';
      }
      return 'dec';
    default:
      return 'dec';
  }
}

/** A number as the kernel would print it in that style: 0x-hex for addresses, decimal otherwise (negative values always decimal). */
export function formatNumber(v: bigint, style: NumberStyle): string {
  if (style === 'hex' && v >= 0n) return `0x${v.toString(16)}`;
  return v.toString(10);
}

/**
 * A value as `print` shows it: numbers in their style, records field by
 * field (address fields in hex, the rest in decimal), lists element by
 * element; everything else as the editor renders it.
 */
export function renderPrinted(v: Value, style: NumberStyle): string {
  if (typeof v === 'bigint') return formatNumber(v, style);
  if (Array.isArray(v)) return `[${v.slice(0, 8).map((x) => renderPrinted(x, style)).join(', ')}${v.length > 8 ? ', ...' : ''}]`;
  if (v instanceof RecordValue) {
    return `{${[...v.fields].map(([k, x]) => `${k} = ${renderPrinted(x, ADDRESS_FIELDS.has(k) ? 'hex' : 'dec')}`).join(', ')}}`;
  }
  return renderValue(v);
}

/** `print EXPR`: a list literal prints each element in its own element's style. */
export function renderPrintedExpr(e: Expr, v: Value, vars: VariableStyles): string {
  if (e.kind === 'list' && Array.isArray(v) && v.length === e.items.length && v.length <= 8) {
    return `[${v.map((x, i) => renderPrinted(x, numberStyle(e.items[i], vars))).join(', ')}]`;
  }
  return renderPrinted(v, numberStyle(e, vars));
}
