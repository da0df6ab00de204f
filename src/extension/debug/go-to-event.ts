// What "dmascope: Go to event" and the Debug Console's log line links
// accept, checked before it reaches the adapter.

export type GoToEventTarget = { event: number } | { percent: number } | { kind: string };

/** `1234` (1-based event number), `50%`, or an event name; a message when it is none of these. */
export function parseGoToEvent(text: string): GoToEventTarget | string {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) >= 1 ? { event: Number(t) - 1 } : 'events are numbered from 1';
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(t);
  if (pct) return Number(pct[1]) <= 100 ? { percent: Number(pct[1]) } : 'a percentage is at most 100%';
  if (/^[a-z_][\w]*(:[\w]+)?$/i.test(t)) return { kind: t };
  return `"${t}" is not an event number, a percentage or an event name`;
}

/** Path of the URI a kernel log line links to (log-links.ts). */
export const EVENT_LINK_PATH = '/goToEvent';

/** The event a log line's link names (`...?event=N`), or undefined for any other URI. */
export function eventOfLink(uri: { path: string; query: string }): number | undefined {
  if (uri.path !== EVENT_LINK_PATH) return undefined;
  const m = /(?:^|&)event=(\d{1,12})(?:&|$)/.exec(uri.query);
  return m ? Number(m[1]) : undefined;
}
