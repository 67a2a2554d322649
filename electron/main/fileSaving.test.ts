import { describe, expect, it } from 'vitest';
import type { EncryptedFileRef } from '../../shared/ipc/contract.js';
import { fileSaving } from './fileSaving.js';

const ref: EncryptedFileRef = { scheme: 'deaddrop-file-1', url: `http://127.0.0.1:1/blobs/${'a'.repeat(43)}`, key: 'k'.repeat(43), size: 1, cipherSize: 33, hash: 'h'.repeat(43) };

describe('files/saveAs', () => {
  it('suggests a safe name in the downloads folder and saves where the user chose', async () => {
    const saved: string[] = [];
    const suggested: string[] = [];
    const handlers = fileSaving(
      { saveFile: async (id, _ref, dest) => void saved.push(`${id}->${dest}`) },
      { choose: async (path) => (suggested.push(path), '/home/me/chosen.pdf'), defaultFolder: () => '/home/me/Downloads' },
    );
    expect(await handlers['files/saveAs']({ id: 'm1', ref, fileName: '../../evil\u202Efdp.exe' })).toEqual({ saved: true });
    expect(suggested).toEqual(['/home/me/Downloads/_.._evilfdp.exe']);
    expect(saved).toEqual(['m1->/home/me/chosen.pdf']);
  });

  it('writes nothing when the user cancels', async () => {
    let calls = 0;
    const handlers = fileSaving({ saveFile: async () => void calls++ }, { choose: async () => null, defaultFolder: () => '/tmp' });
    expect(await handlers['files/saveAs']({ id: 'm1', ref, fileName: 'a.txt' })).toEqual({ saved: false });
    expect(calls).toBe(0);
  });
});
