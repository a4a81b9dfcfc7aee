import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {connectClient, startTestRouter} from '../support/router.js';

// Tasks (MCP 2025-11-25 basic/utilities/tasks, SEP-1686) through the router: server-everything's
// simulate-research-query requires a task; creation, tasks/get, tasks/result and tasks/list reach the upstream that
// runs the task, with ids that cannot collide across upstreams, and a session reaches only its own tasks.
const everything = () => ({command: process.execPath, args: [serverEntry('server-everything'), 'stdio']});

describe('tasks', () => {
  let router: Awaited<ReturnType<typeof startTestRouter>>;
  beforeAll(async () => {
    router = await startTestRouter({mcpServers: {everything: everything(), second: everything()}});
  });
  afterAll(() => router?.stop());

  it.each([
    ['/mcp', 'everything__simulate-research-query', /^everything__/],
    ['/mcp/everything', 'simulate-research-query', /^(?!everything__)/],
  ])('on %s, a task-augmented call runs to its result', async (path, tool, idPattern) => {
    const {client, close} = await connectClient(`${router.url}${path}`);
    try {
      const created = await client.request(
        {method: 'tools/call', params: {name: tool, arguments: {topic: 'routers'}, task: {ttl: 60_000}}},
        CreateTaskResultSchema,
      );
      const {taskId} = created.task;
      expect(taskId).toMatch(idPattern);
      const status = await client.request({method: 'tasks/get', params: {taskId}}, GetTaskResultSchema);
      expect(status.taskId).toBe(taskId);
      expect(['working', 'completed']).toContain(status.status);
      const result = await client.request({method: 'tasks/result', params: {taskId}}, CallToolResultSchema);
      expect(JSON.stringify(result.content)).toContain('routers');
      const listed = await client.request({method: 'tasks/list', params: {}}, ListTasksResultSchema);
      expect(listed.tasks.map((t) => t.taskId)).toEqual([taskId]);
    } finally {
      await close();
    }
  });

  it('task ids of two upstreams do not collide, and each reaches its own upstream', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      const ids = await Promise.all(
        ['everything', 'second'].map(async (prefix) => {
          const created = await client.request(
            {
              method: 'tools/call',
              params: {name: `${prefix}__simulate-research-query`, arguments: {topic: prefix}, task: {ttl: 60_000}},
            },
            CreateTaskResultSchema,
          );
          return created.task.taskId;
        }),
      );
      expect(new Set(ids).size).toBe(2);
      const listed = await client.request({method: 'tasks/list', params: {}}, ListTasksResultSchema);
      expect(listed.tasks.map((t) => t.taskId).sort()).toEqual([...ids].sort());
      const second = await client.request(
        {method: 'tasks/result', params: {taskId: ids[1] as string}},
        CallToolResultSchema,
      );
      expect(JSON.stringify(second.content)).toContain('second');
    } finally {
      await close();
    }
  });

  it("a session cannot reach another session's task", async () => {
    const owner = await connectClient(`${router.url}/mcp`);
    const other = await connectClient(`${router.url}/mcp`);
    try {
      const created = await owner.client.request(
        {
          method: 'tools/call',
          params: {name: 'everything__simulate-research-query', arguments: {topic: 'mine'}, task: {ttl: 60_000}},
        },
        CreateTaskResultSchema,
      );
      const {taskId} = created.task;
      await expect(other.client.request({method: 'tasks/get', params: {taskId}}, GetTaskResultSchema)).rejects.toThrow(
        `Unknown task "${taskId}"`,
      );
      expect((await other.client.request({method: 'tasks/list', params: {}}, ListTasksResultSchema)).tasks).toEqual([]);
    } finally {
      await Promise.all([owner.close(), other.close()]);
    }
  });
});
