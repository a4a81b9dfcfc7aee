import type {UpstreamConfig} from '../config/schema.js';

/** What stands in for a secret in redacted text. */
export const REDACTED = '***';

/**
 * Secrets shorter than this are not searched for in free text: replacing every `1` or `on` would garble messages and
 * hide nothing. URL userinfo is removed by its syntax, whatever its length.
 */
export const MIN_SECRET_LENGTH = 4;

/** `scheme://userinfo@`: the userinfo of any URL in free text (RFC 3986 section 3.2.1). */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/gi;

/**
 * `url` without its userinfo: `http://user:token@host/mcp` becomes `http://***@host/mcp`. Text that is not a URL
 * is returned with any `scheme://userinfo@` in it replaced the same way.
 */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, `$1${REDACTED}@`);
}

/**
 * `text` with every occurrence of each secret (at least `MIN_SECRET_LENGTH` characters) replaced by `***`, longest
 * secret first, and the userinfo of every URL in it removed (`redactUrl`). Pure; for free text such as error
 * messages, whose shape a pino redact path cannot name.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = redactUrl(text);
  const searched = [...new Set(secrets)]
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  for (const secret of searched) out = out.split(secret).join(REDACTED);
  return out;
}

/**
 * The secrets of one upstream, for `redact`: for a URL, its userinfo (raw and percent-decoded, whole and each part)
 * and the Basic credentials made from it; every configured header value, and for `Scheme credentials` values the
 * credentials alone; for stdio, every configured env value.
 */
export function secretsOf(config: UpstreamConfig): string[] {
  if (config.transport === 'stdio') return Object.values(config.env);
  if (config.transport === 'builtin') return [];
  const secrets: string[] = [];
  for (const value of Object.values(config.headers)) {
    secrets.push(value);
    const credentials = /^\S+\s+(\S.*)$/.exec(value)?.[1];
    if (credentials) secrets.push(credentials);
  }
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]*)@/i.exec(config.url)?.[1];
  if (userinfo) {
    const [username = '', password = ''] = userinfo.split(/:(.*)/s);
    const decoded = [username, password].map(safeDecode);
    secrets.push(userinfo, username, password, ...decoded, decoded.join(':'));
    secrets.push(Buffer.from(decoded.join(':')).toString('base64'));
  }
  return secrets.filter((s) => s.length > 0);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
