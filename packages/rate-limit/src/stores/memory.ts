import { checkInteger, checkKnownOptions, checkOptionsObject } from '@bulwark/core/internal';
import { LRUCache } from 'lru-cache';

/** Keys each limiter keeps by default. */
export const DEFAULT_MAX_KEYS = 10_000;
/** The most keys a limiter may keep: the LRU reserves its index for all of them up front. */
export const MAX_MAX_KEYS = 1_000_000;

export interface MemoryStoreOptions {
  /**
   * Keys each limiter using this store keeps at most (the unkeyed state is not counted). The least
   * recently used key goes first; it starts fresh if it comes back. Default 10 000.
   */
  maxKeys?: number;
}

/** Limits in this process's memory: per limiter, an LRU of key states. */
export interface MemoryStore {
  readonly kind: 'memory';
  readonly maxKeys: number;
}

/**
 * Keeps each limiter's state in this process. A limiter without a `store` gets one with the
 * default bound. Each limiter given this store keeps its own table of up to `maxKeys` keys.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  checkOptionsObject('memoryStore', options);
  checkKnownOptions('memoryStore', options, ['maxKeys']);
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  checkInteger('maxKeys', maxKeys, 1, MAX_MAX_KEYS);
  return Object.freeze({ kind: 'memory', maxKeys });
}

export function isMemoryStore(value: unknown): value is MemoryStore {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'memory'
  );
}

/**
 * One limiter's key states. A state is a small mutable object updated in place, so a decision on
 * a known key allocates nothing; only a new key does. The unkeyed state (key `''`) lives outside
 * the LRU and is never evicted.
 */
export class MemoryTable<S extends object> {
  private readonly lru: LRUCache<string, S>;
  private readonly unkeyed: S;

  constructor(
    maxKeys: number,
    private readonly create: () => S,
  ) {
    this.lru = new LRUCache<string, S>({ max: maxKeys });
    this.unkeyed = create();
  }

  /** Keys held now. */
  get size(): number {
    return this.lru.size;
  }

  state(key: string): S {
    if (key === '') return this.unkeyed;
    let state = this.lru.get(key);
    if (state === undefined) {
      state = this.create();
      this.lru.set(key, state);
    }
    return state;
  }
}
