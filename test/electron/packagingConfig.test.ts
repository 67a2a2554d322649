import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ID, PRODUCT_NAME } from '../../electron/main/appIdentity.js';

// electron-builder cannot run here (it downloads Electron), so the parts of its configuration that the
// code depends on are checked directly.
const config = await readFile('electron-builder.yml', 'utf8');
const scalar = (key: string) => new RegExp(`^${key}:\\s*(.+)$`, 'm').exec(config)?.[1]?.trim();

/** Width and height from a PNG's IHDR chunk. */
async function pngSize(file: string): Promise<[number, number]> {
  const bytes = await readFile(file);
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

describe('packaging configuration', () => {
  it('uses the app id and product name main registers with the OS', () => {
    expect(scalar('appId')).toBe(APP_ID);
    expect(scalar('productName')).toBe(PRODUCT_NAME);
  });
  it('targets AppImage and deb, nsis, and dmg, with asar and the native addon unpacked', () => {
    expect(config).toMatch(/linux:\n(?:\s+.*\n)*?\s+target: \[AppImage, deb\]/);
    expect(config).toMatch(/win:\n\s+target: \[nsis\]/);
    expect(config).toMatch(/mac:\n\s+target: \[dmg\]/);
    expect(scalar('asar')).toBe('true');
    expect(config).toContain('"**/*.node"');
    expect(scalar('npmRebuild')).toBe('true');
  });
  it('lets the hardened macOS runtime use the camera (QR scanning) and registers no URL scheme', async () => {
    expect(scalar('  entitlements')).toBe('build/entitlements.mac.plist');
    expect(await readFile('build/entitlements.mac.plist', 'utf8')).toMatch(/<key>com\.apple\.security\.device\.camera<\/key>\s*<true\/>/);
    expect(config).toMatch(/NSCameraUsageDescription/);
    expect(config).not.toMatch(/^protocols:/m);
  });
  it('ships the bundles and the UI, which main loads from next to itself', () => {
    expect(config).toContain('- dist-electron/**/*');
    expect(config).toContain('- dist-renderer/**/*');
    expect(config).toContain('- node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  });
  it('has square PNG icons of the sizes their names say, and a 1024 px source for macOS and Windows', async () => {
    const files = (await readdir('build/icons')).filter((name) => /^\d+x\d+\.png$/.test(name));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const name of files) {
      const size = Number(name.split('x')[0]);
      expect(await pngSize(path.join('build/icons', name)), name).toEqual([size, size]);
    }
    expect(await pngSize('build/icon.png')).toEqual([1024, 1024]);
    expect(await pngSize('build/icons/trayTemplate@2x.png')).toEqual([32, 32]);
  });
});
