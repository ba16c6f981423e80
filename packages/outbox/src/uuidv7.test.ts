import { describe, expect, it } from 'vitest';
import { uuidv7 } from './uuidv7.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('writes the version 7 and RFC 9562 variant bits around random ones', () => {
    const ids = Array.from({ length: 1000 }, () => uuidv7(Date.UTC(2026, 0, 1)));
    expect(ids.every((id) => UUID_V7.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(1000);
  });

  it('starts with the time in milliseconds, so ids sort by creation time', () => {
    const at = Date.UTC(2026, 0, 1, 12, 30);
    const id = uuidv7(at);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
    expect(uuidv7(at) < uuidv7(at + 1)).toBe(true);
  });
});
