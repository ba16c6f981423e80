/**
 * Option checks shared by every package, so that every policy rejects bad input the same way:
 * `expected maxAttempts to be an integer >= 0, got -1`.
 */

/** A short, safe rendering of a value for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'number':
      return Number.isNaN(value) ? 'NaN' : String(value);
    case 'string': {
      const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
      return JSON.stringify(shown);
    }
    case 'bigint':
      return `${value}n`;
    case 'function':
      return 'a function';
    case 'object':
      return Array.isArray(value) ? 'an array' : 'an object';
    default:
      return typeof value;
  }
}

function fail(name: string, expected: string, value: unknown, Kind: ErrorConstructor): never {
  throw new Kind(`expected ${name} to be ${expected}, got ${describeValue(value)}`);
}

// Defaults such as Number.MAX_SAFE_INTEGER mean "no bound" and stay out of messages.
function range(min: number, max: number): string {
  const noMin = min <= -Number.MAX_SAFE_INTEGER;
  const noMax = max >= Number.MAX_SAFE_INTEGER;
  if (noMin && noMax) return '';
  if (noMax) return ` >= ${min}`;
  if (noMin) return ` <= ${max}`;
  return ` between ${min} and ${max}`;
}

/** An integer within [min, max]; `Infinity` is accepted too when `allowInfinity` is set. */
export function checkInteger(
  name: string,
  value: unknown,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
  allowInfinity = false,
): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    fail(name, `an integer${range(min, max)}`, value, TypeError);
  }
  if (value === Infinity && allowInfinity) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(name, `an integer${range(min, max)}`, value, RangeError);
  }
}

/** A finite number within [min, max]. */
export function checkNumber(
  name: string,
  value: unknown,
  min = 0,
  max = Number.MAX_VALUE,
): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    fail(name, `a number${range(min, max)}`, value, TypeError);
  }
  if (!Number.isFinite(value) || value < min || value > max) {
    fail(name, `a finite number${range(min, max)}`, value, RangeError);
  }
}

export function checkFunction(
  name: string,
  value: unknown,
): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') fail(name, 'a function', value, TypeError);
}

export function checkString(
  name: string,
  value: unknown,
  maxLength = 256,
): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    fail(name, 'a non-empty string', value, TypeError);
  }
  if (value.length > maxLength) {
    fail(name, `a string of at most ${maxLength} characters`, value, RangeError);
  }
}

export function checkBoolean(name: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') fail(name, 'a boolean', value, TypeError);
}

export function checkOneOf<T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
): asserts value is T {
  if (!allowed.includes(value as T)) {
    fail(name, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, value, TypeError);
  }
}

/** A plain object (not null, not an array): a nested options object, say. */
export function checkObject(name: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(name, 'an object', value, TypeError);
  }
}

/** Options must be a plain object (or absent). */
export function checkOptionsObject(factory: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`the options of ${factory}()`, 'an object', value, TypeError);
  }
}

/**
 * A misspelt option would silently fall back to its default: reject it instead, naming the
 * closest known option when one is near enough to be the intended one. `path` names a nested
 * options object (`retry`, `retry.budget`), so the message shows where the key sits.
 */
export function checkKnownOptions(
  factory: string,
  options: object,
  names: readonly string[],
  path?: string,
): void {
  for (const key in options) {
    if (!Object.hasOwn(options, key) || names.includes(key)) continue;
    const shown = path === undefined ? key : `${path}.${key}`;
    const closest = closestName(key, names);
    const hint = closest === undefined ? '' : ` did you mean ${JSON.stringify(closest)}?`;
    throw new TypeError(
      `unknown option ${JSON.stringify(shown)} for ${factory}();${hint} expected one of ${names.join(', ')}`,
    );
  }
}

/**
 * The names of an options type, each listed once, for {@link checkKnownOptions}: the compiler
 * rejects a list that misses a name or holds one the type does not have, so the check cannot
 * drift from the type.
 *
 * @example
 * const NAMES = optionNames<ConsecutiveOptions>({ threshold: true });
 */
export function optionNames<T>(names: { readonly [K in keyof Required<T>]: true }): string[] {
  return Object.keys(names);
}

/**
 * The name `key` most likely misspells, ignoring case, or undefined when none is close: the one
 * name the key begins (a forgotten unit suffix: `ttl` for `ttlMs`), else one at most a third of
 * the key's characters apart. Short keys get one edit: two would turn `rate` into `name`.
 */
function closestName(key: string, names: readonly string[]): string | undefined {
  const typed = key.toLowerCase();
  if (typed.length >= 3) {
    const begun = names.filter((name) => name.toLowerCase().startsWith(typed));
    // `max` for maxEntries or maxBytes is a guess either way: then no name is offered.
    if (begun.length === 1) return begun[0];
    if (begun.length > 1) return undefined;
  }
  let best: string | undefined;
  const limit = Math.max(1, Math.floor(typed.length / 3));
  let bestDistance = limit + 1;
  for (const name of names) {
    const distance = editDistance(typed, name.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Edits (insertions, deletions, substitutions, swaps of two neighbours) between `a` and `b`;
 * anything at or beyond `cap` is reported as `cap`, so far-off names cost little.
 */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  // Three rows of the classic table: two back for swaps, one back, and the current one.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, before[j - 2]! + 1);
      }
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin >= cap) return cap;
    [before, previous, current] = [previous, current, before];
  }
  return Math.min(previous[b.length]!, cap);
}

/** A clock must have all four of Clock's methods: every policy may use any of them. */
export function checkClock(value: unknown): void {
  const clock = value as Record<string, unknown> | null;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.dateNow !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    fail(
      'clock',
      'a Clock with now(), dateNow(), setTimeout() and clearTimeout()',
      value,
      TypeError,
    );
  }
}
