import { describe, expect, it } from 'vitest';
import { httpCache } from './http-cache.js';
import type { HttpCacheOptions } from './options.js';

function build(options: unknown): () => unknown {
  return () => httpCache(options as HttpCacheOptions);
}

describe('httpCache options', () => {
  it('builds with no options at all', () => {
    expect(httpCache().type).toBe('private');
    expect(httpCache({ type: 'shared' }).type).toBe('shared');
  });

  it('rejects options that are not an object', () => {
    expect(build(null)).toThrow(
      new TypeError('expected the options of httpCache() to be an object, got null'),
    );
    expect(build([])).toThrow(
      new TypeError('expected the options of httpCache() to be an object, got an array'),
    );
  });

  it('rejects an unknown option, suggesting the one it misspells and naming the known ones', () => {
    expect(build({ staleIfError: 60_000 })).toThrow(
      new TypeError(
        'unknown option "staleIfError" for httpCache(); did you mean "staleIfErrorMs"? expected one of type, store, methods, partition, defaultTtlMs, staleIfErrorMs, keepStaleMs, isFailureResponse, storeFailureResponses, maxEntryBytes, maxHeaderBytes, cacheStatus, listener, name, clock',
      ),
    );
  });

  it('rejects an unknown cache type', () => {
    expect(build({ type: 'public' })).toThrow(
      new TypeError('expected type to be one of "private", "shared", got "public"'),
    );
  });

  it('rejects a store without the store methods', () => {
    expect(build({ store: { get() {} } })).toThrow(
      new TypeError(
        'expected store to be a CacheStore with get(), set() and delete(), got an object',
      ),
    );
    expect(build({ store: null })).toThrow(
      new TypeError('expected store to be a CacheStore with get(), set() and delete(), got null'),
    );
  });

  it('rejects methods other than GET and HEAD, and an empty list', () => {
    expect(build({ methods: ['POST'] })).toThrow(
      new TypeError('expected methods[] to be one of "GET", "HEAD", got "POST"'),
    );
    expect(build({ methods: [] })).toThrow(
      new TypeError('expected methods to be a non-empty array of "GET", "HEAD", got an array'),
    );
    expect(build({ methods: 'GET' })).toThrow(
      new TypeError('expected methods to be a non-empty array of "GET", "HEAD", got "GET"'),
    );
  });

  it('rejects callbacks that are not functions', () => {
    expect(build({ partition: 'user' })).toThrow(
      new TypeError('expected partition to be a function, got "user"'),
    );
    expect(build({ isFailureResponse: true })).toThrow(
      new TypeError('expected isFailureResponse to be a function, got boolean'),
    );
    expect(build({ listener: {} })).toThrow(
      new TypeError('expected listener to be a function, got an object'),
    );
  });

  it('rejects a storeFailureResponses that is not a boolean', () => {
    expect(build({ storeFailureResponses: 'no' as never })).toThrow(
      new TypeError('expected storeFailureResponses to be a boolean, got "no"'),
    );
  });

  it('rejects durations out of range', () => {
    expect(build({ defaultTtlMs: 0 })).toThrow(
      new RangeError('expected defaultTtlMs to be an integer between 1 and 2147483648000, got 0'),
    );
    expect(build({ staleIfErrorMs: -1 })).toThrow(
      new RangeError(
        'expected staleIfErrorMs to be an integer between 0 and 2147483648000, got -1',
      ),
    );
    expect(build({ keepStaleMs: 1.5 })).toThrow(
      new RangeError('expected keepStaleMs to be an integer between 0 and 2147483648000, got 1.5'),
    );
    expect(build({ staleIfErrorMs: '60s' })).toThrow(
      new TypeError(
        'expected staleIfErrorMs to be an integer between 0 and 2147483648000, got "60s"',
      ),
    );
  });

  it('rejects size limits out of range', () => {
    expect(build({ maxEntryBytes: -1 })).toThrow(
      new RangeError('expected maxEntryBytes to be an integer >= 0, got -1'),
    );
    expect(build({ maxHeaderBytes: 100 })).toThrow(
      new RangeError('expected maxHeaderBytes to be an integer >= 256, got 100'),
    );
  });

  it('rejects a Cache-Status name that is not a structured-field token', () => {
    expect(build({ cacheStatus: 'my cache' })).toThrow(
      new RangeError('expected cacheStatus to be a structured-field token, got "my cache"'),
    );
    expect(build({ cacheStatus: '' })).toThrow(
      new TypeError('expected cacheStatus to be a non-empty string, got ""'),
    );
    expect(httpCache({ cacheStatus: false })).toBeDefined();
  });

  it('rejects an empty name', () => {
    expect(build({ name: '' })).toThrow(
      new TypeError('expected name to be a non-empty string, got ""'),
    );
  });
});
