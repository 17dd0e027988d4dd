/**
 * How a client certificate's names are compared with a caller's `certificate` entry. Pure, so the
 * policy (which checks no two callers claim one name) and the request path read names the same way.
 */

/**
 * A subject as a comparison key: its attribute=value pairs, names upper-cased, sorted, so
 * `CN=billing,O=shop` matches whatever order the certificate lists them in. Every pair must match
 * and none may be extra. Kept structured (JSON of the pairs), so a value holding `,` cannot pose
 * as two pairs.
 */
export function subjectKey(policySubject: string): string {
  return keyOf(policySubject.split(','));
}

/** The key of `X509Certificate.subject`, which puts one `NAME=value` per line. */
export function certificateSubjectKey(x509Subject: string): string {
  return keyOf(x509Subject.split('\n').filter((line) => line !== ''));
}

function keyOf(pairs: readonly string[]): string {
  const parsed = pairs.map((pair) => {
    const equals = pair.indexOf('=');
    return [pair.slice(0, equals).toUpperCase(), pair.slice(equals + 1)] as const;
  });
  parsed.sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1));
  return JSON.stringify(parsed);
}

/**
 * The URI entries of `X509Certificate.subjectAltName` (`URI:spiffe://…, DNS:…`). Node writes a
 * value holding `, ` or quotes as a JSON string (CVE-2021-44532), so those are read as JSON, never
 * split: a crafted DNS name cannot smuggle in a URI entry.
 */
export function uriSubjectAltNames(subjectAltName: string | undefined): string[] {
  const uris: string[] = [];
  if (!subjectAltName) return uris;
  let at = 0;
  while (at < subjectAltName.length) {
    const colon = subjectAltName.indexOf(':', at);
    if (colon < 0) break;
    const type = subjectAltName.slice(at, colon);
    let value: string;
    let end: number;
    if (subjectAltName[colon + 1] === '"') {
      end = closingQuote(subjectAltName, colon + 2) + 1;
      const quoted = jsonString(subjectAltName.slice(colon + 1, end));
      // Not what Node writes: stop reading rather than guess (fewer names only ever match less).
      if (quoted === undefined) break;
      value = quoted;
    } else {
      end = subjectAltName.indexOf(', ', colon + 1);
      if (end < 0) end = subjectAltName.length;
      value = subjectAltName.slice(colon + 1, end);
    }
    if (type === 'URI') uris.push(value);
    at = end + 2;
  }
  return uris;
}

function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}

function jsonString(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
