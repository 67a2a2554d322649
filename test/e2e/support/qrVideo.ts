import { writeFile } from 'node:fs/promises';
import QRCode from 'qrcode';

const MODULE_PX = 6;
const QUIET_MODULES = 4;
const FRAMES = 10;

/**
 * Writes a Y4M video (what Chromium's fake camera plays) showing `text` as a QR code: black
 * modules on white, in 4:2:0 with neutral chroma.
 */
export async function writeQrVideo(path: string, text: string): Promise<void> {
  const modules = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules;
  const edge = (modules.size + 2 * QUIET_MODULES) * MODULE_PX;
  const luma = Buffer.alloc(edge * edge, 255);
  for (let y = 0; y < edge; y++) {
    for (let x = 0; x < edge; x++) {
      const row = Math.floor(y / MODULE_PX) - QUIET_MODULES;
      const col = Math.floor(x / MODULE_PX) - QUIET_MODULES;
      const inside = row >= 0 && col >= 0 && row < modules.size && col < modules.size;
      if (inside && modules.get(row, col)) luma[y * edge + x] = 0;
    }
  }
  const chroma = Buffer.alloc((edge / 2) * (edge / 2) * 2, 128);
  const header = Buffer.from(`YUV4MPEG2 W${edge} H${edge} F10:1 Ip A1:1 C420jpeg\n`);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma]);
  await writeFile(path, Buffer.concat([header, ...Array.from({ length: FRAMES }, () => frame)]));
}
