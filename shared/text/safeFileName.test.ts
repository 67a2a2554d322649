import { describe, expect, it } from 'vitest';
import { safeFileName } from './safeFileName.js';

describe('safeFileName', () => {
  it('keeps ordinary names', () => {
    expect(safeFileName('holiday photo.jpg')).toBe('holiday photo.jpg');
    expect(safeFileName('Bericht über Ärger.pdf')).toBe('Bericht über Ärger.pdf');
  });

  it('never lets a name climb out of the folder or name another place', () => {
    expect(safeFileName('../../.bashrc')).toBe('_.._.bashrc');
    expect(safeFileName('/etc/passwd')).toBe('_etc_passwd');
    expect(safeFileName('C:\\Windows\\x.dll')).toBe('C__Windows_x.dll');
    expect(safeFileName('..')).toBe('file');
    expect(safeFileName('.')).toBe('file');
    expect(safeFileName('')).toBe('file');
    expect(safeFileName('   ')).toBe('file');
  });

  it('drops control and bidi characters that would fake an extension', () => {
    expect(safeFileName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(safeFileName('a\nb\u0000c.txt')).toBe('abc.txt');
  });

  it('renames device names Windows reserves and trims what Windows would drop', () => {
    expect(safeFileName('CON')).toBe('_CON');
    expect(safeFileName('lpt1.txt')).toBe('_lpt1.txt');
    expect(safeFileName('report.pdf. . ')).toBe('report.pdf');
  });

  it('caps long names and keeps a short extension', () => {
    const long = safeFileName(`${'x'.repeat(500)}.png`);
    expect(long).toHaveLength(200);
    expect(long.endsWith('.png')).toBe(true);
  });
});
