import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The framework-neutral modules are the same files in @bulwark/express and @bulwark/fastify,
 * so both adapters have one options shape and one behaviour. Until they move into a package of
 * their own, this keeps the two copies from drifting apart.
 */
const SHARED = [
  'http-errors',
  'idempotency-gate',
  'idempotency-options',
  'options',
  'peers',
  'pressure',
  'request-metrics',
  'slots',
  'stack',
  'test-helpers',
  'test-redis',
];

const EXPRESS_SRC = join(import.meta.dirname, '..', '..', 'express', 'src');
const files = readdirSync(EXPRESS_SRC).filter((file) =>
  SHARED.some((name) => file === `${name}.ts` || file === `${name}.test.ts`),
);

describe('modules shared with @bulwark/express', () => {
  it('finds every shared module in both packages', () => {
    expect(files.filter((f) => !f.endsWith('.test.ts')).sort()).toEqual(
      SHARED.map((n) => `${n}.ts`).sort(),
    );
  });

  for (const file of files) {
    it(`has the same ${file}`, () => {
      const mine = readFileSync(join(import.meta.dirname, file), 'utf8');
      expect(mine).toBe(readFileSync(join(EXPRESS_SRC, file), 'utf8'));
    });
  }
});
