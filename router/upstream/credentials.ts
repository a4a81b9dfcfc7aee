/** Where an HTTP upstream is reached, and the headers sent with every request. */
export interface RequestTarget {
  /** The URL without userinfo. */
  url: URL;
  headers: Record<string, string>;
}

/**
 * Moves the userinfo of an upstream URL into an `Authorization: Basic` header (RFC 7617), unless an `Authorization`
 * header is configured (in any case), which then wins and the userinfo is not sent.
 *
 * Fetch (WHATWG, and undici's in Node.js) rejects a URL with credentials ("Request cannot be constructed from a URL
 * that includes credentials") and would quote the whole URL in its error, so the URL passed on never carries them.
 * The user name and password are percent-decoded, as a browser does before encoding them in the header.
 * @throws TypeError when `url` is not a valid URL (the config schema has already checked it)
 */
export function requestTarget(url: string, headers: Record<string, string>): RequestTarget {
  const target = new URL(url);
  if (target.username === '' && target.password === '') return {url: target, headers: {...headers}};
  const basic = Buffer.from(`${decode(target.username)}:${decode(target.password)}`).toString('base64');
  target.username = '';
  target.password = '';
  const configured = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  return {url: target, headers: configured ? {...headers} : {...headers, Authorization: `Basic ${basic}`}};
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
