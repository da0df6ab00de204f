// The human-readable report of an import: one `FILE:LINE: severity: kind ...`
// line per finding, the per-device replay, and a summary line.

import { severityOf } from './severity';
import type { Finding, ImportResult } from './types';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One line describing a finding: what, where, and the kernel's reason. */
export function describeFinding(f: Finding): string {
  const parts: string[] = [f.kind];
  if (typeof f.device === 'string') parts.push(f.device);
  else if (typeof f.iommu === 'string') parts.push(`(${f.iommu}${typeof f.sid === 'string' ? ` sid ${f.sid}` : ''})`);
  if (f.access !== undefined) parts.push(f.access);
  if (typeof f.addr === 'string') parts.push(f.addr);
  if (typeof f.size === 'number' && f.kind !== 'leak') parts.push(`size ${f.size}`);
  let text = parts.join(' ');
  const why = f.source === 'replay' ? f.message : (f.reason ?? f.message);
  if (typeof why === 'string' && why !== '') text += `: ${why}`;
  if (typeof f.source === 'string' && f.source !== 'replay') text += ` [${f.source}]`;
  if (typeof f.count === 'number' && f.kind !== 'leak') text += f.kind === 'callbacks_suppressed' ? '' : ` (x${f.count})`;
  return text;
}

/** The report `dmascope import FILE` prints. */
export function formatImportReport(r: ImportResult, file: string): string {
  const out: string[] = [];
  for (const f of r.findings) {
    const sev = typeof f.severity === 'string' ? f.severity : severityOf(f.kind);
    out.push(`${file}:${f.line}: ${sev}: ${describeFinding(f)}`);
  }
  for (const m of r.malformed.slice(0, 50)) out.push(`${file}:${m.line}: malformed: ${m.reason}`);
  if (r.malformed.length > 50) out.push(`${file}: ... ${r.malformed.length - 50} more malformed lines (--json lists them all)`);
  for (const d of r.replay?.devices ?? []) {
    out.push(
      `${d.device}: ${plural(d.maps, 'map')}, ${plural(d.unmaps, 'unmap')}, peak ${d.peak_live} live (${d.peak_live_bytes} bytes) at line ${d.peak_line}, ${d.live_at_end} live at the end` +
        (d.bounces > 0 ? `, ${plural(d.bounces, 'swiotlb bounce')} (${d.bounce_bytes} bytes, peak ${d.peak_bounce_bytes} in flight)` : ''),
    );
  }
  if (r.error !== undefined) out.push(`${file}:${r.error.line}: error: ${r.error.message}`);
  const errors = r.findings.filter((f) => (f.severity ?? severityOf(f.kind)) === 'error').length;
  const suppressed = r.findings.filter((f) => f.kind === 'callbacks_suppressed').reduce((n, f) => n + (typeof f.count === 'number' ? f.count : 0), 0);
  const events = r.accounting.event;
  out.push(
    `${r.format} capture ${file}: ${plural(r.lines, 'line')}, ${plural(events, 'event')}, ${plural(r.findings.length, 'finding')} (${plural(errors, 'error')})` +
      (suppressed > 0 ? `, ${suppressed} messages suppressed by the kernel` : '') +
      `, ${plural(r.unknown.count, 'unknown line')}, ${r.malformed.length} malformed`,
  );
  return out.join('\n') + '\n';
}
