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

// A simple key, or a multi-tenant `tenant@system` key (up to 241 + 1 + 14 characters).
const SIMPLE_KEY = /^[a-z0-9][a-z0-9_\-*/]{0,255}$/;
const TENANT_KEY = /^[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}$/;
// Printable ASCII without `,` and `=`, 1 to 256 characters, not ending in a space.
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * Parses `tracestate` header values (several header fields are joined with commas, as RFC 9110
 * combines them). Empty members and optional whitespace around members are allowed. The list is
 * refused as a whole, and undefined returned, when any member is malformed, a key repeats, or it
 * has more than 32 members: the spec's grammar allows at most 32, and its test suite expects a
 * longer list to be discarded rather than guessed at. Only parse it after a valid `traceparent`.
 */
export function parseTracestate(
  value: string | readonly string[],
): readonly TraceStateEntry[] | undefined {
  const combined = typeof value === 'string' ? value : value.join(',');
  const entries: TraceStateEntry[] = [];
  const seen = new Set<string>();
  for (const raw of combined.split(',')) {
    let start = 0;
    let end = raw.length;
    while (start < end && isOws(raw.charCodeAt(start))) start++;
    while (end > start && isOws(raw.charCodeAt(end - 1))) end--;
    if (start === end) continue;
    const member = raw.slice(start, end);
    const eq = member.indexOf('=');
    if (eq <= 0) return undefined;
    const key = member.slice(0, eq);
    const entryValue = member.slice(eq + 1);
    if (!SIMPLE_KEY.test(key) && !TENANT_KEY.test(key)) return undefined;
    if (!VALUE.test(entryValue)) return undefined;
    if (seen.has(key)) return undefined;
    seen.add(key);
    if (entries.length === MAX_TRACESTATE_MEMBERS) return undefined;
    entries.push({ key, value: entryValue });
  }
  return entries;
}

/**
 * A `tracestate` header value of at most `maxLength` characters and 32 members, or undefined
 * when nothing is left to send. A list that is too long loses whole entries, as the spec
 * requires: first those longer than 128 characters, then from the end (the oldest positions).
 */
export function formatTracestate(
  entries: readonly TraceStateEntry[],
  maxLength = MAX_TRACESTATE_LENGTH,
): string | undefined {
  let members = entries.map((e) => `${e.key}=${e.value}`);
  if (members.length > MAX_TRACESTATE_MEMBERS) members = members.slice(0, MAX_TRACESTATE_MEMBERS);
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
