import { describe, expect, it, vi } from 'vitest';
import { releaseResult } from './release-result.js';

describe('releaseResult', () => {
  it('cancels an unread fetch Response body so its connection is freed', async () => {
    const response = new Response('busy', { status: 503 });
    releaseResult(response);
    await expect(response.text()).rejects.toThrow();
  });

  it('cancels a web-stream body and swallows its rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let calls = 0;
      // Not vi.fn(): it attaches its own handler to the promises it returns.
      const cancel = () => {
        calls++;
        return Promise.reject(new Error('already closed'));
      };
      releaseResult({ body: { cancel } });
      expect(calls).toBe(1);
      // Node reports unhandled rejections once the microtask queue drains: two turns suffice.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('dumps an undici request() body', () => {
    const dump = vi.fn(() => Promise.resolve());
    releaseResult({ statusCode: 503, body: { dump } });
    expect(dump).toHaveBeenCalledOnce();
  });

  it('leaves a body that was already read alone', () => {
    const cancel = vi.fn();
    releaseResult({ bodyUsed: true, body: { cancel } });
    expect(cancel).not.toHaveBeenCalled();
  });

  it('never throws, whatever the result looks like', () => {
    expect(() => releaseResult(undefined)).not.toThrow();
    expect(() => releaseResult({ body: 'text' })).not.toThrow();
    const cancel = () => {
      throw new TypeError('locked');
    };
    expect(() => releaseResult({ body: { cancel } })).not.toThrow();
  });
});
