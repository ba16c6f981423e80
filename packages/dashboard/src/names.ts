/**
 * What the page may show of a name an event carries (an operation, a breaker key, an endpoint,
 * a check): names chosen by the application, but a key can be an origin or a URL, and a URL can
 * carry credentials or a token in its query. The page shows neither, nor anything long enough
 * to be an identifier rather than a name.
 */

/** Longer names are cut: a name that long is an ID or a URL, not a name (the metrics' bound). */
export const MAX_NAME_LENGTH = 128;

// Control characters, and the bidirectional overrides that make text read other than it is.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi;

/** The name as the page shows it: no query, fragment or credentials, printable, bounded. */
export function displayName(name: string): string {
  let shown = name;
  const cut = shown.search(/[?#]/);
  if (cut !== -1) shown = shown.slice(0, cut);
  shown = shown.replace(USERINFO, '$1').replace(UNPRINTABLE, '');
  if (shown.length > MAX_NAME_LENGTH) shown = `${shown.slice(0, MAX_NAME_LENGTH - 1)}…`;
  return shown;
}

/** Text for HTML: the five characters that could end an element or an attribute, escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
