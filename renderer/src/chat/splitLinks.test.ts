import { describe, expect, it } from 'vitest';
import { splitLinks } from './splitLinks.js';

describe('splitLinks', () => {
  it('finds http(s) links and leaves the sentence punctuation outside', () => {
    expect(splitLinks('see https://example.org/a?b=1, then')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.org/a?b=1', url: 'https://example.org/a?b=1', host: 'example.org', hostHidden: false },
      { kind: 'text', text: ', then' },
    ]);
    expect(splitLinks('javascript:alert(1) ftp://x')).toEqual([{ kind: 'text', text: 'javascript:alert(1) ftp://x' }]);
  });

  it('ends a link at a bidirectional control, so an override cannot disguise where it goes', () => {
    // Shown right-to-left, the tail reads "https://www.your-bank.com/".
    const text = 'https://evil.example/\u202E/moc.knab-ruoy.www//:sptth';
    const pieces = splitLinks(text);
    expect(pieces[0]).toMatchObject({ kind: 'link', text: 'https://evil.example/', host: 'evil.example' });
    expect(pieces[1]).toEqual({ kind: 'text', text: '\u202E/moc.knab-ruoy.www//:sptth' });
  });

  it('shows the real host of links that spell another one', () => {
    const host = (text: string) => splitLinks(text).find((p) => p.kind === 'link');
    expect(host('https://www.your-bank.com@evil.example/login')).toMatchObject({ host: 'evil.example', hostHidden: true });
    expect(host('https://www.pаypal.com/')).toMatchObject({ host: 'www.xn--pypal-4ve.com', hostHidden: true });
    expect(host('https://Example.ORG/x')).toMatchObject({ host: 'example.org', hostHidden: false });
    expect(host('https://example.org:8443/x')).toMatchObject({ host: 'example.org:8443', hostHidden: false });
  });
});

describe('splitLinks on a stranger\'s long text', () => {
  it('a link with long runs of punctuation is split in one pass (a trailing-punctuation regex backtracked through each run)', () => {
    // About 200,000 characters: quadratic trimming took minutes here (2 s at 30,000), past the test's timeout.
    const dots = '.,'.repeat(100_000);
    const pieces = splitLinks(`see http://a.example/${dots}x${dots} then`);
    expect(pieces).toHaveLength(3);
    expect(pieces[1]).toMatchObject({ kind: 'link', text: `http://a.example/${dots}x`, host: 'a.example' });
    expect(pieces[2]).toEqual({ kind: 'text', text: `${dots} then` });
  });
});
