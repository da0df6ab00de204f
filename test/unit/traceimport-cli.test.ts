// `dmascope import`: argument parsing, the --json contract, exit codes,
// --format and --to-scenario, through runCli as the installed command runs.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCliArgs } from '../../src/cli-args';
import { main, runCli } from '../../src/cli';
import { runScenario } from '../../src/lang/run';
import { REAL_DIR, SYNTHETIC_DIR } from './traceimport-helpers';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe('dmascope import', () => {
  it('parses its options', () => {
    assert.deepEqual(parseCliArgs(['import', 'x.log']), { kind: 'import', file: 'x.log', json: false, format: 'auto' });
    assert.deepEqual(parseCliArgs(['import', '--json', '--format', 'dmesg', 'x.log', '--to-scenario=0000:01:00.0']), {
      kind: 'import',
      file: 'x.log',
      json: true,
      format: 'dmesg',
      toScenario: '0000:01:00.0',
    });
    assert.deepEqual(parseCliArgs(['import', '--format=pcap', 'x']), { kind: 'usage-error', message: "unknown format 'pcap' (one of auto, ftrace, trace-cmd, dmesg)" });
    assert.deepEqual(parseCliArgs(['import', 'x', '--to-scenario']), { kind: 'usage-error', message: "'--to-scenario' needs a value" });
    assert.deepEqual(parseCliArgs(['import']), { kind: 'usage-error', message: "'import' needs a FILE" });
    assert.deepEqual(parseCliArgs(['import', 'a', 'b']), { kind: 'usage-error', message: "'import' takes one FILE, got 2" });
    assert.deepEqual(parseCliArgs(['import', '--verbose', 'a']), { kind: 'usage-error', message: "unknown option '--verbose' for 'import'" });
  });

  it('--json prints the contract object: format, lines, events, findings, unknown, malformed (exit 1: a fault)', async () => {
    const r = await cli(['import', path.join(REAL_DIR, '28-ftrace-iommu-dma-events-ath12k-6.12.log'), '--json']);
    assert.equal(r.code, 1);
    assert.equal(r.err, '');
    const j = JSON.parse(r.out) as Record<string, unknown>;
    assert.deepEqual(Object.keys(j).slice(0, 6), ['format', 'lines', 'events', 'findings', 'unknown', 'malformed']);
    assert.equal(j.format, 'ftrace');
    assert.equal(j.lines, 13);
    assert.equal((j.events as unknown[]).length, 5);
    const findings = j.findings as Record<string, unknown>[];
    assert.deepEqual(findings.map((f) => [f.line, f.kind, f.device, f.addr, f.access]), [
      [12, 'io_page_fault', '0000:c2:00.0', '0xfe980000', 'write'],
      [12, 'fault_after_unmap', '0000:c2:00.0', '0xfe980000', 'write'],
    ]);
    assert.deepEqual(j.unknown, { count: 0, samples: [] });
    assert.deepEqual(j.malformed, []);
  });

  it('prints FILE:LINE findings and a summary; exit 0 without error findings', async () => {
    const file = path.join(REAL_DIR, '31-ftrace-iommu-map-unmap-legacy-format.log');
    const r = await cli(['import', file]);
    assert.equal(r.code, 0);
    assert.equal(r.out, `ftrace capture ${file}: 7 lines, 4 events, 0 findings (0 errors), 0 unknown lines, 0 malformed\n`);
    const f = path.join(REAL_DIR, '09-amdvi-io-page-fault-nvme-ratelimited.log');
    const faults = await cli(['import', f]);
    assert.equal(faults.code, 1);
    assert.match(faults.out, new RegExp(`^${f.replace(/[.\\]/g, '\\$&')}:12: error: io_page_fault 0000:01:00.0 read 0xfc189000: IO_PAGE_FAULT: page not present \\[amd-vi\\]$`, 'm'));
    assert.match(faults.out, /7 findings \(6 errors\), 96 messages suppressed by the kernel, 7 unknown lines, 0 malformed\n$/);
  });

  it('exit 2 for a missing file, a directory, binary or truncated input (the JSON still holds what was read)', async () => {
    const missing = await cli(['import', path.join(os.tmpdir(), 'dmascope-no-such-capture.log')]);
    assert.deepEqual([missing.code, missing.out], [2, '']);
    assert.match(missing.err, /no such file/);
    const dir = await cli(['import', REAL_DIR]);
    assert.equal(dir.code, 2);
    assert.match(dir.err, /is a directory/);
    const trunc = await cli(['import', '--json', path.join(SYNTHETIC_DIR, 'truncated-amd.log')]);
    assert.equal(trunc.code, 2);
    const j = JSON.parse(trunc.out) as { error: { code: string }; findings: unknown[] };
    assert.equal(j.error.code, 'truncated');
    assert.equal(j.findings.length, 1);
    assert.match(trunc.err, /truncated-amd\.log:2: truncated/);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dmascope-import-'));
    try {
      const bin = path.join(tmp, 'trace.dat');
      fs.writeFileSync(bin, Buffer.from([0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67]));
      const b = await cli(['import', bin]);
      assert.equal(b.code, 2);
      assert.match(b.out, /error: a trace-cmd trace\.dat file/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('--format forces a reader', async () => {
    const r = await cli(['import', '--json', '--format', 'ftrace', path.join(REAL_DIR, '03-vtd-dmar-fault-no-pasid-5.15.log')]);
    const j = JSON.parse(r.out) as { format: string; findings: unknown[]; unknown: { count: number } };
    assert.deepEqual([r.code, j.format, j.findings.length, j.unknown.count], [0, 'ftrace', 0, 5]);
  });

  it('--to-scenario prints a scenario that runs; an unknown device is exit 2 with the devices named', async () => {
    const file = path.join(REAL_DIR, '28-ftrace-iommu-dma-events-ath12k-6.12.log');
    const r = await cli(['import', file, '--to-scenario', 'c2:00.0']);
    assert.equal(r.code, 0);
    assert.equal(runScenario(r.out, 'x.dmas').ok, true);
    const bad = await cli(['import', file, '--to-scenario', '0000:01:00.0']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /devices: 0000:c2:00\.0 \(2 events, 1 faults\)/);
  });

  it('other commands still run through runCli; main() points import to runCli', async () => {
    const v = await cli(['--version']);
    assert.equal(v.code, 0);
    let err = '';
    assert.equal(main(['import', 'x'], { stdout: () => undefined, stderr: (t) => (err += t) }), 3);
    assert.match(err, /runCli/);
  });
});
