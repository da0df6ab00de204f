// Reads an oracle file line by line as a stream: `.jsonl.gz` files (how the
// repository keeps the big ones) are decompressed on the fly, plain `.jsonl`
// read as they are. Blank lines are skipped. A missing file is an error.
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

/** All non-blank lines of `file`. */
export async function readLines(file) {
  if (!existsSync(file)) throw new Error(`oracle file ${file} does not exist`);
  const raw = createReadStream(file);
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const lines = [];
  for await (const line of createInterface({ input, crlfDelay: Infinity })) if (line.trim() !== '') lines.push(line);
  return lines;
}
