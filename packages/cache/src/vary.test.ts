import { describe, expect, it } from 'vitest';
import { parseVary, variantKey } from './vary.js';

describe('parseVary', () => {
  it('lists field names lowercase, sorted and once each', () => {
    expect(parseVary('Accept-Language, accept-encoding, Accept-Language')).toEqual({
      kind: 'names',
      names: ['accept-encoding', 'accept-language'],
    });
  });

  it('recognises the wildcard anywhere in the list', () => {
    expect(parseVary('*')).toEqual({ kind: 'wildcard' });
    expect(parseVary('accept, *')).toEqual({ kind: 'wildcard' });
  });

  it('rejects a list with a name that is not a token', () => {
    expect(parseVary('accept language')).toEqual({ kind: 'invalid' });
    expect(parseVary('x"y')).toEqual({ kind: 'invalid' });
  });

  it('reads an absent or empty field as no variance', () => {
    expect(parseVary(undefined)).toEqual({ kind: 'none' });
    expect(parseVary(' , ')).toEqual({ kind: 'none' });
  });
});

describe('variantKey', () => {
  const names = ['accept-encoding', 'accept-language'];

  it('is equal for requests with equal values, whatever their header case', () => {
    expect(variantKey(names, { 'accept-language': 'en', 'accept-encoding': 'gzip' })).toBe(
      variantKey(names, { 'Accept-Language': 'en', 'ACCEPT-ENCODING': 'gzip' }),
    );
  });

  it('reads Headers objects as well as records', () => {
    expect(variantKey(names, new Headers({ 'accept-language': 'en' }))).toBe(
      variantKey(names, { 'accept-language': 'en' }),
    );
  });

  it('differs for different values', () => {
    expect(variantKey(names, { 'accept-language': 'en' })).not.toBe(
      variantKey(names, { 'accept-language': 'de' }),
    );
  });

  it('tells an absent field from an empty one', () => {
    expect(variantKey(names, {})).not.toBe(variantKey(names, { 'accept-language': '' }));
  });

  it('ignores whitespace around list commas', () => {
    expect(variantKey(names, { 'accept-encoding': 'gzip,  br' })).toBe(
      variantKey(names, { 'accept-encoding': ' gzip , br ' }),
    );
  });

  it('cannot be confused by a value that imitates the encoding of two fields', () => {
    expect(variantKey(['a', 'b'], { a: 'x","y', b: undefined })).not.toBe(
      variantKey(['a', 'b'], { a: 'x', b: 'y' }),
    );
  });
});
