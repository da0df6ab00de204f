import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_SOURCE_BYTES, USAGE, checkSourceSize, decodeSource, parseCliArgs } from '../../src/cli-args';
import { loadScenarioFile, main, runResultToJson } from '../../src/cli';
import type { RunResult } from '../../src/lang/run-result';
import { parse } from '../../src/lang/parser';

describe('parseCliArgs', () => {
  it('parses run with and without --json', () => {
    assert.deepEqual(parseCliArgs(['run', 'a.dmas']), { kind: 'run', file: 'a.dmas', json: false, verbose: false });
    assert.deepEqual(parseCliArgs(['run', 'a.dmas', '--json']), { kind: 'run', file: 'a.dmas', json: true, verbose: false });
    assert.deepEqual(parseCliArgs(['run', '--json', 'a.dmas']), { kind: 'run', file: 'a.dmas', json: true, verbose: false });
    assert.deepEqual(parseCliArgs(['run', 'a.dmas', '--verbose']), { kind: 'run', file: 'a.dmas', json: false, verbose: true });
  });

  it('parses check with several files', () => {
    assert.deepEqual(parseCliArgs(['check', 'a.dmas', 'b.dmas']), { kind: 'check', files: ['a.dmas', 'b.dmas'] });
  });

  it('--help points to documentation that ships with the repository, not to files it lacks', () => {
    const docs = [...USAGE.matchAll(/\bdocs\/[\w./-]+\.md\b/g)].map((m) => m[0]);
    assert.ok(docs.includes('docs/language.md') && docs.includes('docs/run-output.md'), JSON.stringify(docs));
    for (const d of docs) assert.ok(fs.existsSync(path.join(__dirname, '..', '..', d)), d);
    assert.doesNotMatch(USAGE, /LANGUAGE\.md|section 7/);
  });

  it('knows --help and --version anywhere before --', () => {
    assert.deepEqual(parseCliArgs(['--help']), { kind: 'help' });
    assert.deepEqual(parseCliArgs(['-h']), { kind: 'help' });
    assert.deepEqual(parseCliArgs(['help']), { kind: 'help' });
    assert.deepEqual(parseCliArgs(['run', 'x', '--help']), { kind: 'help' });
    assert.deepEqual(parseCliArgs(['--version']), { kind: 'version' });
    assert.deepEqual(parseCliArgs(['-V']), { kind: 'version' });
    assert.deepEqual(parseCliArgs(['run', '--', '--help']), { kind: 'run', file: '--help', json: false, verbose: false });
  });

  it('treats everything after -- as files', () => {
    assert.deepEqual(parseCliArgs(['check', '--', '-odd.dmas', '--json']), { kind: 'check', files: ['-odd.dmas', '--json'] });
  });

  const wrong: [string[], RegExp][] = [
    [[], /missing command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--frob'], /unknown option '--frob'/],
    [['run'], /'run' needs a FILE/],
    [['run', '--json'], /'run' needs a FILE/],
    [['run', 'a', 'b'], /'run' takes one FILE, got 2/],
    [['run', 'a', '--jsn'], /unknown option '--jsn' for 'run'/],
    [['check'], /'check' needs at least one FILE/],
    [['check', 'a', '--json'], /unknown option '--json' for 'check'/],
    [['run', ''], /empty file name/],
  ];
  for (const [argv, message] of wrong) {
    it(`rejects ${JSON.stringify(argv)}`, () => {
      const cmd = parseCliArgs(argv);
      assert.equal(cmd.kind, 'usage-error');
      if (cmd.kind === 'usage-error') assert.match(cmd.message, message);
    });
  }
});

describe('source screening', () => {
  it('accepts up to the one scenario limit, 2 MiB, and says so when refusing more', () => {
    assert.equal(MAX_SOURCE_BYTES, 2 * 1024 * 1024);
    assert.equal(checkSourceSize(MAX_SOURCE_BYTES), undefined);
    assert.equal(checkSourceSize(MAX_SOURCE_BYTES + 1), 'file is too large: 2.0 MiB (2097153 bytes); a scenario may be at most 2 MiB (2097152 bytes)');
  });

  it('the parser refuses with the same limit and words', () => {
    const d = parse('#'.repeat(MAX_SOURCE_BYTES + 10)).diagnostics;
    assert.deepEqual(d.map((x) => [x.code, x.message]), [['too-large', 'scenario is too large: 2.0 MiB (2097162 bytes); a scenario may be at most 2 MiB (2097152 bytes); it is not parsed']]);
    assert.deepEqual(parse('#'.repeat(MAX_SOURCE_BYTES)).diagnostics, []);
  });

  it('rejects binary input with the NUL count and offset', () => {
    const d = decodeSource(new Uint8Array([0x61, 0x62, 0, 0, 0x63]));
    assert.equal(d.ok, false);
    if (!d.ok) assert.match(d.message, /binary file: 2 NUL bytes \(first at byte offset 2\)/);
  });

  it('decodes UTF-8 and strips a byte-order mark', () => {
    const d = decodeSource(new TextEncoder().encode('\ufeffbuf = alloc_pages(0) # µ'));
    assert.deepEqual(d, { ok: true, source: 'buf = alloc_pages(0) # µ' });
  });
});

describe('cli main', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmascope-cli-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function capture(argv: string[]): { code: number; out: string; err: string } {
    let out = '';
    let err = '';
    const code = main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
    return { code, out, err };
  }

  it('prints help and version with exit 0', () => {
    const h = capture(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /Usage:/);
    const v = capture(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.out, /^dmascope \d+\.\d+\.\d+/);
  });

  it('exits 2 with usage on a wrong call', () => {
    const r = capture(['bogus']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command 'bogus'/);
    assert.match(r.err, /Usage:/);
  });

  it('exits 2 for a missing file and for a directory', () => {
    const missing = capture(['run', path.join(dir, 'nope.dmas')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no such file/);
    const directory = capture(['run', dir]);
    assert.equal(directory.code, 2);
    assert.match(directory.err, /is a directory/);
    const check = capture(['check', dir]);
    assert.equal(check.code, 2);
    assert.match(check.out, /is a directory, not a scenario file \[file-is-directory\]/);
  });

  it('prints one JSON object even when the file is missing', () => {
    const r = capture(['run', path.join(dir, 'nope.dmas'), '--json']);
    assert.equal(r.code, 2);
    const obj = JSON.parse(r.out) as RunResult;
    assert.equal(obj.ok, false);
    assert.equal(obj.diagnostics[0].code, 'file-not-found');
  });

  it('reports binary input as an error diagnostic, exit 2', () => {
    const f = path.join(dir, 'bin.dmas');
    fs.writeFileSync(f, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0]));
    assert.deepEqual(loadScenarioFile(f), {
      ok: false,
      kind: 'input',
      code: 'file-binary',
      message: 'binary file: 4 NUL bytes (first at byte offset 4); a scenario must be UTF-8 text',
    });
    const r = capture(['run', f]);
    assert.equal(r.code, 2);
    assert.match(r.out, /bin\.dmas:1: error: binary file/);
    assert.match(r.out, /^ERROR /m);
  });

  it('refuses a file over 2 MiB without reading it', () => {
    const f = path.join(dir, 'big.dmas');
    fs.writeFileSync(f, '');
    fs.truncateSync(f, MAX_SOURCE_BYTES + 1); // sparse: nothing written
    const r = capture(['check', f]);
    assert.equal(r.code, 2);
    assert.match(r.out, /too large/);
  });

  it('stops reading an endless device at the limit', function () {
    if (!fs.existsSync('/dev/zero')) this.skip();
    const loaded = loadScenarioFile('/dev/zero');
    assert.equal(loaded.ok, false);
    if (!loaded.ok) assert.equal(loaded.code, 'file-too-large');
  });

  it('reads a text file', () => {
    const f = path.join(dir, 'ok.dmas');
    fs.writeFileSync(f, 'platform { page_size = 4K }\n');
    assert.deepEqual(loadScenarioFile(f), { ok: true, source: 'platform { page_size = 4K }\n' });
  });
});

describe('runResultToJson', () => {
  it('puts the section 7 keys first and keeps the extra keys', () => {
    const r: RunResult = {
      statements: [],
      log: [],
      events: [],
      values: { h: '0x1000' },
      faults: [],
      checks: [],
      expectations: [],
      diagnostics: [],
      ok: true,
    };
    const keys = Object.keys(JSON.parse(runResultToJson(r)) as object);
    assert.deepEqual(keys, ['ok', 'diagnostics', 'expectations', 'checks', 'faults', 'values', 'events', 'statements', 'log']);
  });
});
