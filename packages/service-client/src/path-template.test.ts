import { describe, expect, expectTypeOf, it } from 'vitest';
import { type PathParams, PathTemplate } from './path-template.js';

const call = 'inventory.getItem';

describe('PathTemplate', () => {
  it('encodes each parameter with encodeURIComponent, so a value cannot add a segment or a query', () => {
    const template = new PathTemplate('/items/:id/parts/:part', 'path');
    expect(template.names).toEqual(['id', 'part']);
    expect(template.expand({ id: 'a/b?c=d#e', part: 7 }, call)).toBe(
      '/items/a%2Fb%3Fc%3Dd%23e/parts/7',
    );
    expect(template.expand({ id: 'é ü', part: -1.5 }, call)).toBe(
      '/items/%C3%A9%20%C3%BC/parts/-1.5',
    );
  });

  it('keeps a template without parameters as it is, trailing slash included', () => {
    expect(new PathTemplate('/items/', 'path').expand(undefined, call)).toBe('/items/');
    expect(new PathTemplate('/health', 'path').expand({}, call)).toBe('/health');
  });

  it('refuses a call that misses a parameter, or gives none at all', () => {
    const template = new PathTemplate('/items/:id/parts/:part', 'path');
    expect(() => template.expand({ id: '1' }, call)).toThrow(
      new TypeError('expected path parameter "part" for /items/:id/parts/:part, got none'),
    );
    expect(() => template.expand(undefined, call)).toThrow(
      new TypeError('expected params with "id", "part" for /items/:id/parts/:part, got none'),
    );
  });

  it('refuses a parameter the path does not have, naming the one it most likely means', () => {
    const template = new PathTemplate('/items/:id', 'path');
    expect(() => template.expand({ id: '1', idd: '2' }, call)).toThrow(
      new TypeError(
        'unknown option "params.idd" for inventory.getItem(); did you mean "id"? expected one of id',
      ),
    );
    expect(() => new PathTemplate('/health', 'path').expand({ id: '1' }, call)).toThrow(
      'unknown option "params.id" for inventory.getItem();',
    );
  });

  it.each([
    ['an object', { a: 1 }, TypeError, 'to be a string or a finite number, got an object'],
    ['a boolean', true, TypeError, 'to be a string or a finite number, got boolean'],
    ['NaN', Number.NaN, TypeError, 'to be a string or a finite number, got NaN'],
    ['Infinity', Infinity, TypeError, 'to be a string or a finite number, got Infinity'],
    ['an empty string', '', RangeError, 'to be 1 to 1024 characters, got ""'],
    ['"."', '.', RangeError, 'to name a resource, got ".", which would change the path'],
    ['".."', '..', RangeError, 'to name a resource, got "..", which would change the path'],
  ])('refuses %s as a parameter value', (_, value, Kind, message) => {
    const template = new PathTemplate('/items/:id', 'path');
    expect(() => template.expand({ id: value }, call)).toThrow(Kind);
    expect(() => template.expand({ id: value }, call)).toThrow(
      `expected path parameter "id" ${message}`,
    );
  });

  it('refuses params that are not an object', () => {
    expect(() => new PathTemplate('/items/:id', 'path').expand(['1'], call)).toThrow(
      new TypeError('expected params of inventory.getItem() to be an object, got an array'),
    );
  });

  it.each([
    ['no leading slash', 'items/:id', 'to start with "/"'],
    ['a query', '/items?x=1', 'to be made of segments of URL path characters'],
    ['a fragment', '/items#x', 'to be made of segments of URL path characters'],
    ['an empty segment', '/items//x', 'to be made of segments of URL path characters'],
    ['a dot segment', '/items/../admin', 'to be made of segments of URL path characters'],
    ['a bad escape', '/items/%zz', 'to be made of segments of URL path characters'],
    ['a bad parameter name', '/items/:1d', 'parameters to be :name'],
    ['a parameter twice', '/a/:id/b/:id', 'to name each parameter once, got :id twice'],
  ])('refuses a template with %s', (_, template, message) => {
    expect(() => new PathTemplate(template, 'path')).toThrow(TypeError);
    expect(() => new PathTemplate(template, 'path')).toThrow(message);
  });

  it('types params from the template: every parameter, strings or numbers', () => {
    expectTypeOf<PathParams<'/items/:id/parts/:part'>>().toEqualTypeOf<{
      readonly id: string | number;
      readonly part: string | number;
    }>();
    expectTypeOf<PathParams<'/items'>>().toEqualTypeOf<Record<never, never>>();
    expectTypeOf<PathParams<string>>().toEqualTypeOf<Readonly<Record<string, string | number>>>();
  });
});
