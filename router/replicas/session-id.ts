import {createHmac, randomBytes, timingSafeEqual} from 'node:crypto';

/** Bytes of randomness in every session id (128 bits: unguessable, MCP 2025-11-25 basic/transports, Session Management). */
const NONCE_BYTES = 16;
/** Shortest session key accepted, in bytes: an HMAC-SHA256 key shorter than this is easy to search. */
export const MIN_KEY_BYTES = 32;

/**
 * What an owned id names: a 2025-era session (`Mcp-Session-Id`, `?sessionId=`), the `requestState` of an
 * `input_required` round the pod holds for a 2026-07-28 client (`session/rounds.ts`), or content cut from a result
 * (`router://results/{id}`, `results/store.ts`). Each kind is its own MAC domain, so an id of one kind never verifies
 * as another.
 */
export type IdKind = 'session' | 'requestState' | 'result';

function mac(key: Buffer, kind: IdKind, owner: string, nonce: Buffer): Buffer {
  // Domain separation: a MAC made by these keys for anything else never verifies as an id of this kind.
  const context = `kube-mcp-router ${kind} id v1`;
  return createHmac('sha256', key).update(context).update('\0').update(owner).update('\0').update(nonce).digest();
}

/**
 * An id that carries the address of the pod that owns what it names (`host:port`), signed with `key` (pure but for
 * the random nonce): `<owner>.<nonce>.<mac>`, each part base64url, so the id is visible ASCII as MCP 2025-11-25
 * basic/transports asks of session ids. Clients treat it as opaque; the owner is encoded, not hidden (pod addresses
 * are no secret). `kind` defaults to a session id.
 */
export function signSessionId(
  owner: string,
  key: Buffer,
  nonce: Buffer = randomBytes(NONCE_BYTES),
  kind: IdKind = 'session',
): string {
  const encode = (bytes: Buffer) => bytes.toString('base64url');
  return `${encode(Buffer.from(owner))}.${encode(nonce)}.${encode(mac(key, kind, owner, nonce))}`;
}

/**
 * The owner (`host:port`) of an id of `kind` (default a session id) that one of `keys` signed (pure); undefined for an
 * id that is malformed, forged or tampered with, of another kind, or signed by a key no longer in the list. MACs are
 * compared in constant time.
 */
export function verifySessionId(id: string, keys: readonly Buffer[], kind: IdKind = 'session'): string | undefined {
  const parts = id.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) return undefined;
  const [owner, nonce, given] = parts.map((part) => Buffer.from(part, 'base64url')) as [Buffer, Buffer, Buffer];
  if (nonce.length !== NONCE_BYTES) return undefined;
  const ownerText = owner.toString();
  for (const key of keys) {
    const expected = mac(key, kind, ownerText, nonce);
    if (expected.length === given.length && timingSafeEqual(expected, given)) return ownerText;
  }
  return undefined;
}

/**
 * Session keys from their text (pure): one key per line or comma, blank entries ignored. The first key signs new ids;
 * every key verifies, so that a key is rotated by putting a new one first, and dropped once no session signed by it
 * is left (sessionIdleSeconds after every pod signs with the new one).
 * @throws Error naming the entry when a key is shorter than MIN_KEY_BYTES bytes, or when there is none
 */
export function parseSessionKeys(text: string, source: string): Buffer[] {
  const keys = text
    .split(/[\n,]/)
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => Buffer.from(entry));
  if (keys.length === 0) throw new Error(`${source}: no session key`);
  const short = keys.findIndex((key) => key.length < MIN_KEY_BYTES);
  if (short >= 0) throw new Error(`${source}: key ${short + 1} is shorter than ${MIN_KEY_BYTES} bytes`);
  return keys;
}

/**
 * Makes and reads the owned ids of one router process (session ids, `requestState`s, cut-result ids): signed with the
 * first of `keys`, carrying `owner` (this pod's `host:port`, as its peers reach it). Without keys a random one of this
 * process is used: ids are then valid on this process only.
 */
export class SessionIds {
  readonly owner: string;
  readonly #keys: readonly Buffer[];

  constructor(options: {owner: string; keys?: readonly Buffer[]}) {
    this.owner = options.owner;
    this.#keys = options.keys && options.keys.length > 0 ? options.keys : [randomBytes(MIN_KEY_BYTES)];
  }

  /** A new, unguessable id of `kind` (default a session id) owned by this process. */
  newId(kind: IdKind = 'session'): string {
    return signSessionId(this.owner, this.#keys[0] as Buffer, undefined, kind);
  }

  /** The owner of an id of `kind` (default a session id), or undefined when no key of this process signed it. */
  ownerOf(id: string, kind: IdKind = 'session'): string | undefined {
    return verifySessionId(id, this.#keys, kind);
  }
}
