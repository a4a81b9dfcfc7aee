import {createHmac, randomBytes, timingSafeEqual} from 'node:crypto';

/** Bytes of randomness in every session id (128 bits: unguessable, MCP 2025-11-25 basic/transports, Session Management). */
const NONCE_BYTES = 16;
/** Shortest session key accepted, in bytes: an HMAC-SHA256 key shorter than this is easy to search. */
export const MIN_KEY_BYTES = 32;
/** Domain separation, so that a MAC made by these keys for anything else never verifies as a session id. */
const CONTEXT = 'kube-mcp-router session id v1';

function mac(key: Buffer, owner: string, nonce: Buffer): Buffer {
  return createHmac('sha256', key).update(CONTEXT).update('\0').update(owner).update('\0').update(nonce).digest();
}

/**
 * A session id that carries the address of the pod that owns the session (`host:port`), signed with `key` (pure but
 * for the random nonce): `<owner>.<nonce>.<mac>`, each part base64url, so the id is visible ASCII as MCP 2025-11-25
 * basic/transports asks. Clients treat it as opaque; the owner is encoded, not hidden (pod addresses are no secret).
 */
export function signSessionId(owner: string, key: Buffer, nonce: Buffer = randomBytes(NONCE_BYTES)): string {
  const encode = (bytes: Buffer) => bytes.toString('base64url');
  return `${encode(Buffer.from(owner))}.${encode(nonce)}.${encode(mac(key, owner, nonce))}`;
}

/**
 * The owner (`host:port`) of a session id that one of `keys` signed (pure); undefined for an id that is malformed,
 * forged or tampered with, or signed by a key no longer in the list. MACs are compared in constant time.
 */
export function verifySessionId(id: string, keys: readonly Buffer[]): string | undefined {
  const parts = id.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) return undefined;
  const [owner, nonce, given] = parts.map((part) => Buffer.from(part, 'base64url')) as [Buffer, Buffer, Buffer];
  if (nonce.length !== NONCE_BYTES) return undefined;
  const ownerText = owner.toString();
  for (const key of keys) {
    const expected = mac(key, ownerText, nonce);
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
 * Makes and reads the session ids of one router process: signed with the first of `keys`, carrying `owner` (this
 * pod's `host:port`, as its peers reach it). Without keys a random one of this process is used: ids are then valid
 * on this process only.
 */
export class SessionIds {
  readonly owner: string;
  readonly #keys: readonly Buffer[];

  constructor(options: {owner: string; keys?: readonly Buffer[]}) {
    this.owner = options.owner;
    this.#keys = options.keys && options.keys.length > 0 ? options.keys : [randomBytes(MIN_KEY_BYTES)];
  }

  /** A new, unguessable session id owned by this process. */
  newId(): string {
    return signSessionId(this.owner, this.#keys[0] as Buffer);
  }

  /** The owner of `id`, or undefined when no key of this process signed it. */
  ownerOf(id: string): string | undefined {
    return verifySessionId(id, this.#keys);
  }
}
