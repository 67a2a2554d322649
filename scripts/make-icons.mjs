#!/usr/bin/env node
// Renders the SVG sources in build/ to the PNGs electron-builder and the tray use, with the system
// Chromium (no ImageMagick needed). Run after editing an SVG: `node scripts/make-icons.mjs`.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright';
import { projectRoot } from './electronBundles.mjs';

const build = path.join(projectRoot, 'build');
const appSizes = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
/** [svg source, output file, size, css filter]; macOS template images (tray.svg) are black with alpha. */
const renders = [
  ...appSizes.map((size) => ['icon.svg', `icons/${size}x${size}.png`, size, 'none']),
  ['icon.svg', 'icon.png', 1024, 'none'],
  ['icon.svg', 'icons/tray.png', 32, 'none'],
  ['tray.svg', 'icons/trayTemplate.png', 16, 'none'],
  ['tray.svg', 'icons/trayTemplate@2x.png', 32, 'none'],
  ['overlay.svg', 'icons/overlay.png', 16, 'none'],
];

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
});
try {
  const page = await browser.newPage();
  for (const [source, output, size, filter] of renders) {
    const svg = await readFile(path.join(build, source), 'utf8');
    const dataUrl = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(
      `<html><body style="margin:0;background:transparent"><img src="${dataUrl}" width="${size}" height="${size}" style="display:block;filter:${filter}"></body></html>`,
    );
    await page.locator('img').evaluate((img) => img.decode());
    await writeFile(path.join(build, output), await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } }));
    console.log(`${output} (${size}px)`);
  }
} finally {
  await browser.close();
}
