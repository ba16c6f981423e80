import { checkKnownOptions, describeValue } from '@bulwark/core/internal';

/**
 * The names of a path template's parameters, each a whole segment: `'/items/:id/parts/:part'`
 * gives `'id' | 'part'`.
 */
export type PathParamNames<Path extends string> =
  Path extends `${string}/:${infer Name}/${infer Rest}`
    ? Name | PathParamNames<`/${Rest}`>
    : Path extends `${string}/:${infer Name}`
      ? Name
      : never;

/**
 * The `params` of a call: one string or number per parameter of the path, when the path is
 * known to the compiler; any names when it is only known as a `string`.
 */
export type PathParams<Path extends string> = string extends Path
  ? Readonly<Record<string, string | number>>
  : { readonly [Name in PathParamNames<Path>]: string | number };

/** Longer than this, a path is data, not a template. */
const MAX_TEMPLATE_LENGTH = 2048;
/** A value longer than this is not an identifier. */
const MAX_PARAM_LENGTH = 1024;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 3986 §3.3: a segment is pchars, a percent sign only as part of an escape.
const LITERAL_SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=@]|%[0-9A-Fa-f]{2})+$/;

/**
 * A path such as `/items/:id`, checked once, and expanded per call with each parameter encoded
 * (`encodeURIComponent`) and checked: every parameter given and no other, strings and finite
 * numbers only, and no value that would change which resource the path names (empty, `.`, `..`:
 * a server or proxy collapses those, and `/`, which the encoding keeps from adding a segment).
 */
export class PathTemplate {
  /** The parameters, in order. */
  readonly names: readonly string[];
  /** The literal text between parameters: one more entry than `names`. */
  private readonly literals: readonly string[];

  constructor(
    readonly template: string,
    where: string,
  ) {
    checkTemplate(template, where);
    const names: string[] = [];
    const literals: string[] = [];
    let literal = '';
    const segments = template.split('/').slice(1);
    for (const segment of segments) {
      literal += '/';
      if (!segment.startsWith(':')) {
        literal += segment;
        continue;
      }
      const name = segment.slice(1);
      if (!PARAM_NAME.test(name)) {
        throw new TypeError(
          `expected ${where} parameters to be :name with a name of letters, digits and _ (not first), got ${describeValue(segment)}`,
        );
      }
      if (names.includes(name)) {
        throw new TypeError(`expected ${where} to name each parameter once, got :${name} twice`);
      }
      names.push(name);
      literals.push(literal);
      literal = '';
    }
    literals.push(literal);
    this.names = names;
    this.literals = literals;
  }

  /** The path for `params`, each value checked and encoded. `call` names the caller in messages. */
  expand(params: unknown, call: string): string {
    const names = this.names;
    if (names.length === 0) {
      if (params !== undefined) {
        checkParamsObject(params, call);
        checkKnownOptions(call, params, names, 'params');
      }
      return this.literals[0]!;
    }
    if (params === undefined) {
      throw new TypeError(
        `expected params with ${names.map((n) => `"${n}"`).join(', ')} for ${this.template}, got none`,
      );
    }
    checkParamsObject(params, call);
    checkKnownOptions(call, params, names, 'params');
    let path = this.literals[0]!;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      path += encodeParam(name, (params as Record<string, unknown>)[name], this.template);
      path += this.literals[i + 1]!;
    }
    return path;
  }
}

function checkTemplate(template: unknown, where: string): asserts template is string {
  if (
    typeof template !== 'string' ||
    template.length === 0 ||
    template.length > MAX_TEMPLATE_LENGTH
  ) {
    throw new TypeError(
      `expected ${where} to be a path of 1 to ${MAX_TEMPLATE_LENGTH} characters such as "/items/:id", got ${describeValue(template)}`,
    );
  }
  if (!template.startsWith('/')) {
    throw new TypeError(`expected ${where} to start with "/", got ${describeValue(template)}`);
  }
  const segments = template.split('/').slice(1);
  segments.forEach((segment, i) => {
    // A trailing slash is a resource of its own (`/items/`); an empty segment inside is not.
    if (segment === '' && i === segments.length - 1) return;
    if (segment.startsWith(':')) return;
    if (segment === '.' || segment === '..' || !LITERAL_SEGMENT.test(segment)) {
      throw new TypeError(
        `expected ${where} to be made of segments of URL path characters (no query, fragment, empty, "." or ".." segment), got ${describeValue(template)}`,
      );
    }
  });
}

function checkParamsObject(params: unknown, call: string): asserts params is object {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new TypeError(
      `expected params of ${call}() to be an object, got ${describeValue(params)}`,
    );
  }
}

function encodeParam(name: string, value: unknown, template: string): string {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else if (typeof value === 'number' && Number.isFinite(value)) {
    text = String(value);
  } else if (value === undefined) {
    throw new TypeError(`expected path parameter "${name}" for ${template}, got none`);
  } else {
    throw new TypeError(
      `expected path parameter "${name}" to be a string or a finite number, got ${describeValue(value)}`,
    );
  }
  if (text.length === 0 || text.length > MAX_PARAM_LENGTH) {
    throw new RangeError(
      `expected path parameter "${name}" to be 1 to ${MAX_PARAM_LENGTH} characters, got ${describeValue(value)}`,
    );
  }
  if (text === '.' || text === '..') {
    // Encoding leaves dots alone, and a dot segment would move the request to another resource.
    throw new RangeError(
      `expected path parameter "${name}" to name a resource, got "${text}", which would change the path`,
    );
  }
  return encodeURIComponent(text);
}
