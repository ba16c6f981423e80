import { checkString, describeValue } from '@bulwark/core/internal';

/** Request headers as a record: lowercase names, one string value each. */
export type HeaderRecord = Record<string, string>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A header name as undici sends it: lowercase, one HTTP token. */
export function checkHeaderName(name: string, value: unknown): string {
  checkString(name, value);
  if (!TOKEN.test(value)) {
    throw new TypeError(`expected ${name} to be a header name, got ${describeValue(value)}`);
  }
  return value.toLowerCase();
}

/** A caller's headers as a record of strings, names lowercased. */
export function lowerHeaders(name: string, value: unknown): HeaderRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`expected ${name} to be an object, got ${describeValue(value)}`);
  }
  const out: HeaderRecord = {};
  for (const key of Object.keys(value)) {
    const header = (value as Record<string, unknown>)[key];
    if (typeof header !== 'string') {
      throw new TypeError(
        `expected ${name}[${JSON.stringify(key)}] to be a string, got ${describeValue(header)}`,
      );
    }
    out[key.toLowerCase()] = header;
  }
  return out;
}

/**
 * A copy of `base` with `extra` over it. Copied key by key on purpose: V8 gives an object made
 * by spread (`{ ...base }`) a map that turns every later property addition into a slow
 * transition, and each attempt adds its own headers to the copy (benchmarks/RESULTS.md,
 * "Design figures").
 */
export function copyHeaders(
  base: Readonly<HeaderRecord>,
  extra?: Readonly<HeaderRecord>,
): HeaderRecord {
  const out: HeaderRecord = {};
  for (const name in base) out[name] = base[name]!;
  if (extra !== undefined) for (const name in extra) out[name] = extra[name]!;
  return out;
}
