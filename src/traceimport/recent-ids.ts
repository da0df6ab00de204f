// The id of a string, remembered for the last few strings looked up: a
// trace repeats its comms, irq flags and devices line after line, and
// comparing a fresh string with a few remembered ones costs less than a Map
// lookup, which first hashes the string (one cut from a line has no hash
// yet: V8 computes it on the first lookup, and that showed in profiles).

import { ownString } from './values';

export class RecentIds {
  private readonly texts: (string | undefined)[];
  private readonly ids: number[];
  /** The entry the next miss replaces (round robin). */
  private next = 0;

  /** `lookUp` gives the id of a string not remembered. */
  constructor(size: number, private readonly lookUp: (text: string) => number) {
    this.texts = new Array<string | undefined>(size).fill(undefined);
    this.ids = new Array<number>(size).fill(0);
  }

  /** lookUp(text), from memory when text is one of the last few. */
  get(text: string): number {
    const texts = this.texts;
    for (let k = 0; k < texts.length; k++) if (texts[k] === text) return this.ids[k];
    const id = this.lookUp(text);
    const k = this.next;
    this.next = k + 1 === texts.length ? 0 : k + 1;
    // A copy of its own: a string cut from a line would keep the line alive.
    texts[k] = ownString(text);
    this.ids[k] = id;
    return id;
  }
}
