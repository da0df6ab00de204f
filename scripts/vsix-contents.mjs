// What a VSIX (a zip) holds, read from its central directory, and the rules
// the packaged extension must meet: the user README, the docs it links, the
// changelog, the license and the icon inside; no source maps; under 1 MB.
import { readFileSync } from 'node:fs';

/** Names and sizes of the entries of a zip file (central directory only; no extraction). */
export function zipEntries(file) {
  const buf = readFileSync(file);
  // End of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip file (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${n}`);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    entries.push({ name: buf.toString('utf8', p + 46, p + 46 + nameLen), size });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

export const VSIX_SIZE_LIMIT = 1024 * 1024;

/** Entries the VSIX must hold (paths inside it). */
export const REQUIRED = [
  'extension/package.json', 'extension/README.md', 'extension/CHANGELOG.md', 'extension/LICENSE.txt', 'extension/media/icon.png',
  'extension/dist/core.js', 'extension/dist/extension.js', 'extension/dist/run-worker.js', 'extension/dist/cli.js',
  'extension/docs/language.md', 'extension/docs/run-output.md', 'extension/docs/debugging.md', 'extension/docs/panels.md',
  'extension/dist/webview/iova-map.js', 'extension/dist/webview/walk.js', 'extension/dist/webview/bounce.js', 'extension/dist/webview/toolkit.js',
];

/** Problems with a packaged VSIX; empty when it is right. */
export function vsixProblems(file, fileSize, userReadme) {
  const entries = zipEntries(file);
  // vsce writes readme.md and changelog.md in lower case: compare names without case.
  const names = new Set(entries.map((e) => e.name.toLowerCase()));
  const problems = [];
  if (fileSize >= VSIX_SIZE_LIMIT) problems.push(`the VSIX is ${fileSize} bytes; it must stay under ${VSIX_SIZE_LIMIT} (1 MB)`);
  for (const r of REQUIRED) {
    // vsce names the license LICENSE.txt when the file has no extension; accept either.
    const want = r.toLowerCase();
    if (!names.has(want) && !(want.endsWith('license.txt') && names.has('extension/license'))) problems.push(`missing ${r}`);
  }
  for (const e of entries) if (e.name.endsWith('.map')) problems.push(`ships a source map: ${e.name}`);
  const readme = entries.find((e) => e.name.toLowerCase() === 'extension/readme.md');
  if (readme && readme.size !== Buffer.byteLength(userReadme)) problems.push(`extension/README.md (${readme.size} bytes) is not the user README (${Buffer.byteLength(userReadme)} bytes)`);
  return problems;
}
