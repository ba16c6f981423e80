/**
 * Entity tags (RFC 9110 §8.8.3) and their two comparison functions (§8.8.3.2).
 *
 * An unquoted value (`ETag: abc123`) is not an entity tag. Such a value is not used as a
 * validator: echoing it back in If-None-Match would ask the origin to compare something it
 * never formally sent, so the cache falls back to Last-Modified, or to a full request.
 */

export interface EntityTag {
  readonly weak: boolean;
  /** The opaque-tag, quotes included. */
  readonly opaque: string;
}

// etagc = %x21 / %x23-7E / obs-text
const ENTITY_TAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/;

/** Parses one entity tag, or `undefined` when the value is not one. */
export function parseEtag(value: string | undefined): EntityTag | undefined {
  if (value === undefined) return undefined;
  const match = ENTITY_TAG.exec(value.trim());
  if (match === null) return undefined;
  return { weak: match[1] !== undefined, opaque: match[2]! };
}

/** Strong comparison: both tags strong and their opaque-tags identical. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** Weak comparison: the opaque-tags are identical, whether either is weak or not. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/** The tag as it goes on the wire. */
export function formatEtag(tag: EntityTag): string {
  return tag.weak ? `W/${tag.opaque}` : tag.opaque;
}
