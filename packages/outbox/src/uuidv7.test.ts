import { describe, expect, it } from 'vitest';
import { uuidv7 } from './uuidv7.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id: string): number => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('uuidv7', () => {
  it('writes the version 7 and RFC 9562 variant bits around random ones', () => {
    const ids = Array.from({ length: 1000 }, () => uuidv7(Date.UTC(2027, 0, 1)));
    expect(ids.every((id) => UUID_V7.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(1000);
  });

  it('starts with the time in milliseconds, so ids sort by creation time', () => {
    const at = Date.UTC(2028, 0, 1, 12, 30);
    const id = uuidv7(at);
    expect(timeOf(id)).toBe(at);
    expect(uuidv7(at + 1) > id).toBe(true);
  });

  it('sorts the ids of one process in creation order within a millisecond, even past the counter’s end', () => {
    const at = Date.UTC(2029, 0, 1);
    const ids = Array.from({ length: 5000 }, () => uuidv7(at));
    expect([...ids].sort()).toEqual(ids);
    expect(timeOf(ids[0]!)).toBe(at);
    expect(timeOf(ids.at(-1)!)).toBeLessThanOrEqual(at + 2);
  });

  it('never goes back when the clock does', () => {
    const at = Date.UTC(2030, 0, 1);
    const later = uuidv7(at);
    expect(uuidv7(at - 5_000) > later).toBe(true);
  });
});
