import { isToken } from './cache-control.js';
import { getHeader, type HeaderInput } from './headers.js';

/**
 * Vary (RFC 9111 §4.1): a stored response is reused only for requests whose values of the named
 * fields match the request that got it. `Vary: *` never matches, so such responses are not stored.
 */
export type VaryNames =
  | { readonly kind: 'none' }
  | { readonly kind: 'names'; readonly names: readonly string[] }
  | { readonly kind: 'wildcard' }
  | { readonly kind: 'invalid' };

const NONE: VaryNames = { kind: 'none' };
const WILDCARD: VaryNames = { kind: 'wildcard' };
const INVALID: VaryNames = { kind: 'invalid' };

/** The field names a Vary value lists, lowercase, sorted and without duplicates. */
export function parseVary(value: string | undefined): VaryNames {
  if (value === undefined) return NONE;
  const names = new Set<string>();
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name.length === 0) continue;
    if (name === '*') return WILDCARD;
    if (!isToken(name)) return INVALID;
    names.add(name);
  }
  if (names.size === 0) return NONE;
  return { kind: 'names', names: [...names].sort() };
}

// RFC 9111 §4.1 lets a cache normalise values: whitespace around list commas does not count.
const LIST_SPACING = /[ \t]*,[ \t]*/g;

function normalizeValue(value: string): string {
  return value.trim().replace(LIST_SPACING, ',');
}

/**
 * The part of a cache key that the varying request fields decide. A field absent from the request
 * differs from one present but empty, and the encoding cannot be confused across fields.
 */
export function variantKey(names: readonly string[], headers: HeaderInput | undefined): string {
  const values: Array<string | null> = [];
  for (const name of names) {
    const value = getHeader(headers, name);
    values.push(value === undefined ? null : normalizeValue(value));
  }
  return JSON.stringify([names, values]);
}
