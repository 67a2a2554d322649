import { describe, expect, it } from 'vitest';
import { parseCli } from './cliArgs.js';
import { DEFAULT_OPTIONS, OptionError, resolveOptions } from './options.js';

describe('parseCli', () => {
  it('reads every flag', () => {
    const command = parseCli(
      [
        '--host', '::1', '--port', '0', '--db', 'sqlite::memory:', '--base-path', '/tools/drop/',
        '--max-message-bytes', '4KB', '--ttl', '12h', '--quota', '100MB',
        '--token', 'first-token-123456', '--token', 'second-token-12345', '--log-level', 'warn',
      ],
      {},
    );
    expect(command).toEqual({
      kind: 'run',
      options: {
        host: '::1', port: 0, db: 'sqlite::memory:', basePath: '/tools/drop/', maxMessageBytes: 4000,
        ttlSeconds: 43_200, quotaBytes: 100_000_000, tokens: ['first-token-123456', 'second-token-12345'], logLevel: 'warn',
      },
    });
  });

  it('reads the anti-spam settings from flags and the environment, and checks their ranges', () => {
    const command = parseCli(['--intro-per-day', '5', '--pow-bits', '20', '--pow-above', '60%', '--ticketless-ceiling', '95'], {
      DEADDROP_POW_LOAD: '20',
      DEADDROP_DROP_TICKETLESS_PER_HOUR: '30',
    });
    expect(command).toEqual({
      kind: 'run',
      options: { introPerDay: 5, powBits: 20, powAbovePercent: 60, ticketlessCeilingPercent: 95, powLoadPercent: 20, dropTicketlessPerHour: 30 },
    });
    expect(() => resolveOptions({ powBits: 0 })).toThrow(/--pow-bits must be an integer from 1 to 32/);
    expect(() => resolveOptions({ introPerDay: 1001 })).toThrow(/--intro-per-day/);
    expect(() => parseCli(['--pow-bits', 'many'], {})).toThrow(/--pow-bits must be a whole number/);
    expect(resolveOptions({})).toMatchObject({ introPerDay: 20, powBits: 18, powAbovePercent: 50, powLoadPercent: 10, ticketlessCeilingPercent: 90, dropTicketlessPerHour: 60 });
  });

  it('falls back to the environment twins, flags winning', () => {
    const command = parseCli(['--port', '9000'], {
      DEADDROP_PORT: '1234', DEADDROP_HOST: '0.0.0.0', DEADDROP_TTL: '1d', DEADDROP_TOKEN: 'a-token-of-16-chars, another-token-1234',
    });
    expect(command).toEqual({
      kind: 'run',
      options: { port: 9000, host: '0.0.0.0', ttlSeconds: 86_400, tokens: ['a-token-of-16-chars', 'another-token-1234'] },
    });
  });

  it('turns blobs on by flag or DEADDROP_BLOBS=1, reads their size limit, and refuses a DEADDROP_BLOBS that is not a yes or no', () => {
    expect(parseCli(['--blobs', '--max-blob-bytes', '20MB'], {})).toEqual({ kind: 'run', options: { blobs: true, maxBlobBytes: 20_000_000 } });
    expect(parseCli([], { DEADDROP_BLOBS: '1' })).toEqual({ kind: 'run', options: { blobs: true } });
    expect(parseCli([], { DEADDROP_BLOBS: '0' })).toEqual({ kind: 'run', options: {} });
    expect(() => parseCli([], { DEADDROP_BLOBS: 'yes please' })).toThrow(/DEADDROP_BLOBS must be 1 or 0/);
    expect(() => parseCli(['--max-blob-bytes', 'lots'], {})).toThrow(/--max-blob-bytes must look like/);
    expect(resolveOptions({}).blobs).toBe(false);
    expect(resolveOptions({}).maxBlobBytes).toBe(100_000_000);
  });

  it('knows --help', () => expect(parseCli(['--help'], {})).toEqual({ kind: 'help' }));

  it.each([['--nope'], ['--port', '8o'], ['--ttl', 'soon'], ['--quota', '12 parsecs'], ['positional']])(
    'refuses %j with an OptionError',
    (...args) => expect(() => parseCli(args, {})).toThrow(OptionError),
  );
});

describe('resolveOptions', () => {
  it('fills defaults: 127.0.0.1:8080, 2573 bytes, 7 days, SQLite in ./deaddrop-data', () => {
    const o = resolveOptions({});
    expect(o).toMatchObject({ host: '127.0.0.1', port: 8080, maxMessageBytes: 2573, ttlSeconds: 604_800, basePath: '' });
    expect(o.db).toBe('sqlite:./deaddrop-data/drops.db');
    expect(DEFAULT_OPTIONS.tokens).toEqual([]);
  });

  it.each([
    ['/', ''],
    ['', ''],
    ['/tools/drop/', '/tools/drop'],
    ['/a', '/a'],
  ])('normalises the base path %j to %j', (basePath, expected) => expect(resolveOptions({ basePath }).basePath).toBe(expected));

  it.each([{ basePath: 'x' }, { basePath: '/a b' }, { port: 65_536 }, { maxMessageBytes: 0 }, { tokens: ['short'] }, { host: ' ' }])(
    'refuses %j',
    (partial) => expect(() => resolveOptions(partial)).toThrow(OptionError),
  );
});
