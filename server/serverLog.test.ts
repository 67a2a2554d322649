import { afterEach, describe, expect, it } from 'vitest';
import { setLogLevel, setLogWriter } from '../shared/log.js';
import { createServerLogger, setServerLogLevel } from './serverLog.js';

afterEach(() => {
  setServerLogLevel('info');
  setLogLevel('info');
});

describe('server loggers', () => {
  it("filter by the server's level without touching the host's", () => {
    const lines: string[] = [];
    setLogWriter((line) => lines.push(line));
    setLogLevel('debug');
    setServerLogLevel('warn');
    const log = createServerLogger('server/test');
    log.info('quiet');
    log.warn('loud', { dropId: 'A'.repeat(43) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('warn [server/test] loud');
    expect(lines[0]).not.toContain('A'.repeat(43));
  });
});
