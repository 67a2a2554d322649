import { describe, expect, it } from 'vitest';
import { eventNames } from './channels.js';
import { type AppEvent, appEvent } from './contract.js';
import { encodeEvent, encodeRequest, encodeResult, parseHostFrame, parseRequestFrame } from './hostFrames.js';
import { fail, ok } from './result.js';

describe('request frames (page → host)', () => {
  it('carry id, channel and request through encode and parse', () => {
    const text = encodeRequest(7, 'messages/send', { text: 'hi', n: [1, 2] });
    expect(parseRequestFrame(text)).toEqual({ id: 7, channel: 'messages/send', request: { text: 'hi', n: [1, 2] } });
  });

  it('leave channel and request unchecked for dispatch: an unknown channel or a missing request still parses', () => {
    expect(parseRequestFrame('{"id":1,"channel":"no/such"}')).toEqual({ id: 1, channel: 'no/such', request: undefined });
    expect(parseRequestFrame('{"id":2,"channel":42,"request":"x"}')).toEqual({ id: 2, channel: 42, request: 'x' });
  });

  it.each([
    ['not JSON', 'hello'],
    ['empty', ''],
    ['truncated', '{"id":1,"channel":"app/info"'],
    ['a number', '1'],
    ['null', 'null'],
    ['a string', '"{\\"id\\":1}"'],
    ['an array', '[1,"app/info",{}]'],
    ['no id', '{"channel":"app/info","request":{}}'],
    ['a string id', '{"id":"1","channel":"app/info","request":{}}'],
    ['a null id', '{"id":null,"channel":"app/info","request":{}}'],
    ['an id only on __proto__', '{"__proto__":{"id":1},"channel":"app/info","request":{}}'],
  ])('ignore a frame that is %s', (_, text) => {
    expect(parseRequestFrame(text)).toBeNull();
  });
});

describe('host frames (host → page)', () => {
  it('carry a success and a failure by id', () => {
    expect(parseHostFrame(encodeResult(3, ok({ a: 1 })))).toEqual({ kind: 'result', id: 3, result: { ok: true, value: { a: 1 } } });
    expect(parseHostFrame(encodeResult(4, ok(null)))).toEqual({ kind: 'result', id: 4, result: { ok: true, value: null } });
    expect(parseHostFrame(encodeResult(5, fail('locked', 'Unlock first.')))).toEqual({
      kind: 'result', id: 5, result: { ok: false, error: { code: 'locked', message: 'Unlock first.' } },
    });
  });

  it('carry every event of the contract', () => {
    for (const name of eventNames) {
      const event = { event: name, payload: { any: name } } as unknown as AppEvent;
      expect(parseHostFrame(encodeEvent(event)), name).toEqual({ kind: 'event', event });
    }
    const batch = appEvent('inbox/batch', { batchId: 'b', messages: [], receipts: [] });
    expect(parseHostFrame(encodeEvent(batch))).toEqual({ kind: 'event', event: batch });
  });

  it.each([
    ['not JSON', 'not json'],
    ['empty', ''],
    ['a number', '5'],
    ['null', 'null'],
    ['an array', '[{"id":1,"result":{"ok":true,"value":1}}]'],
    ['neither a result nor an event', '{"hello":"world"}'],
    ['a result without id', '{"result":{"ok":true,"value":1}}'],
    ['a result with a string id', '{"id":"1","result":{"ok":true,"value":1}}'],
    ['an id without result', '{"id":1}'],
    ['a result that is not an object', '{"id":1,"result":"ok"}'],
    ['a result without ok', '{"id":1,"result":{"value":1}}'],
    ['a result whose ok is not a boolean', '{"id":1,"result":{"ok":"true","value":1}}'],
    ['a success without value', '{"id":1,"result":{"ok":true}}'],
    ['a failure without error', '{"id":1,"result":{"ok":false}}'],
    ['a failure with a null error', '{"id":1,"result":{"ok":false,"error":null}}'],
    ['a failure whose error is a string', '{"id":1,"result":{"ok":false,"error":"boom"}}'],
    ['a failure whose code is not a string', '{"id":1,"result":{"ok":false,"error":{"code":5,"message":"x"}}}'],
    ['a failure without message', '{"id":1,"result":{"ok":false,"error":{"code":"internal"}}}'],
    ['a failure whose message is an object', '{"id":1,"result":{"ok":false,"error":{"code":"internal","message":{}}}}'],
    ['an unknown event', '{"event":"inbox/everything","payload":{}}'],
    ['an event named after an Object property', '{"event":"constructor","payload":{}}'],
    ['an event name that is not a string', '{"event":["inbox/batch"],"payload":{}}'],
    ['an event only on __proto__', '{"__proto__":{"event":"inbox/batch"},"payload":{}}'],
  ])('ignore a frame that is %s', (_, text) => {
    expect(parseHostFrame(text)).toBeNull();
  });

  it('ignore an oversized frame of garbage and a frame nested a million deep without throwing', () => {
    expect(parseHostFrame(`{"id":1,"result":${'x'.repeat(4 * 1024 * 1024)}}`)).toBeNull();
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    expect(() => parseHostFrame(deep)).not.toThrow();
    expect(parseHostFrame(deep)).toBeNull();
    expect(parseRequestFrame(deep)).toBeNull();
  });

  it('take a large well-formed event whole (the size bound is the host socket’s, not the parser’s)', () => {
    const text = 'x'.repeat(100_000);
    const messages = Array.from({ length: 20 }, (_, i) => ({ dedupeKey: String(i), text }));
    const frame = parseHostFrame(encodeEvent(appEvent('inbox/batch', { batchId: 'big', messages, receipts: [] } as never)));
    expect(frame).toMatchObject({ kind: 'event', event: { event: 'inbox/batch', payload: { batchId: 'big' } } });
    expect((frame as { event: { payload: { messages: unknown[] } } }).event.payload.messages).toHaveLength(20);
  });
});
