import { randomFillSync } from 'node:crypto';

const TOKEN_BYTES = 16;
/** 256 tokens per refill: `randomBytes(16)` per claim was one CSPRNG call per keyed request. */
const POOL_SIZE = TOKEN_BYTES * 256;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/**
 * A claim's fencing token: 128 bits from the CSPRNG, base64url. Only the claim's owner may
 * complete or release the record it guards, so the token must be unguessable and unique.
 */
export function claimToken(): string {
  if (offset === POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const start = offset;
  offset += TOKEN_BYTES;
  return pool.toString('base64url', start, start + TOKEN_BYTES);
}
