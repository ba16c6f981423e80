import { getRandomValues } from 'node:crypto';

/** 2^32: turns a 32-bit integer into a number in [0, 1). */
const TWO_POW_32 = 4_294_967_296;
/** The golden-ratio increment of splitmix32. */
const GOLDEN = 0x9e3779b9;

/**
 * One step of splitmix32 from `state`: a bijective mix of `state + GOLDEN`. Used only to spread
 * a seed over xoshiro's 128 bits of state, as the xoshiro authors recommend.
 */
function splitmix32(state: number): number {
  let z = (state + GOLDEN) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * xoshiro128** (Blackman and Vigna): 128 bits of state, period 2^128 - 1, passes BigCrush, and
 * runs on 32-bit integer operations only, which JavaScript does without allocating.
 */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `state` as four 32-bit words, not all zero. */
  constructor(s0: number, s1: number, s2: number, s3: number) {
    this.s0 = s0 | 0;
    this.s1 = s1 | 0;
    this.s2 = s2 | 0;
    this.s3 = s3 | 0;
  }

  /** The state for a seed: every safe integer gives its own. */
  static fromSeed(seed: number): Xoshiro128 {
    const low = Number(BigInt.asUintN(32, BigInt(seed)));
    const high = Number(BigInt.asUintN(32, BigInt(seed) >> 32n));
    // splitmix32 is a bijection at each position, so two consecutive outputs never both come
    // out zero and the state can never be the all-zero one xoshiro must avoid.
    return new Xoshiro128(
      splitmix32(low),
      splitmix32(low + GOLDEN),
      splitmix32(high ^ 0x5bd1e995),
      splitmix32((high ^ 0x5bd1e995) + GOLDEN),
    );
  }

  /** The next 32-bit output, unsigned. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }
}

/** A random source in [0, 1) that replays the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  const generator = Xoshiro128.fromSeed(seed);
  return () => generator.next();
}

/** A fresh seed for a policy given none, so its run can still be replayed once logged. */
export function randomSeed(): number {
  return getRandomValues(new Uint32Array(1))[0]!;
}
