import { describe, expect, it } from 'vitest';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkNumber,
  checkObject,
  checkOneOf,
  checkOptionsObject,
  checkString,
  describeValue,
  optionNames,
} from './validate.js';

describe('describeValue', () => {
  it.each([
    [null, 'null'],
    [undefined, 'undefined'],
    [-1, '-1'],
    [1.5, '1.5'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    ['abc', '"abc"'],
    ['', '""'],
    [5n, '5n'],
    [() => 1, 'a function'],
    [[1, 2], 'an array'],
    [{ a: 1 }, 'an object'],
    [true, 'boolean'],
    [Symbol('s'), 'symbol'],
  ])('renders %s as %s', (value, shown) => {
    expect(describeValue(value)).toBe(shown);
  });

  it('keeps a string of exactly 40 characters whole', () => {
    const value = 'x'.repeat(40);
    expect(describeValue(value)).toBe(`"${value}"`);
  });

  it('truncates strings longer than 40 characters with an ellipsis', () => {
    expect(describeValue('y'.repeat(41))).toBe(`"${'y'.repeat(40)}…"`);
    expect(describeValue('z'.repeat(10_000))).toHaveLength(40 + 3);
  });

  it('escapes quotes and newlines so a message stays on one line', () => {
    expect(describeValue('a"b\nc')).toBe('"a\\"b\\nc"');
  });
});

describe('checkInteger', () => {
  it('accepts integers within the range', () => {
    expect(() => checkInteger('maxAttempts', 0)).not.toThrow();
    expect(() => checkInteger('maxAttempts', 3)).not.toThrow();
    expect(() => checkInteger('maxAttempts', Number.MAX_SAFE_INTEGER)).not.toThrow();
    expect(() => checkInteger('n', 10, 1, 10)).not.toThrow();
    expect(() => checkInteger('n', -5, -Infinity, 10)).not.toThrow();
  });

  it('rejects a value below the minimum with a RangeError saying what was expected and given', () => {
    expect(() => checkInteger('maxAttempts', -1)).toThrow(
      new RangeError('expected maxAttempts to be an integer >= 0, got -1'),
    );
    expect(() => checkInteger('maxAttempts', -1)).toThrow(RangeError);
  });

  it('rejects a fraction with a RangeError', () => {
    expect(() => checkInteger('maxAttempts', 1.5)).toThrow(
      new RangeError('expected maxAttempts to be an integer >= 0, got 1.5'),
    );
  });

  it('rejects NaN with a TypeError', () => {
    expect(() => checkInteger('maxAttempts', NaN)).toThrow(
      new TypeError('expected maxAttempts to be an integer >= 0, got NaN'),
    );
    expect(() => checkInteger('maxAttempts', NaN)).toThrow(TypeError);
  });

  it('rejects a numeric string with a TypeError', () => {
    expect(() => checkInteger('maxAttempts', '3')).toThrow(
      new TypeError('expected maxAttempts to be an integer >= 0, got "3"'),
    );
  });

  it('rejects other types with a TypeError', () => {
    expect(() => checkInteger('maxAttempts', undefined)).toThrow(
      new TypeError('expected maxAttempts to be an integer >= 0, got undefined'),
    );
    expect(() => checkInteger('maxAttempts', null)).toThrow(TypeError);
    expect(() => checkInteger('maxAttempts', {})).toThrow(
      new TypeError('expected maxAttempts to be an integer >= 0, got an object'),
    );
  });

  it('rejects Infinity unless allowInfinity is set', () => {
    expect(() => checkInteger('maxAttempts', Infinity)).toThrow(
      new RangeError('expected maxAttempts to be an integer >= 0, got Infinity'),
    );
    expect(() => checkInteger('maxAttempts', Infinity, 0, Infinity, true)).not.toThrow();
    expect(() => checkInteger('maxAttempts', -Infinity, 0, Infinity, true)).toThrow(RangeError);
  });

  it('names both bounds when the maximum is finite', () => {
    expect(() => checkInteger('limit', 11, 1, 10)).toThrow(
      new RangeError('expected limit to be an integer between 1 and 10, got 11'),
    );
    expect(() => checkInteger('limit', 0, 1, 10)).toThrow(
      new RangeError('expected limit to be an integer between 1 and 10, got 0'),
    );
  });

  it('names only the maximum when there is no minimum', () => {
    expect(() => checkInteger('offset', 11, -Infinity, 10)).toThrow(
      new RangeError('expected offset to be an integer <= 10, got 11'),
    );
  });

  it('names no bound when there is none', () => {
    expect(() => checkInteger('offset', 0.5, -Infinity, Infinity)).toThrow(
      new RangeError('expected offset to be an integer, got 0.5'),
    );
  });

  it('truncates a long string value in the message', () => {
    expect(() => checkInteger('maxAttempts', 'q'.repeat(100))).toThrow(
      new TypeError(`expected maxAttempts to be an integer >= 0, got "${'q'.repeat(40)}…"`),
    );
  });
});

describe('checkNumber', () => {
  it('accepts finite numbers within the range', () => {
    expect(() => checkNumber('delay', 0)).not.toThrow();
    expect(() => checkNumber('delay', 0.25)).not.toThrow();
    expect(() => checkNumber('jitter', 1, 0, 1)).not.toThrow();
  });

  it('rejects a value below the minimum with a RangeError', () => {
    expect(() => checkNumber('delay', -1)).toThrow(
      new RangeError('expected delay to be a finite number >= 0, got -1'),
    );
  });

  it('rejects a value above the maximum with a RangeError naming both bounds', () => {
    expect(() => checkNumber('jitter', 1.5, 0, 1)).toThrow(
      new RangeError('expected jitter to be a finite number between 0 and 1, got 1.5'),
    );
  });

  it('rejects Infinity with a RangeError', () => {
    expect(() => checkNumber('delay', Infinity)).toThrow(
      new RangeError('expected delay to be a finite number >= 0, got Infinity'),
    );
  });

  it('rejects NaN and non-numbers with a TypeError', () => {
    expect(() => checkNumber('delay', NaN)).toThrow(
      new TypeError('expected delay to be a number >= 0, got NaN'),
    );
    expect(() => checkNumber('delay', '5')).toThrow(
      new TypeError('expected delay to be a number >= 0, got "5"'),
    );
  });
});

describe('checkFunction', () => {
  it('accepts functions, including classes and async functions', () => {
    expect(() => checkFunction('listener', () => undefined)).not.toThrow();
    expect(() => checkFunction('listener', async () => undefined)).not.toThrow();
    expect(() => checkFunction('listener', class {})).not.toThrow();
  });

  it('rejects anything else with a TypeError', () => {
    expect(() => checkFunction('listener', 'log')).toThrow(
      new TypeError('expected listener to be a function, got "log"'),
    );
    expect(() => checkFunction('listener', {})).toThrow(
      new TypeError('expected listener to be a function, got an object'),
    );
    expect(() => checkFunction('listener', null)).toThrow(
      new TypeError('expected listener to be a function, got null'),
    );
  });
});

describe('checkString', () => {
  it('accepts a non-empty string up to the maximum length', () => {
    expect(() => checkString('name', 'a')).not.toThrow();
    expect(() => checkString('name', 'a'.repeat(256))).not.toThrow();
    expect(() => checkString('name', 'abc', 3)).not.toThrow();
  });

  it('rejects an empty string with a TypeError', () => {
    expect(() => checkString('name', '')).toThrow(
      new TypeError('expected name to be a non-empty string, got ""'),
    );
  });

  it('rejects non-strings with a TypeError', () => {
    expect(() => checkString('name', 42)).toThrow(
      new TypeError('expected name to be a non-empty string, got 42'),
    );
    expect(() => checkString('name', undefined)).toThrow(TypeError);
  });

  it('rejects a string over the maximum length with a RangeError and a truncated value', () => {
    expect(() => checkString('name', 'a'.repeat(257))).toThrow(
      new RangeError(
        `expected name to be a string of at most 256 characters, got "${'a'.repeat(40)}…"`,
      ),
    );
    expect(() => checkString('key', 'abcd', 3)).toThrow(
      new RangeError('expected key to be a string of at most 3 characters, got "abcd"'),
    );
  });
});

describe('checkBoolean', () => {
  it('accepts true and false', () => {
    expect(() => checkBoolean('enabled', true)).not.toThrow();
    expect(() => checkBoolean('enabled', false)).not.toThrow();
  });

  it('rejects truthy and falsy non-booleans with a TypeError', () => {
    expect(() => checkBoolean('enabled', 1)).toThrow(
      new TypeError('expected enabled to be a boolean, got 1'),
    );
    expect(() => checkBoolean('enabled', 'true')).toThrow(
      new TypeError('expected enabled to be a boolean, got "true"'),
    );
    expect(() => checkBoolean('enabled', undefined)).toThrow(TypeError);
  });
});

describe('checkOneOf', () => {
  const strategies = ['aggressive', 'cooperative'] as const;

  it('accepts each allowed value', () => {
    expect(() => checkOneOf('strategy', 'aggressive', strategies)).not.toThrow();
    expect(() => checkOneOf('strategy', 'cooperative', strategies)).not.toThrow();
  });

  it('rejects other values with a TypeError listing the allowed ones', () => {
    expect(() => checkOneOf('strategy', 'fast', strategies)).toThrow(
      new TypeError('expected strategy to be one of "aggressive", "cooperative", got "fast"'),
    );
    expect(() => checkOneOf('strategy', 1, strategies)).toThrow(
      new TypeError('expected strategy to be one of "aggressive", "cooperative", got 1'),
    );
  });
});

describe('checkOptionsObject', () => {
  it('accepts objects, empty or not', () => {
    expect(() => checkOptionsObject('retry', {})).not.toThrow();
    expect(() => checkOptionsObject('retry', { maxAttempts: 3 })).not.toThrow();
  });

  it('rejects null, arrays and primitives with a TypeError naming the factory', () => {
    expect(() => checkOptionsObject('retry', null)).toThrow(
      new TypeError('expected the options of retry() to be an object, got null'),
    );
    expect(() => checkOptionsObject('retry', [])).toThrow(
      new TypeError('expected the options of retry() to be an object, got an array'),
    );
    expect(() => checkOptionsObject('retry', 3)).toThrow(
      new TypeError('expected the options of retry() to be an object, got 3'),
    );
  });
});

describe('checkKnownOptions', () => {
  const names = ['maxAttempts', 'backoff', 'maxDelayMs', 'ttlMs', 'clock'];

  it('accepts known options, and an object without any', () => {
    expect(() => checkKnownOptions('retry', { maxAttempts: 3, clock: 1 }, names)).not.toThrow();
    expect(() => checkKnownOptions('retry', {}, names)).not.toThrow();
  });

  it('rejects an unknown option, suggesting the known one it misspells', () => {
    expect(() => checkKnownOptions('retry', { maxAttemps: 5 }, names)).toThrow(
      new TypeError(
        'unknown option "maxAttemps" for retry(); did you mean "maxAttempts"? expected one of maxAttempts, backoff, maxDelayMs, ttlMs, clock',
      ),
    );
  });

  it.each([
    ['a letter missing', 'bakoff', 'backoff'],
    ['a letter too many', 'backofff', 'backoff'],
    ['two letters swapped', 'maxAttmepts', 'maxAttempts'],
    ['a different case', 'MAXDELAYMS', 'maxDelayMs'],
    ['a forgotten unit suffix', 'ttl', 'ttlMs'],
    ['a forgotten unit suffix and a case slip', 'maxdelay', 'maxDelayMs'],
  ])('suggests the intended name for %s', (_label, typed, intended) => {
    expect(() => checkKnownOptions('retry', { [typed]: 1 }, names)).toThrow(
      `did you mean ${JSON.stringify(intended)}?`,
    );
  });

  it.each([
    ['an unrelated word', 'foo'],
    ['a one-letter key', 'x'],
    ['a name that only shares a prefix', 'maxRetries'],
    ['a short word two edits from a name (rock, clock)', 'rock'],
    ['the beginning of two names (max: maxAttempts, maxDelayMs)', 'max'],
  ])('suggests nothing for %s', (_label, typed) => {
    expect(() => checkKnownOptions('retry', { [typed]: 1 }, names)).toThrow(
      new TypeError(
        `unknown option ${JSON.stringify(typed)} for retry(); expected one of maxAttempts, backoff, maxDelayMs, ttlMs, clock`,
      ),
    );
  });

  it('names a nested option by its path and suggests the name within that object', () => {
    expect(() => checkKnownOptions('createHttpClient', { maxAttemps: 5 }, names, 'retry')).toThrow(
      new TypeError(
        'unknown option "retry.maxAttemps" for createHttpClient(); did you mean "maxAttempts"? expected one of maxAttempts, backoff, maxDelayMs, ttlMs, clock',
      ),
    );
  });

  it('ignores inherited properties, as a spread copy of the options would', () => {
    const options = Object.create({ inherited: true }) as object;
    expect(() => checkKnownOptions('retry', options, names)).not.toThrow();
  });
});

describe('checkObject', () => {
  it('accepts a plain object', () => {
    expect(() => checkObject('retry.budget', { ratio: 0.1 })).not.toThrow();
  });

  it.each([
    [null, 'null'],
    [[1], 'an array'],
    ['x', '"x"'],
    [() => 1, 'a function'],
  ])('rejects %s, naming the option', (value, shown) => {
    expect(() => checkObject('retry.budget', value)).toThrow(
      new TypeError(`expected retry.budget to be an object, got ${shown}`),
    );
  });
});

describe('optionNames', () => {
  interface Sample {
    maxAttempts?: number;
    clock?: object;
  }

  it('lists the names of an options type, in the order given', () => {
    expect(optionNames<Sample>({ maxAttempts: true, clock: true })).toEqual([
      'maxAttempts',
      'clock',
    ]);
  });

  it('does not compile with a name missing or one the type lacks', () => {
    // @ts-expect-error: clock is missing
    optionNames<Sample>({ maxAttempts: true });
    // @ts-expect-error: maxAttemps is not a name of Sample
    optionNames<Sample>({ maxAttempts: true, clock: true, maxAttemps: true });
    expect(optionNames<Sample>({ clock: true, maxAttempts: true })).toHaveLength(2);
  });
});
