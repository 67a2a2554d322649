import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { autostartEntry, autostartFile, setLinuxAutostart } from '../../electron/main/linuxAutostart.js';

let configHome: string;
beforeEach(async () => {
  configHome = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-xdg-'));
});
afterEach(async () => rm(configHome, { recursive: true, force: true }));

describe('start at login on Linux', () => {
  it('writes an XDG autostart entry for the profile and removes it again', async () => {
    const target = { configHome, profile: 'alice', command: ['/opt/Deaddrop/deaddrop'] };
    await setLinuxAutostart(target, true);
    const file = autostartFile(target);
    expect(file).toBe(path.join(configHome, 'autostart', 'deaddrop-alice.desktop'));
    const entry = await readFile(file, 'utf8');
    expect(entry).toContain('[Desktop Entry]');
    expect(entry).toContain('Exec=/opt/Deaddrop/deaddrop --profile alice');
    await setLinuxAutostart(target, false);
    await expect(stat(file)).rejects.toThrow();
    await setLinuxAutostart(target, false);
  });
  it('quotes paths with spaces and shell characters', () => {
    const entry = autostartEntry({ configHome, profile: 'bob', command: ['/home/x/My Apps/Deaddrop.AppImage', '/tmp/$HOME"'] });
    expect(entry).toContain('Exec="/home/x/My Apps/Deaddrop.AppImage" "/tmp/\\$HOME\\"" --profile bob');
  });
});
