import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HttpResponse, HttpStreamResponse, bufferedResponse } from './response.js';

describe('HttpResponse', () => {
  it('reads its body as text, JSON and bytes', () => {
    const res = new HttpResponse(201, 'Created', { a: '1' }, Buffer.from('{"x":[1]}'), 1);
    expect(res.ok).toBe(true);
    expect(res.text()).toBe('{"x":[1]}');
    expect(res.json()).toEqual({ x: [1] });
    expect(Buffer.from(res.bytes()).toString()).toBe('{"x":[1]}');
  });

  it('says ok only for 2xx, and throws SyntaxError for malformed JSON', () => {
    expect(new HttpResponse(199, '', {}, Buffer.alloc(0), 1).ok).toBe(false);
    expect(new HttpResponse(300, '', {}, Buffer.alloc(0), 1).ok).toBe(false);
    expect(() => new HttpResponse(200, '', {}, Buffer.from('{'), 1).json()).toThrow(SyntaxError);
  });

  it('joins the chunks of a body, copying nothing for a single chunk', () => {
    const one = Buffer.from('one');
    expect(bufferedResponse(200, '', {}, [one], 3, 1).body).toBe(one);
    expect(bufferedResponse(200, '', {}, [one, Buffer.from('two')], 6, 2).text()).toBe('onetwo');
    expect(bufferedResponse(204, '', {}, [], 0, 1).body.length).toBe(0);
  });
});

describe('HttpStreamResponse', () => {
  it('reads its stream as text, JSON or bytes', async () => {
    const make = (...parts: string[]) =>
      new HttpStreamResponse(200, 'OK', {}, Readable.from(parts.map((p) => Buffer.from(p))), 1);
    expect(await make('a', 'b').text()).toBe('ab');
    expect(await make('{"a"', ':1}').json()).toEqual({ a: 1 });
    expect(await make().json()).toBeUndefined();
    expect((await make('x').bytes()).toString()).toBe('x');
    expect(make().ok).toBe(true);
  });
});
