import type {IncomingHttpHeaders, IncomingMessage} from 'node:http';

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether a JSON text nests arrays and objects deeper than `maxDepth` (pure, one pass over the bytes, no recursion),
 * so that a body nested thousands of levels deep is refused before anything parses or walks it recursively.
 * Brackets inside strings do not count.
 */
export function nestedDeeperThan(json: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * How the MCP routes read a request body, from its headers: `none` when it has no body or is not
 * `application/json` (left unparsed, as body-parser leaves it), `plain` for UTF-8 JSON without a content coding,
 * which {@link readJsonBody} reads, and `other` for a compressed body or another charset, which body-parser reads.
 */
export function jsonBodyKind(headers: IncomingHttpHeaders): 'none' | 'plain' | 'other' {
  // A request has a body when it declares one (RFC 9112 section 6.3), as type-is's `hasBody` says.
  if (headers['transfer-encoding'] === undefined && Number.isNaN(Number.parseInt(headers['content-length'] ?? '')))
    return 'none';
  const [type = '', ...parameters] = (headers['content-type'] ?? '').split(';');
  if (type.trim().toLowerCase() !== 'application/json') return 'none';
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return 'other';
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=');
    if (name.trim().toLowerCase() !== 'charset') continue;
    if (value.trim().replace(/^"|"$/g, '').toLowerCase() !== 'utf-8') return 'other';
  }
  return 'plain';
}

/** A body the MCP routes refuse, with the `type` body-parser gives the same failure (the app maps it to a status). */
export class BodyError extends Error {
  /** The HTTP status of the refusal: 413 for `entity.too.large`, 400 otherwise. */
  readonly status: number;

  constructor(readonly type: 'entity.too.large' | 'entity.parse.failed' | 'entity.too.deep' | 'request.aborted') {
    super(type);
    this.status = type === 'entity.too.large' ? 413 : 400;
  }
}

/**
 * Reads and parses a UTF-8 JSON request body (`jsonBodyKind` says `plain`) as body-parser's strict JSON parser
 * does: an empty body is `{}`, and only an object or an array is JSON here. One pass over the chunks, no stream
 * machinery per request.
 * @param maxBytes largest body in bytes; a declared `Content-Length` over it is refused before reading
 * @param maxDepth deepest nesting of arrays and objects
 * @throws BodyError `entity.too.large`, `entity.parse.failed`, `entity.too.deep`, or `request.aborted` when the
 *   request fails while being read
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number, maxDepth: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > maxBytes) {
      req.resume();
      return reject(new BodyError('entity.too.large'));
    }
    const chunks: Buffer[] = [];
    let received = 0;
    const done = (error?: BodyError) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onError);
      if (error) return reject(error);
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received);
      try {
        resolve(parseStrict(body, maxDepth));
      } catch (failure) {
        reject(failure);
      }
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) {
        req.resume();
        return done(new BodyError('entity.too.large'));
      }
      chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = () => done(new BodyError('request.aborted'));
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onError);
  });
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** A UTF-8 byte order mark, which iconv (body-parser's decoder) drops. */
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function parseStrict(bytes: Buffer, maxDepth: number): unknown {
  const body = bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
  let first = 0;
  while (first < body.length && WHITESPACE.has(body[first] as number)) first++;
  if (body.length === 0) return {};
  if (body[first] !== OPEN_BRACE && body[first] !== OPEN_BRACKET) throw new BodyError('entity.parse.failed');
  if (nestedDeeperThan(body, maxDepth)) throw new BodyError('entity.too.deep');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BodyError('entity.parse.failed');
  }
}
