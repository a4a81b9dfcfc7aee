import type {Logger} from 'pino';
import {EVENTS, isStatus, type KubeClient, type KubeObject} from './kube.js';
import {messageOf} from './errors.js';

/**
 * Records Kubernetes Events (core/v1) on objects, for `kubectl describe` readers, like client-go's EventRecorder:
 * an Event repeated (same object, type, reason and message) within 10 minutes increments the `count` of the first
 * one instead of creating another. Recording never fails a reconcile: errors are logged and dropped.
 */

export type EventType = 'Normal' | 'Warning';

const AGGREGATION_WINDOW_MS = 10 * 60 * 1000;
const MAX_REMEMBERED = 4096;

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #component: string;
  readonly #instance: string;
  readonly #recent = new Map<string, {name: string; count: number; at: number}>();
  #sequence = 0;

  /**
   * @param component reported as `source.component` and `reportingComponent`, e.g. kube-mcp-router-operator
   * @param instance reported as `reportingInstance` (the leader election identity)
   */
  constructor(client: KubeClient, log: Logger, component: string, instance: string) {
    this.#client = client;
    this.#log = log;
    this.#component = component;
    this.#instance = instance;
  }

  /** Records an Event on `object` (which needs apiVersion, kind, metadata.name, namespace and uid). */
  async record(object: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = object.metadata?.namespace ?? 'default';
    const name = object.metadata?.name ?? '';
    const uid = object.metadata?.uid ?? '';
    const key = JSON.stringify([uid, type, reason, message]);
    const now = new Date();
    const timestamp = `${now.toISOString().slice(0, 19)}Z`;
    const seen = this.#recent.get(key);
    try {
      if (seen && now.getTime() - seen.at < AGGREGATION_WINDOW_MS) {
        try {
          await this.#client.mergePatch(
            EVENTS,
            namespace,
            seen.name,
            {count: seen.count + 1, lastTimestamp: timestamp},
            this.#component,
          );
          seen.count += 1;
          return;
        } catch (error) {
          if (!isStatus(error, 404)) throw error;
        }
      }
      const eventName = `${name}.${(now.getTime() * 1000 + (this.#sequence++ % 1000)).toString(16)}`;
      await this.#client.create(
        EVENTS,
        namespace,
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: {name: eventName, namespace},
          involvedObject: {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name,
            namespace,
            uid,
          },
          type,
          reason,
          message,
          count: 1,
          firstTimestamp: timestamp,
          lastTimestamp: timestamp,
          source: {component: this.#component},
          reportingComponent: this.#component,
          reportingInstance: this.#instance,
        },
        this.#component,
      );
      this.#recent.set(key, {name: eventName, count: 1, at: now.getTime()});
      if (this.#recent.size > MAX_REMEMBERED) this.#recent.delete(this.#recent.keys().next().value as string);
    } catch (error) {
      this.#log.warn({err: messageOf(error), reason, object: `${namespace}/${name}`}, 'Failed to record an Event');
    }
  }
}
