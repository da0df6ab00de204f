// What Variables shows and accepts: memory references (CPU view, a device's
// view, with a PASID) and the bytes typed into Set Value on a buffer.

import { strict as assert } from 'node:assert';
import { bytesText, parseBytesValue } from '../../src/debug/machine-variables';
import { MEMORY_KEY, VariableStore, memoryReferenceOf, parseMemoryReference } from '../../src/debug/variables';

describe('debugger variables', () => {
  it('reads memory references back, a device with a PASID included, and refuses anything else', () => {
    assert.deepEqual(parseMemoryReference('phys:0x81000000:0x1000'), { space: 'phys', addr: 0x81000000n, size: 0x1000n });
    assert.deepEqual(parseMemoryReference('dev:0000:02:00.0:0xfffff000:0x1000'), { space: 'dev', device: '0000:02:00.0', pasid: null, addr: 0xfffff000n, size: 0x1000n });
    assert.deepEqual(parseMemoryReference('dev:gpu@3:0x1000:0x2000'), { space: 'dev', device: 'gpu', pasid: 3, addr: 0x1000n, size: 0x2000n });
    for (const bad of ['phys:0x1', 'dev:gpu@x:0x1:0x1', '../etc/passwd', 'phys:0x1:0x1 ', 'dev::0x1:0x1']) assert.equal(parseMemoryReference(bad), undefined, bad);
  });

  it('gives an IOVA range its own memory reference and does not list it as a child', () => {
    const store = new VariableStore();
    const range = { iova: '0x1000', phys: '0x81000000', size: '0x1000', [MEMORY_KEY]: 'dev:gpu:0x1000:0x1000' };
    assert.equal(memoryReferenceOf(range), 'dev:gpu:0x1000:0x1000', 'the device view, not the CPU view of phys');
    assert.equal(memoryReferenceOf({ phys: '0x81000000', size: '0x1000' }), 'phys:0x81000000:0x1000');
    const v = store.variable('r', range);
    assert.equal(v.memoryReference, 'dev:gpu:0x1000:0x1000');
    assert.deepEqual(store.children(v.variablesReference).map((c) => c.name), ['iova', 'phys', 'size']);
  });

  it('answers a reference of an earlier stop with nothing, not with the children the new stop numbered the same', () => {
    const store = new VariableStore();
    const first = store.add({ mappings: ['0xfe980000+0x80000 (dma_alloc, line 6)'] });
    const mappings = store.children(first)[0];
    assert.deepEqual(store.children(mappings.variablesReference).map((c) => c.value), ['0xfe980000+0x80000 (dma_alloc, line 6)']);
    store.clear();
    const second = store.add({ unmapped: ['0xfe980000+0x80000 mapped line 6, unmapped line 8'], peak: { live: 1 } });
    const unmapped = store.children(second)[0];
    assert.notEqual(second, first, 'a new stop gives new references');
    assert.deepEqual(store.children(first), [], 'the old scope is gone');
    assert.deepEqual(store.children(mappings.variablesReference), [], 'a late request for the old mappings gets nothing');
    assert.equal(store.value(mappings.variablesReference), undefined);
    assert.equal(store.child(first, 'mappings'), undefined);
    assert.deepEqual(store.children(unmapped.variablesReference).map((c) => c.value), ['0xfe980000+0x80000 mapped line 6, unmapped line 8']);
    assert.deepEqual(store.children(0), []);
    assert.deepEqual(store.children(-1), []);
    assert.deepEqual(store.children(1.5), []);
  });

  it('parses the bytes typed into Set Value: a quoted string with escapes, or hex bytes', () => {
    assert.equal(bytesText(parseBytesValue('"pong"') as Uint8Array), '70 6f 6e 67');
    assert.equal(bytesText(parseBytesValue('"a\\0\\n\\x7f\\"\\\\"') as Uint8Array), '61 00 0a 7f 22 5c');
    assert.equal(bytesText(parseBytesValue('0x41, 42 ff 0') as Uint8Array), '41 42 ff 00');
    assert.equal(parseBytesValue('pong'), 'give a quoted string ("pong") or hex bytes (70 6f 6e 67)');
    assert.equal(parseBytesValue('""'), 'give at least one byte');
    assert.equal(parseBytesValue('"\\q"'), 'unknown escape \\q');
    assert.equal(parseBytesValue('"é"'), '"é" is not ASCII: give its bytes in hex');
    assert.equal(parseBytesValue('100'), 'give a quoted string ("pong") or hex bytes (70 6f 6e 67)');
    assert.equal(parseBytesValue(`"${'x'.repeat(5000)}"`), 'at most 4096 bytes at once');
  });
});
