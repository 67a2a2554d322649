import { describe, expect, it } from 'vitest';
import { previews, storageOf } from './registry.js';

describe('the UI module registry', () => {
  it('stores each payload type where its module says: chat rows, the contact, or the posts', () => {
    expect(storageOf({ type: 'box_message', msg: 'hi', part: { group: 'g', index: 0, count: 2 } })).toEqual({
      table: 'messages', fields: { kind: 'text', text: 'hi', share: null, part: { group: 'g', index: 0, count: 2 } },
    });
    const update = { type: 'box_contact_update' as const, alias: 'A', dropUrls: ['https://d.example/x'], revision: 1 };
    expect(storageOf(update)).toEqual({ table: 'contacts', update });
    const post = { type: 'box_microblog' as const, msg: 'p', postId: 'p1' };
    expect(storageOf(post)).toEqual({ table: 'posts', post });
    expect(storageOf({ type: 'unsupported', payloadType: 'box_future', payload: '{}' })).toMatchObject({ table: 'messages', fields: { kind: 'unsupported', text: '' } });
  });

  it('previews each kind of chat row in one line', () => {
    expect(previews.text({ kind: 'text', text: 'one\n  two', share: null })).toBe('one two');
    expect(previews.share({ kind: 'share', text: '', share: { file: 'a.pdf', url: 'u', size: 1 } })).toBe('Shared file: a.pdf');
    expect(previews.unsupported({ kind: 'unsupported', text: '', share: null })).toBe('Unsupported message');
    expect(previews.event({ kind: 'event', text: 'Alice is now called Alicia\nAlicia now also receives at d.example', share: null })).toBe(
      'Alice is now called Alicia Alicia now also receives at d.example',
    );
  });
});
