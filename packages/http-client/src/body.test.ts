import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodySource } from './body.js';

describe('BodySource', () => {
  it('sends text and bytes again on every attempt', () => {
    for (const data of ['text', Buffer.from('b'), new Uint8Array([1])]) {
      const body = BodySource.from(data);
      expect(body.replayable).toBe(true);
      expect(body.next()).toBe(data);
      expect(body.next()).toBe(data);
    }
  });

  it('hands a one-shot stream out once', () => {
    const stream = Readable.from(['x']);
    const body = BodySource.from(stream);
    expect(body.replayable).toBe(false);
    expect(body.next()).toBe(stream);
    expect(body.next()).toBeUndefined();
  });

  it('treats async iterables and web streams as one-shot streams', () => {
    async function* gen(): AsyncGenerator<Uint8Array> {}
    expect(BodySource.from(gen()).replayable).toBe(false);
    expect(BodySource.from(new ReadableStream<Uint8Array>()).replayable).toBe(false);
  });

  it('calls a factory once per attempt', () => {
    let n = 0;
    const body = BodySource.from(() => `body-${++n}`);
    expect(body.replayable).toBe(true);
    expect(body.next()).toBe('body-1');
    expect(body.next()).toBe('body-2');
  });

  it('sends nothing for no body', () => {
    expect(BodySource.from(undefined).next()).toBeNull();
    expect(BodySource.none.replayable).toBe(true);
  });

  it('refuses bodies and factory results of other types', () => {
    expect(() => BodySource.from(42 as unknown as string)).toThrow(
      new TypeError(
        'expected body to be a string, a Uint8Array, a stream or an async iterable, got 42',
      ),
    );
    expect(() => BodySource.from({} as unknown as string)).toThrow(TypeError);
    const body = BodySource.from(() => ({}) as unknown as string);
    expect(() => body.next()).toThrow(
      new TypeError(
        'expected the value returned by the body factory to be a string, a Uint8Array, a stream or an async iterable, got an object',
      ),
    );
  });
});
