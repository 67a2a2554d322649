import { describe, expect, it } from 'vitest';
import { checkServerUrl, sameServer, serverOfDrop, shortDrop, shortDropId } from './dropUrls.js';

const DROP = 'https://drop.example.org/tools/drop/' + 'A'.repeat(43);

describe('drop URLs in the UI', () => {
  it('splits a drop URL into server and a short drop ID', () => {
    expect(serverOfDrop(DROP)).toBe('https://drop.example.org/tools/drop');
    expect(shortDropId(DROP)).toBe('AAAAAAAA…');
    expect(shortDrop(DROP)).toBe('https://drop.example.org/tools/drop/AAAAAAAA…');
    expect(sameServer('https://a.example/', 'https://a.example')).toBe(true);
  });
});

describe('checkServerUrl', () => {
  it('accepts http(s) addresses and drops a trailing slash', () => {
    expect(checkServerUrl(' https://drop.example.org/ ')).toEqual({ ok: true, url: 'https://drop.example.org' });
    expect(checkServerUrl('http://127.0.0.1:8080/tools/drop')).toEqual({ ok: true, url: 'http://127.0.0.1:8080/tools/drop' });
  });

  it('adds the scheme people leave out: http on this computer and the local network, https elsewhere', () => {
    expect(checkServerUrl('127.0.0.1:8080')).toEqual({ ok: true, url: 'http://127.0.0.1:8080' });
    expect(checkServerUrl('localhost:8080/drop')).toEqual({ ok: true, url: 'http://localhost:8080/drop' });
    expect(checkServerUrl('192.168.1.5:8080')).toEqual({ ok: true, url: 'http://192.168.1.5:8080' });
    expect(checkServerUrl('[::1]:8080')).toEqual({ ok: true, url: 'http://[::1]:8080' });
    expect(checkServerUrl('drop.example.org')).toEqual({ ok: true, url: 'https://drop.example.org' });
  });

  it('says how to fix what is wrong', () => {
    expect(checkServerUrl('')).toMatchObject({ ok: false, message: expect.stringMatching(/^Enter the address/) });
    expect(checkServerUrl('ftp://x.example')).toMatchObject({ ok: false, message: expect.stringMatching(/https:\/\//) });
    expect(checkServerUrl('https://x.example/?a=1')).toMatchObject({ ok: false, message: expect.stringMatching(/query or fragment/) });
    expect(checkServerUrl('https://me:pw@x.example')).toMatchObject({ ok: false, message: expect.stringMatching(/user name and password/) });
    expect(checkServerUrl('https://' + 'a'.repeat(2000) + '.example')).toMatchObject({ ok: false });
  });
});
