// Writes media/icon.png (128x128), the extension's icon: an IOVA space as a
// bar with mapped ranges, and the arrow of a translation down to memory.
// Run once when the design changes: `node scripts/gen-icon.mjs`.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const SIZE = 128;
const px = new Uint8Array(SIZE * SIZE * 4);

function rect(x0, y0, x1, y1, [r, g, b, a = 255]) {
  for (let y = Math.max(0, y0); y < Math.min(SIZE, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(SIZE, x1); x++) {
      const i = (y * SIZE + x) * 4;
      px.set([r, g, b, a], i);
    }
  }
}

/** A rounded square background. */
function background(color, radius) {
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const dx = Math.max(radius - x, x - (SIZE - 1 - radius), 0);
      const dy = Math.max(radius - y, y - (SIZE - 1 - radius), 0);
      if (dx * dx + dy * dy <= radius * radius) px.set([...color, 255], (y * SIZE + x) * 4);
    }
  }
}

background([24, 38, 64], 20);
// The IOVA space (top) with three mapped ranges, the physical memory (bottom) with the same ranges elsewhere.
rect(14, 22, 114, 40, [52, 72, 110]);
rect(20, 24, 40, 38, [94, 200, 120]);
rect(56, 24, 66, 38, [240, 170, 60]);
rect(84, 24, 108, 38, [94, 200, 120]);
rect(14, 88, 114, 106, [52, 72, 110]);
rect(70, 90, 90, 104, [94, 200, 120]);
rect(24, 90, 34, 104, [240, 170, 60]);
// Translation arrows: a thick line with a head, from each range down to its frame.
function arrow(xTop, xBottom, color) {
  for (let t = 0; t <= 1; t += 0.005) {
    const x = Math.round(xTop + (xBottom - xTop) * t);
    const y = Math.round(42 + (84 - 42) * t);
    rect(x - 2, y - 2, x + 2, y + 2, color);
  }
  for (let k = 0; k < 7; k++) rect(xBottom - 7 + k, 80 + k, xBottom + 8 - k, 81 + k, color);
}
arrow(30, 80, [94, 200, 120]);
arrow(61, 29, [240, 170, 60]);

// PNG: signature, IHDR, IDAT (filter byte 0 per row), IEND.
function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(SIZE, 0);
ihdr.writeUInt32BE(SIZE, 4);
ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) Buffer.from(px.buffer, y * SIZE * 4, SIZE * 4).copy(raw, y * (SIZE * 4 + 1) + 1);
const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'media', 'icon.png');
writeFileSync(out, png);
console.log(`gen-icon: wrote ${path.relative(process.cwd(), out)} (${png.length} bytes)`);
