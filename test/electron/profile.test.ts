import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE, profileNameFrom, profilePaths } from '../../electron/main/profile.js';

describe('profile selection', () => {
  it('uses the default profile without flag or variable', () => {
    expect(profileNameFrom(['electron', '.'], {})).toBe(DEFAULT_PROFILE);
  });
  it('reads --profile NAME, --profile=NAME and DEADDROP_PROFILE, the flag winning', () => {
    expect(profileNameFrom(['electron', '.', '--profile', 'alice'], {})).toBe('alice');
    expect(profileNameFrom(['electron', '.', '--profile=bob'], {})).toBe('bob');
    expect(profileNameFrom(['electron', '.'], { DEADDROP_PROFILE: 'carol' })).toBe('carol');
    expect(profileNameFrom(['electron', '.', '--profile', 'dave'], { DEADDROP_PROFILE: 'carol' })).toBe('dave');
  });
  it('refuses names that could leave the profiles folder', () => {
    for (const bad of ['..', '../x', 'a/b', 'a\\b', '.hidden', 'x'.repeat(33), 'a b']) {
      expect(() => profileNameFrom(['--profile', bad], {})).toThrow(/Profile names/);
    }
  });
  it('lays every file of a profile out under userData/profiles/NAME', () => {
    const paths = profilePaths('/data', 'alice');
    expect(paths.root).toBe(path.join('/data', 'profiles', 'alice'));
    for (const file of [paths.engineDir, paths.dropServerDir, paths.secretFile, paths.passphraseMarkerFile, paths.engineStateFile, paths.desktopSettingsFile, paths.logDir]) {
      expect(file.startsWith(paths.root + path.sep)).toBe(true);
    }
    expect(profilePaths('/data', 'bob').root).not.toBe(paths.root);
  });
});
