// Strips what the log's carrier put in front of the kernel's text: dmesg
// timestamps (`[ 13.134460]`, `dmesg -T`, `dmesg -H`), syslog and journal
// prefixes (`Jan  4 23:12:54 host kernel: `), `kernel: `, dmesg -x
// facility/level columns, raw kmsg levels (`<3>`), mail quoting (`> `) and
// indentation. What remains is the text the kernel printed.

/** Which carrier a line came in; decides the result's `format` between dmesg, journal and syslog. */
export type PrefixKind = 'none' | 'dmesg' | 'journal' | 'syslog';

export interface StrippedLine {
  /** The kernel's text. */
  body: string;
  /** Seconds since boot, when the line carries them. */
  seconds?: number;
  /** Wall-clock text (syslog/journal/dmesg -T), when the line carries it. */
  time?: string;
  host?: string;
  kind: PrefixKind;
}

const QUOTE = /^(?:>[ \t]?)+/;
const BOOT_TS = /^\[\s*(\d{1,10}\.\d{1,9})\]\s?/;
const HUMAN_TS = /^\[((?:[A-Z][a-z]{2} ){1,2}[ \d]?\d(?: \d\d:\d\d(?::\d\d)?)?(?: \d{4})?|\s*[+-]\d+\.\d+|[A-Z][a-z]{2}\d{1,2} \d\d:\d\d)\]\s?/;
const CLASSIC_SYSLOG = /^([A-Z][a-z]{2} ([ \d]\d) \d\d:\d\d:\d\d(?:\.\d+)?) (\S+) ([^\s:[]+)(?:\[\d+\])?: ?/;
const ISO_SYSLOG = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?) (\S+) ([^\s:[]+)(?:\[\d+\])?: ?/;
const KERNEL_TAG = /^kernel: ?/;
const FACILITY = /^(?:kern|user|daemon|syslog)\s*:(?:emerg|alert|crit|err|warn|notice|info|debug)\s*: /;
const KMSG_LEVEL = /^<\d{1,3}>/;

/**
 * Splits a raw line into its carrier prefix and the kernel's text. Never
 * fails: a line without any known prefix comes back as its own body.
 */
export function stripPrefix(raw: string): StrippedLine {
  let s = raw;
  if (s.charCodeAt(0) === 62 /* > */) s = s.replace(QUOTE, '');
  // Indentation from mail and bug trackers; call-trace frames keep theirs inside the body below.
  let lead = 0;
  while (lead < s.length && (s.charCodeAt(lead) === 32 || s.charCodeAt(lead) === 9)) lead++;
  if (lead > 0) s = s.slice(lead);
  const out: StrippedLine = { body: s, kind: 'none' };
  const c0 = s.charCodeAt(0);

  if (c0 === 91 /* [ */) {
    // `[ seconds] ` read by hand (most lines of a dmesg); anything else by the regexes.
    const after = bootStampEnd(s);
    const boot = after < 0 ? BOOT_TS.exec(s) : null;
    if (after >= 0 || boot) {
      if (after >= 0) {
        out.seconds = bootSeconds;
        s = s.slice(after);
      } else if (boot) {
        out.seconds = Number(boot[1]);
        s = s.slice(boot[0].length);
      }
      // journalctl -o short-monotonic: "[ seconds] host kernel: text".
      const sp = s.indexOf(' ');
      if (sp > 0 && s.startsWith('kernel: ', sp + 1)) {
        out.host = s.slice(0, sp);
        out.kind = 'journal';
        s = s.slice(sp + 9);
      } else {
        out.kind = 'dmesg';
      }
    } else {
      const human = HUMAN_TS.exec(s);
      if (human) {
        out.time = human[1].trim();
        out.kind = 'dmesg';
        s = s.slice(human[0].length);
      }
    }
  } else if (c0 >= 65 && c0 <= 90 /* A-Z */) {
    const sys = CLASSIC_SYSLOG.exec(s);
    if (sys) {
      out.time = sys[1];
      out.host = sys[3];
      s = afterKernelTag(s.slice(sys[0].length), out);
      // journalctl pads the day with 0 ("Jan 04"), syslog daemons with a space ("Jan  4"); from
      // the 10th on, only syslog keeps the kernel's own "[ seconds]" stamp after "kernel:".
      const pad = sys[2].charCodeAt(0);
      out.kind = pad === 32 ? 'syslog' : pad === 48 ? 'journal' : out.seconds !== undefined ? 'syslog' : 'journal';
    }
  } else if (c0 >= 48 && c0 <= 57 /* 0-9 */) {
    const iso = ISO_SYSLOG.exec(s);
    if (iso) {
      out.time = iso[1];
      out.host = iso[3];
      // journalctl -o short-iso prints "+0100"; rsyslog's RFC 3339 stamps "+01:00".
      out.kind = iso[2] !== undefined && iso[2].includes(':') ? 'syslog' : 'journal';
      s = s.slice(iso[0].length);
      s = afterKernelTag(s, out);
    }
  } else if (c0 === 107 /* k */) {
    const fac = FACILITY.exec(s);
    if (fac) {
      out.kind = 'dmesg';
      s = afterKernelTag(s.slice(fac[0].length), out);
    } else if (KERNEL_TAG.test(s)) {
      out.kind = 'syslog';
      s = afterKernelTag(s, out);
    }
  } else if (c0 === 60 /* < */) {
    const lvl = KMSG_LEVEL.exec(s);
    if (lvl) {
      out.kind = 'dmesg';
      s = afterKernelTag(s.slice(lvl[0].length), out);
    }
  }
  out.body = s;
  return out;
}

/** The seconds bootStampEnd read. */
let bootSeconds = 0;

/**
 * Where the text after a `[ seconds] ` stamp begins (one space after "]"
 * taken, as BOOT_TS takes one), its value left in bootSeconds; -1 for any
 * other form, which BOOT_TS then reads (a tab after "]", odd digit counts).
 */
function bootStampEnd(s: string): number {
  let i = 1;
  while (s.charCodeAt(i) === 32) i++;
  const d0 = i;
  let n = 0;
  while (i - d0 < 11 && isDigit(s.charCodeAt(i))) n = n * 10 + (s.charCodeAt(i++) - 48);
  const intDigits = i - d0;
  if (intDigits < 1 || intDigits > 10 || s.charCodeAt(i) !== 46 /* . */) return -1;
  i++;
  const f0 = i;
  while (i - f0 < 10 && isDigit(s.charCodeAt(i))) n = n * 10 + (s.charCodeAt(i++) - 48);
  const fracDigits = i - f0;
  if (fracDigits < 1 || fracDigits > 9 || s.charCodeAt(i) !== 93 /* ] */) return -1;
  // Up to 15 digits the integer is exact and one division by a power of ten rounds as Number() does.
  bootSeconds = intDigits + fracDigits <= 15 ? n / POW10[fracDigits] : Number(s.slice(d0, i));
  i++;
  const next = s.charCodeAt(i);
  if (next === 32) return i + 1;
  // Another whitespace character after "]" is BOOT_TS's to take.
  return next === next && /\s/.test(s[i]) ? -1 : i;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** After a syslog prefix: a `kernel: ` tag (when the program was not split off) and a boot timestamp. */
function afterKernelTag(text: string, out: StrippedLine): string {
  let s = text;
  const tag = KERNEL_TAG.exec(s);
  if (tag) s = s.slice(tag[0].length);
  const boot = BOOT_TS.exec(s);
  if (boot) {
    out.seconds = Number(boot[1]);
    s = s.slice(boot[0].length);
  }
  return s;
}
