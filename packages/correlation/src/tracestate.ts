/** One `key=value` member of a W3C `tracestate` list. */
export interface TraceStateEntry {
  readonly key: string;
  readonly value: string;
}

/** A `tracestate` list holds at most 32 members (W3C Trace Context). */
export const MAX_TRACESTATE_MEMBERS = 32;

/**
 * The longest `tracestate` Bulwark sends: the spec asks vendors to propagate at least 512
 * characters, and to truncate longer lists by whole entries.
 */
export const MAX_TRACESTATE_LENGTH = 512;

/** Entries longer than this go first when a list must be truncated. */
const LONG_ENTRY_LENGTH = 128;

// W3C Trace Context Level 2: a lowercase letter or digit, then up to 255 more of these. `@` is a
// key character like any other, so multi-tenant keys (`tenant@system`) need no rule of their own.
const KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
// Printable ASCII without `,` and `=`, 1 to 256 characters, not ending in a space.
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Whether `key` is already in `entries`: a list holds at most 32, so a scan beats a Set. */
function hasKey(entries: readonly TraceStateEntry[], key: string): boolean {
  for (const entry of entries) if (entry.key === key) return true;
  return false;
}

/**
 * Parses `tracestate` header values (several header fields are joined with commas, as RFC 9110
 * combines them). Empty members and optional whitespace around members are allowed.
 *
 * One bad member does not cost the others their state: a member that is not `key=value` with a
 * valid key and value is dropped, and so is a repeated key after its first (leftmost, most recent)
 * entry, as the spec allows ("invalid tracestate entries MAY also be discarded"). A list of more
 * than 32 members, valid or not, breaks the spec's grammar and is discarded whole (undefined), as
 * the spec's test suite expects. Only parse it after a valid `traceparent`.
 */
export function parseTracestate(
  value: string | readonly string[],
): readonly TraceStateEntry[] | undefined {
  const combined = typeof value === 'string' ? value : value.join(',');
  const entries: TraceStateEntry[] = [];
  let members = 0;
  for (let from = 0; from <= combined.length;) {
    let end = combined.indexOf(',', from);
    if (end === -1) end = combined.length;
    let start = from;
    from = end + 1;
    while (start < end && isOws(combined.charCodeAt(start))) start++;
    while (end > start && isOws(combined.charCodeAt(end - 1))) end--;
    if (start === end) continue;
    if (++members > MAX_TRACESTATE_MEMBERS) return undefined;
    const eq = combined.indexOf('=', start);
    if (eq <= start || eq >= end) continue;
    const key = combined.slice(start, eq);
    const entryValue = combined.slice(eq + 1, end);
    if (!KEY.test(key) || !VALUE.test(entryValue) || hasKey(entries, key)) continue;
    entries.push({ key, value: entryValue });
  }
  return entries;
}

/**
 * A `tracestate` header value of at most `maxLength` characters and 32 members, or undefined
 * when nothing is left to send. Entries the grammar refuses, and repeats of a key after its first
 * entry, are left out, so a list built by hand cannot break the header. A list that is too long
 * loses whole entries, as the spec requires: first those longer than 128 characters, then from
 * the end (the oldest positions).
 */
export function formatTracestate(
  entries: readonly TraceStateEntry[],
  maxLength = MAX_TRACESTATE_LENGTH,
): string | undefined {
  const kept: TraceStateEntry[] = [];
  for (const entry of entries) {
    if (kept.length === MAX_TRACESTATE_MEMBERS) break;
    const { key, value } = entry;
    if (typeof key !== 'string' || typeof value !== 'string') continue;
    if (!KEY.test(key) || !VALUE.test(value) || hasKey(kept, key)) continue;
    kept.push(entry);
  }
  const members = kept.map((e) => `${e.key}=${e.value}`);
  // Members plus the commas between them.
  let length = members.reduce((sum, m) => sum + m.length + 1, -1);
  while (length > maxLength) {
    let drop = members.length - 1;
    for (let i = members.length - 1; i >= 0; i--) {
      if (members[i]!.length > LONG_ENTRY_LENGTH) {
        drop = i;
        break;
      }
    }
    length -= members[drop]!.length + 1;
    members.splice(drop, 1);
  }
  return members.length === 0 ? undefined : members.join(',');
}
