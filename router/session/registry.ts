import {randomUUID} from 'node:crypto';
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import type {DownstreamTransport} from '../router.js';
import type {DownstreamSession, Scope} from './downstream.js';

/** A live downstream session and the transport it came on. */
export interface SessionEntry<T extends Transport = Transport> {
  session: DownstreamSession;
  transport: T;
  kind: DownstreamTransport;
}

/**
 * The sessions of this router process by id. Ids are visible ASCII (MCP 2025-11-25 basic/transports, Session
 * Management). Ids are made here so that they can later carry the owning pod, signed, for forwarding between replicas
 * (DESIGN.md, Several router replicas); the SDK's SSE transport still makes its own.
 */
export class SessionRegistry {
  readonly #entries = new Map<string, SessionEntry>();

  newId(): string {
    return randomUUID();
  }

  add(id: string, entry: SessionEntry): void {
    this.#entries.set(id, entry);
  }

  /** The entry for an id, when it exists, came on `kind` and serves `scope`; a session is bound to its endpoint. */
  find<T extends Transport>(id: string, kind: DownstreamTransport, scope?: Scope): SessionEntry<T> | undefined {
    const entry = this.#entries.get(id);
    if (!entry || entry.kind !== kind) return undefined;
    if (scope && !sameScope(entry.session.scope, scope)) return undefined;
    return entry as SessionEntry<T>;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.#entries.delete(id);
  }

  get size(): number {
    return this.#entries.size;
  }
}

export function sameScope(a: Scope, b: Scope): boolean {
  return a.kind === b.kind && (a.kind === 'aggregate' || a.name === (b as {name: string}).name);
}
