import { describe, expect, it } from 'vitest';
import type { StoredResponse, VaryMarker } from './store.js';
import { decodeRecord, encodeRecord } from './codec.js';

const response: StoredResponse = {
  kind: 'response',
  status: 200,
  headers: { 'content-type': 'application/octet-stream', etag: '"v1"' },
  body: new Uint8Array([0, 1, 2, 0xff, 0xfe, 0x0d, 0x0a, 0]),
  requestTime: 1,
  responseTime: 2,
  initialAgeMs: 3,
  freshnessMs: 4,
  staleWhileRevalidateMs: 5,
  staleIfErrorMs: 6,
  mustRevalidate: true,
  noCache: false,
  immutable: true,
  etag: '"v1"',
  lastModified: undefined,
  variant: '[["a"],["x"]]',
};

describe('encodeRecord / decodeRecord', () => {
  it('round-trips a response with a binary body, byte for byte', () => {
    const decoded = decodeRecord(encodeRecord(response));
    expect(decoded).toEqual(response);
  });

  it('round-trips a Vary marker', () => {
    const marker: VaryMarker = { kind: 'vary', names: ['accept'], id: 'x.1', expiresAt: 99 };
    expect(decodeRecord(encodeRecord(marker))).toEqual(marker);
  });

  it('decodes a body that is a slice of a larger buffer', () => {
    const encoded = encodeRecord(response);
    const padded = Buffer.concat([Buffer.from('junk'), encoded]).subarray(4);
    expect(decodeRecord(padded)).toEqual(response);
  });

  it('reads bytes that are not a record as nothing', () => {
    expect(decodeRecord(Buffer.from('hello world'))).toBeUndefined();
    expect(decodeRecord(new Uint8Array(0))).toBeUndefined();
    const truncated = encodeRecord(response).subarray(0, 20);
    expect(decodeRecord(truncated)).toBeUndefined();
  });

  it('reads a record with a wrong field type as nothing', () => {
    const bad = Buffer.from(JSON.stringify({ ...response, body: undefined, status: 'ok' }));
    const bytes = Buffer.concat([Buffer.from([0xb1, 0, 0, 0, bad.length]), bad]);
    expect(decodeRecord(bytes)).toBeUndefined();
    const badJson = Buffer.concat([Buffer.from([0xb1, 0, 0, 0, 3]), Buffer.from('{{{')]);
    expect(decodeRecord(badJson)).toBeUndefined();
  });
});
