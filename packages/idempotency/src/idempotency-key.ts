/** The header, lowercase as Node exposes it. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Long enough for any UUID, ULID or hash; short enough that a key costs nothing to hold. */
export const DEFAULT_MAX_KEY_LENGTH = 256;

/** Why a key was refused. None of these echo the key. */
export type KeyProblem = 'empty' | 'too-long' | 'characters' | 'syntax' | 'multiple';

export type ParsedKey =
  | { readonly ok: true; readonly key: string }
  | { readonly ok: false; readonly problem: KeyProblem };

// RFC 9110 tchar, plus ':' and '/' which RFC 8941 sf-token allows: UUIDs, ULIDs and
// base64url keys are tokens in this sense even where they start with a digit.
const TOKEN_CHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z:/]+$/;

function isPrintableAscii(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

function hasNonPrintable(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (!isPrintableAscii(value.charCodeAt(i))) return true;
  }
  return false;
}

/** Parses an RFC 8941 sf-string (with its quotes) that must fill the whole value. */
function parseSfString(value: string): string | undefined {
  let out = '';
  for (let i = 1; i < value.length; i++) {
    const char = value[i]!;
    if (char === '\\') {
      const next = value[i + 1];
      if (next !== '"' && next !== '\\') return undefined;
      out += next;
      i++;
    } else if (char === '"') {
      // Parameters and anything else after the closing quote are refused, not ignored.
      return i === value.length - 1 ? out : undefined;
    } else {
      out += char;
    }
  }
  return undefined;
}

/**
 * Validates an Idempotency-Key field value before anything else touches it: one value, printable
 * ASCII only, an RFC 8941 string (`"..."`) or a bare token, at most `maxLength` characters once
 * unquoted. Oversized input is refused by length before it is scanned.
 */
export function parseIdempotencyKey(raw: string | readonly string[], maxLength: number): ParsedKey {
  let value: string;
  if (typeof raw === 'string') {
    value = raw;
  } else {
    if (raw.length !== 1) return { ok: false, problem: 'multiple' };
    value = raw[0]!;
  }
  // A quoted key escapes at most every character: twice the limit plus quotes bounds any valid
  // value, so a 100 KB header is refused without being read.
  if (value.length > maxLength * 2 + 4) return { ok: false, problem: 'too-long' };
  value = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (value.length === 0) return { ok: false, problem: 'empty' };
  if (hasNonPrintable(value)) return { ok: false, problem: 'characters' };
  let key: string | undefined;
  if (value.startsWith('"')) {
    key = parseSfString(value);
  } else {
    key = TOKEN_CHAR.test(value) ? value : undefined;
  }
  if (key === undefined) return { ok: false, problem: 'syntax' };
  if (key.length === 0) return { ok: false, problem: 'empty' };
  if (key.length > maxLength) return { ok: false, problem: 'too-long' };
  return { ok: true, key };
}
