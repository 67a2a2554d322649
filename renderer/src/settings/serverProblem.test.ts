import { describe, expect, it } from 'vitest';
import { describeServerProblem, serverName } from './serverProblem.js';

describe('describeServerProblem', () => {
  it.each([
    ['The drop server cannot be reached (connect ECONNREFUSED 127.0.0.1:8080); check the server address…', /may not be running/],
    ['The drop server cannot be reached (getaddrinfo ENOTFOUND drop.example.org)', /name could not be found/],
    ['The drop server did not answer in time; check…', /did not answer in time/],
    ['The drop server cannot be reached (other side closed)', /connection was cut/],
    ['The drop server refused the GET request (HTTP 404). Check the drop URL', /does not know this drop address/],
    ['The drop server refused the GET request (HTTP 503). The server has trouble', /trouble/],
    ['The drop server refused the GET request (HTTP 401). The server wants an access token.', /access token/],
    ['Refused to contact 127.0.0.1: it is this computer.', /local network/],
    ['The drop server cannot be reached (unable to verify the first certificate)', /certificate/],
    ['something new', /unexpected/],
  ])('%s', (raw, words) => {
    const described = describeServerProblem(raw);
    expect(described).toMatch(words);
    expect(described).not.toMatch(/E[A-Z]{4,}|\d+\.\d+\.\d+\.\d+/);
  });

  it('names servers by host and path', () => {
    expect(serverName('https://drop.example.org/tools/drop')).toBe('drop.example.org/tools/drop');
    expect(serverName('http://127.0.0.1:8080')).toBe('127.0.0.1:8080');
  });
});
