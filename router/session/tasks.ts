import type {JsonObject} from '../upstream/connection.js';

/** Where a downstream task id leads: the upstream that runs the task and its own id for it. */
export interface TaskRoute {
  upstream: string;
  taskId: string;
}

/** The `_meta` key that ties a message to a task (MCP 2025-11-25 basic/utilities/tasks). */
export const RELATED_TASK = 'io.modelcontextprotocol/related-task';

/**
 * The tasks (MCP 2025-11-25 basic/utilities/tasks, SEP-1686) one downstream session created, with their ids as the
 * client knows them. On the aggregate a task id is `<prefix><separator><upstream's id>`, so that ids of different
 * upstreams cannot collide; on a per-upstream path it is the upstream's own. A session reaches only its own tasks:
 * an id it did not get from the router is unknown, whoever else's task it is.
 */
export class SessionTasks {
  readonly #routes = new Map<string, TaskRoute>();
  readonly #ids = new Map<string, string>();

  /** `naming`: how the session names a task id of `upstream` (its prefix, or unchanged). */
  constructor(readonly naming: (upstream: string, taskId: string) => string) {}

  /** Records a task an upstream created for this session; returns its downstream id. */
  adopt(upstream: string, taskId: string): string {
    const key = `${upstream}\n${taskId}`;
    const known = this.#ids.get(key);
    if (known !== undefined) return known;
    const id = this.naming(upstream, taskId);
    this.#routes.set(id, {upstream, taskId});
    this.#ids.set(key, id);
    return id;
  }

  resolve(id: string): TaskRoute | undefined {
    return this.#routes.get(id);
  }

  /** The downstream id of an upstream's task, when this session created it. */
  idOf(upstream: string, taskId: string): string | undefined {
    return this.#ids.get(`${upstream}\n${taskId}`);
  }

  /** The upstreams this session has tasks on. */
  upstreams(): string[] {
    return [...new Set([...this.#routes.values()].map((route) => route.upstream))];
  }
}

/**
 * A result or notification with every task id of `upstream` renamed by `rename` (pure): `task.taskId` of a
 * CreateTaskResult, `taskId` of a Task, `tasks[].taskId` of a list, and `_meta[related-task].taskId`. An id that
 * `rename` gives undefined for is left out of lists and kept elsewhere.
 */
export function renameTaskIds(value: JsonObject, rename: (taskId: string) => string | undefined): JsonObject {
  const named = (task: JsonObject): JsonObject => {
    const id = typeof task.taskId === 'string' ? rename(task.taskId) : undefined;
    return id === undefined ? task : {...task, taskId: id};
  };
  const out: JsonObject = typeof value.taskId === 'string' ? named(value) : {...value};
  if (typeof value.task === 'object' && value.task !== null) out.task = named(value.task as JsonObject);
  if (Array.isArray(value.tasks)) {
    out.tasks = (value.tasks as JsonObject[])
      .filter((task) => typeof task.taskId === 'string' && rename(task.taskId) !== undefined)
      .map(named);
  }
  const meta = value._meta as JsonObject | undefined;
  const related = meta?.[RELATED_TASK] as JsonObject | undefined;
  if (meta && related) out._meta = {...meta, [RELATED_TASK]: named(related)};
  return out;
}
