import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import type {DownstreamTransport} from '../router.js';
import {PendingRequestIds} from './request-ids.js';
import {SessionIds} from '../replicas/session-id.js';
import {waitUntil} from '../wait.js';
import type {DownstreamSession, Scope} from '../session/downstream.js';

/** A live downstream session and the transport it came on. */
export interface SessionEntry<T extends Transport = Transport> {
  session: DownstreamSession;
  transport: T;
  kind: DownstreamTransport;
  /** HTTP requests of the session still open (a GET stream, a POST answered with a stream). */
  openRequests: number;
  /** When the last request of the session ended, in ms since the epoch. */
  lastSeen: number;
  /** Client requests of the session not answered yet, to refuse a second request with a pending id. */
  pending: PendingRequestIds;
}

/**
 * Whether a Streamable HTTP session has been idle for more than `idleMs` milliseconds (pure): no request open and
 * none for that long. SSE sessions end with their stream and are never idle in this sense.
 */
export function isIdle(
  entry: Pick<SessionEntry, 'kind' | 'openRequests' | 'lastSeen'>,
  now: number,
  idleMs: number,
): boolean {
  return entry.kind === 'streamableHttp' && entry.openRequests === 0 && now - entry.lastSeen > idleMs;
}

/**
 * The sessions of this router process by id. Ids are visible ASCII (MCP 2025-11-25 basic/transports, Session
 * Management), unguessable, and carry the owning pod, signed with the pods' shared key (`SessionIds`), so that
 * another pod forwards a request of the session here (DESIGN.md, Several router replicas).
 */
export class SessionRegistry {
  readonly #entries = new Map<string, SessionEntry>();
  /** Messages being sent to clients (a send may wait for the event store before it writes). */
  readonly #sending = new Set<Promise<void>>();
  readonly #ids: SessionIds;

  /** `ids`: how ids are signed; default a key of this process alone (ids valid here only). */
  constructor(ids: SessionIds = new SessionIds({owner: 'local'})) {
    this.#ids = ids;
  }

  /** A new session id, owned by this process (see `SessionIds.newId`). */
  newId(): string {
    return this.#ids.newId();
  }

  /** Registers a session; its transport's responses settle its pending request ids from now on. */
  add(id: string, entry: Omit<SessionEntry, 'openRequests' | 'lastSeen' | 'pending'>): SessionEntry {
    const added: SessionEntry = {...entry, openRequests: 0, lastSeen: Date.now(), pending: new PendingRequestIds()};
    const send = entry.transport.send.bind(entry.transport);
    entry.transport.send = (message, options) => {
      if ('id' in message && ('result' in message || 'error' in message)) added.pending.settle(message.id);
      const sending = send(message, options);
      this.#sending.add(sending);
      const sent = () => this.#sending.delete(sending);
      sending.then(sent, sent);
      return sending;
    };
    this.#entries.set(id, added);
    return added;
  }

  /**
   * Resolves when every client request has been answered and every answer written, or after `timeoutMs`
   * milliseconds: shutdown waits for it, so that no session is closed under an answer still on its way.
   */
  settled(timeoutMs: number): Promise<void> {
    const entries = this.#entries;
    return waitUntil(
      () => this.#sending.size === 0 && [...entries.values()].every((entry) => entry.pending.size === 0),
      timeoutMs,
    );
  }

  /** Counts the request behind `response` as open until the response closes. */
  trackRequest(entry: SessionEntry, response: NodeJS.EventEmitter): void {
    entry.openRequests++;
    response.once('close', () => {
      entry.openRequests--;
      entry.lastSeen = Date.now();
    });
  }

  /** Sessions idle for more than `idleMs` milliseconds at `now` (see `isIdle`). */
  idle(now: number, idleMs: number): SessionEntry[] {
    return [...this.#entries.values()].filter((entry) => isIdle(entry, now, idleMs));
  }

  /**
   * The entry for an id, when it exists, came on `kind`, serves `scope` and belongs to the principal `principalId`: a
   * session is bound to its endpoint and to the principal that opened it, and is not found by anyone else.
   */
  find<T extends Transport>(
    id: string,
    kind: DownstreamTransport,
    principalId: string,
    scope?: Scope,
  ): SessionEntry<T> | undefined {
    const entry = this.#entries.get(id);
    if (!entry || entry.kind !== kind || entry.session.principal.id !== principalId) return undefined;
    if (scope && !sameScope(entry.session.scope, scope)) return undefined;
    return entry as SessionEntry<T>;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.#entries.delete(id);
  }
}

export function sameScope(a: Scope, b: Scope): boolean {
  return a.kind === b.kind && (a.kind === 'aggregate' || a.name === (b as {name: string}).name);
}
