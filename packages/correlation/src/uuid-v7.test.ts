import { afterEach, describe, expect, it, vi } from 'vitest';
import { uuidv7 } from './uuid-v7.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function timestampOf(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

describe('uuidv7', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('has the version 7 and RFC 9562 variant bits in the canonical 8-4-4-4-12 form', () => {
    for (let i = 0; i < 1000; i++) expect(uuidv7()).toMatch(UUID_V7);
  });

  it('starts with the Unix time in milliseconds, big-endian', () => {
    // Later than any ID made so far: IDs never go back in time, whatever the clock says.
    const now = Date.now() + 1_000_123;
    vi.spyOn(Date, 'now').mockReturnValue(now);
    const id = uuidv7();
    expect(timestampOf(id)).toBe(now);
    expect(id.slice(0, 8)).toBe(now.toString(16).padStart(12, '0').slice(0, 8));
  });

  it('formats each new millisecond anew, not the one before', () => {
    const now = Date.now() + 5_000_000;
    const spy = vi.spyOn(Date, 'now').mockReturnValue(now);
    const first = uuidv7();
    spy.mockReturnValue(now + 0x10000);
    const second = uuidv7();
    expect(timestampOf(first)).toBe(now);
    expect(timestampOf(second)).toBe(now + 0x10000);
  });

  it('sorts in creation order even for thousands of IDs within one millisecond', () => {
    const now = Date.now() + 10_000_000;
    vi.spyOn(Date, 'now').mockReturnValue(now);
    const ids = Array.from({ length: 5000 }, () => uuidv7());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The 12-bit counter ran out, so later IDs borrowed the following milliseconds.
    expect(timestampOf(ids.at(-1)!)).toBeGreaterThan(now);
  });

  it('keeps its order when the wall clock steps back', () => {
    const now = Date.now() + 20_000_000;
    const spy = vi.spyOn(Date, 'now').mockReturnValue(now);
    const before = uuidv7();
    spy.mockReturnValue(now - 60_000);
    const after = uuidv7();
    expect(after > before).toBe(true);
  });

  it('is unique across many calls', () => {
    const ids = new Set(Array.from({ length: 20_000 }, () => uuidv7()));
    expect(ids.size).toBe(20_000);
  });
});
