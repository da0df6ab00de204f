// The columnar event store: any sequence of tracepoint events put in (by
// the importer's in-place parse or from a parser's typed values) comes back
// as exactly the objects the import made before it kept columns: the same
// keys in the same order, the same values, across chunk boundaries.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { SYMBOLS } from '../../src/traceimport/event-formats';
import { COMPILED_FORMATS, FORMATS_BY_EVENT, ROLE_ADDR, ROLE_DEVICE, ROLE_SIZE, parsePayload, storePayloadAt, type CompiledFormat, type ParsedPayload } from '../../src/traceimport/event-parser';
import { CaptureEventStore } from '../../src/traceimport/event-store';
import type { CaptureEvent } from '../../src/traceimport/types';
import { Interner } from '../../src/traceimport/values';

interface Header {
  line: number;
  ts?: number;
  cpu?: number;
  comm?: string;
  pid?: number;
  flags?: string;
  endLine?: number;
}

/** The event object as the importer built it before the store (its emitEvent, unchanged). */
function objectOf(parsed: ParsedPayload & { ok: true }, h: Header): CaptureEvent {
  const spec = parsed.format.spec;
  const ev = new parsed.format.eventClass(h.line, spec.event, spec.system, h.ts, h.cpu, h.comm, h.pid, h.flags, spec.since, h.endLine);
  parsed.format.fields.forEach((name, i) => {
    const v = parsed.values[i];
    switch (parsed.format.roles[i]) {
      case ROLE_DEVICE:
        ev.device = v as string;
        break;
      case ROLE_SIZE:
        ev.size = v as number;
        break;
      case ROLE_ADDR:
        ev.addr = v as string;
        break;
      default:
        ev[name] = v;
    }
  });
  if (spec.event === 'io_page_fault' && typeof ev.flags === 'string') ev.access = parseInt(ev.flags, 16) & 1 ? 'write' : 'read';
  return ev;
}

const hex64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const smallHex = fc.oneof(fc.bigInt({ min: 0n, max: 0xffffn }), fc.bigInt({ min: 0xffff_0000n, max: 0x1_0000_ffffn }), hex64);

/** A conversion's text for a field of the given kind (as the kernel would print it). */
function fieldText(f: CompiledFormat, k: number): fc.Arbitrary<string> {
  const name = f.fields[k];
  switch (f.kinds[k]) {
    case 'dev':
      return fc.constantFrom('0000:00:02.0', '02:00.0', '0001:c2:00.3', '38200000.dwc3', 'arm-smmu-v3.2.auto', 'xx:xx.x');
    case 'sym':
      return fc.constantFrom(...(f.spec.symbols?.[name] ?? SYMBOLS[name] ?? ['X']), 'UP');
    case 'flags':
      return fc.constantFrom('', 'SKIP_CPU_SYNC', 'WEAK_ORDERING|MMIO', 'GFP_KERNEL');
    case 'str':
      return fc.constantFrom('AMD-Vi', 'intel-iommu', 'x');
    case 'ptr':
      return fc.constantFrom('00000000a1b2c3d4', 'ffff88810a2b3000', '(____ptrval____)');
    case 'opt':
      return fc.constantFrom('', ' [TRUNCATED]');
    case 'array':
      return fc.array(name === 'sizes' ? fc.nat({ max: 1 << 20 }).map((n) => `0x${n.toString(16)}`) : smallHex.map((v) => `0x${v.toString(16)}`), { maxLength: 4 }).map((a) => `{${a.join(',')}}`);
    case 'hex':
      // Zero-padded as %016llx prints, and past 16 digits (leading zeros a 64-bit value may still have).
      return fc.tuple(smallHex, fc.constantFrom(0, 16, 23), fc.boolean()).map(([v, pad, upper]) => {
        const t = v.toString(16).padStart(pad, '0');
        return upper ? t.toUpperCase() : t;
      });
    case 'dec':
      return fc.oneof(fc.nat({ max: 1 << 20 }), fc.maxSafeNat()).map(String);
    case 'int':
      return fc.integer({ min: -100_000, max: 100_000 }).map(String);
  }
}

/** A payload of format f: its literal text with each conversion filled. */
function payloadOf(f: CompiledFormat): fc.Arbitrary<string> {
  return fc.tuple(...f.fields.map((_, k) => fieldText(f, k))).map((texts) => {
    let i = 0;
    return f.spec.format.replace(/%(#?)(0?\d*)(ll|l|z|h)?([sdupxX])/g, (_m, alt: string) => {
      const t = texts[i++];
      return alt === '#' ? `0x${t}` : t;
    });
  });
}

const header: fc.Arbitrary<Omit<Header, 'line'>> = fc.record(
  {
    ts: fc.nat({ max: 100_000_000 }).map((n) => n / 1e6),
    // Past 2^31 - 2 a cpu or pid is kept aside, not in its slot.
    cpu: fc.oneof(fc.nat({ max: 255 }), fc.constantFrom(2 ** 31 - 2, 2 ** 31 - 1, 2 ** 40)),
    comm: fc.constantFrom('kworker/2:1H', '(udev-worker)', 'irq/26-AMD-Vi'),
    pid: fc.oneof(fc.nat({ max: 4_000_000 }), fc.constantFrom(2 ** 31, 2 ** 53 - 1)),
    flags: fc.constantFrom('d..1.', '.....'),
    endLine: fc.nat({ max: 1000 }),
  },
  { requiredKeys: [] },
);

const anEvent = fc.tuple(fc.constantFrom(...COMPILED_FORMATS), header).chain(([f, h]) => payloadOf(f).map((payload) => ({ f, h, payload })));

/** Events to fill a store with first, so a sequence crosses a column chunk (8,192 events) and a slot chunk. */
function prefilled(n: number): CaptureEventStore {
  const store = new CaptureEventStore();
  const f = FORMATS_BY_EVENT.get('dma_map_phys')?.[0] as CompiledFormat;
  for (let i = 0; i < n; i++) {
    const text = `0000:01:00.0 dir=TO_DEVICE dma_addr=${(0x1000 * i).toString(16)} size=${i} phys_addr=${(0x2000 * i).toString(16)} attrs=`;
    assert.ok(storePayloadAt([f], text, 0, store, i + 1, i, 1, 0, undefined, 0));
  }
  return store;
}

describe('traceimport: columnar event store', () => {
  it('gives back exactly the objects the import made, for any sequence of events (in place and from values)', () => {
    fc.assert(
      fc.property(fc.array(anEvent, { maxLength: 40 }), fc.constantFrom(0, 8180), (events, prefill) => {
        const intern = new Interner();
        const inPlace = prefilled(prefill);
        const fromValues = prefilled(prefill);
        const want: CaptureEvent[] = [];
        events.forEach(({ f, h, payload }, n) => {
          const line = prefill + n + 1;
          const parsed = parsePayload(f.spec.event, payload, intern);
          const formats = FORMATS_BY_EVENT.get(f.spec.event) ?? [];
          const comm = h.comm === undefined ? 0 : inPlace.stringId(h.comm);
          const flags = h.flags === undefined ? 0 : inPlace.stringId(h.flags);
          const stored = h.endLine === undefined && storePayloadAt(formats, payload, 0, inPlace, line, h.ts, h.cpu, comm, h.pid, flags);
          if (!parsed.ok) {
            assert.equal(stored, false, `the in-place parse refuses what parsePayload refuses: ${payload}`);
            return;
          }
          const full = { ...h, line };
          if (h.endLine === undefined) assert.ok(stored, `the in-place parse takes what parsePayload takes: ${payload}`);
          else inPlace.addValues(parsed.format, parsed.values, line, h.ts, h.cpu, h.comm, h.pid, h.flags, h.endLine);
          fromValues.addValues(parsed.format, parsed.values, line, h.ts, h.cpu, h.comm, h.pid, h.flags, h.endLine);
          want.push(objectOf(parsed, full));
        });
        for (const store of [inPlace, fromValues]) {
          assert.equal(store.length, prefill + want.length);
          const got = store.slice(prefill, store.length);
          assert.deepStrictEqual(got, want);
          // Same keys in the same order: the --json text is the same.
          assert.equal(JSON.stringify(got), JSON.stringify(want));
          want.forEach((ev, i) => {
            const at = prefill + i;
            assert.deepEqual([store.lineAt(at), store.kindAt(at), store.systemAt(at), store.deviceAt(at), store.addrAt(at), store.sizeAt(at), store.endLineAt(at)], [ev.line, ev.kind, ev.system, ev.device, ev.addr, ev.size, ev.endLine]);
            for (const name of Object.keys(ev)) if (!['line', 'kind', 'system', 'device', 'addr', 'size', 'ts', 'cpu', 'comm', 'pid', 'irq_flags', 'since', 'endLine', 'access'].includes(name)) assert.deepEqual(store.fieldAt(at, name), ev[name], name);
          });
        }
      }),
      { numRuns: 60 },
    );
  });

  it('hands out a copy of a list field, and refuses an index outside the store', () => {
    const store = new CaptureEventStore();
    const parsed = parsePayload('dma_unmap_sg', '0000:00:02.0 dir=TO_DEVICE phys_addrs={0x1000,0x2000} attrs=', new Interner());
    assert.ok(parsed.ok);
    if (!parsed.ok) return;
    store.addValues(parsed.format, parsed.values, 7, undefined, undefined, undefined, undefined, undefined, undefined);
    const first = store.at(0);
    (first.phys_addrs as string[]).push('0x3000');
    assert.deepEqual(store.at(0).phys_addrs, ['0x1000', '0x2000']);
    assert.throws(() => store.at(1), RangeError);
    assert.deepEqual([...store].map((e) => [e.line, e.kind, e.device]), [[7, 'dma_unmap_sg', '0000:00:02.0']]);
  });
});
