import {spawn} from 'node:child_process';
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js';
import {describe, expect, it} from 'vitest';
import {fixtureStdio} from '../../bench/processes.js';
import {serverEntry, startHttpServer} from '../support/mcp-servers.js';
import {writeConfig} from '../support/router.js';

// The CLI as a user runs it: `kube-mcp-router router ...`, from the TypeScript sources through tsx.
const CLI = ['--import', 'tsx', 'cli.ts', 'router'];

function run(args: string[]): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI, ...args], {stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({code, stdout, stderr}));
  });
}

describe('kube-mcp-router router', () => {
  it('reports on /metrics the heap V8 may hold, which follows the memory Node is given (ADR 0039)', async () => {
    const config = await writeConfig({mcpServers: {catalog: fixtureStdio(1)}});
    const heapLimitMiB = async (nodeFlags: string[]) => {
      const router = await startHttpServer({
        label: 'the router',
        args: (port) => [...nodeFlags, ...CLI, '--config', config, '--port', String(port), '--log-level', 'error'],
        path: '',
      });
      try {
        const metrics = await (await fetch(`${router.url}/metrics`)).text();
        return Number(/^mcp_router_heap_limit_bytes (\S+)$/m.exec(metrics)?.[1]) / 2 ** 20;
      } finally {
        await router.stop();
      }
    };
    // The heap of a pod limited to 1Gi (Node takes half a cgroup's memory limit), and of one limited to 512Mi. The
    // limit V8 reports adds its young generation: 524 MiB on Node.js 20, 560 on 22 and 704 on 24 for the first; a
    // bare process on a machine of 24 GiB gets about 4 GiB.
    const [pod, smaller] = [
      await heapLimitMiB(['--max-old-space-size=512']),
      await heapLimitMiB(['--max-old-space-size=256']),
    ];
    expect(pod).toBeGreaterThanOrEqual(512);
    expect(pod).toBeLessThan(1024);
    expect(smaller).toBeGreaterThanOrEqual(256);
    expect(smaller).toBeLessThan(pod);
  });

  it('rejects a bad config with exit code 2, naming each JSON path and reason', async () => {
    const file = await writeConfig({
      mcpServers: {
        good: {command: 'node'},
        remote: {type: 'http', url: 'not a url'},
        typo: {command: 'node', argz: []},
      },
      router: {toolNameSeparator: '::'},
    });
    const {code, stderr} = await run(['--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('mcpServers.remote.url');
    expect(stderr).toContain('Unrecognized key: "argz"');
    expect(stderr).toContain('router.toolNameSeparator');
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('rejects a config that is not JSON, and a missing file', async () => {
    const {code, stderr} = await run(['--config', 'examples/files/README.md']);
    expect(code).toBe(2);
    expect(stderr).toContain('not valid JSON');
    const missing = await run(['--config', 'no/such/file.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read the file: ENOENT');
  });

  it('names an unset ${VAR} with its path', async () => {
    const file = await writeConfig({
      mcpServers: {
        gh: {type: 'http', url: 'http://127.0.0.1:1/mcp', headers: {Authorization: 'Bearer ${NO_SUCH_TOKEN_VAR}'}},
      },
    });
    const {code, stderr} = await run(['--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('mcpServers.gh.headers.Authorization: environment variable NO_SUCH_TOKEN_VAR is not set');
  });

  it('prints help, and rejects unknown flags', async () => {
    expect((await run(['--help'])).stdout).toContain('--transport MODE');
    const unknown = await run(['--config', 'x.json', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--bogus'");
  });

  /** An SDK client of `kube-mcp-router router --transport stdio` on a config of `mcpServers`. */
  async function stdioClient(mcpServers: object): Promise<Client> {
    const file = await writeConfig({mcpServers});
    const client = new Client({name: 'stdio-test', version: '1'});
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [...CLI, '--config', file, '--transport', 'stdio'],
        stderr: 'ignore',
      }),
    );
    return client;
  }

  it('serves the aggregate over stdio with --transport stdio', async () => {
    const client = await stdioClient({
      everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']},
    });
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('everything__echo');
      const result = await client.callTool({name: 'everything__echo', arguments: {message: 'piped'}});
      expect(result.content).toEqual([{type: 'text', text: 'Echo: piped'}]);
    } finally {
      await client.close();
    }
  });

  it('writes a large result over stdio as the upstream sent it, one line, and the next message after it', async () => {
    const client = await stdioClient({fixture: fixtureStdio(1)});
    try {
      const [big, small] = await Promise.all([
        client.callTool({name: 'fixture__blob', arguments: {bytes: 2 * 1024 * 1024}}),
        client.callTool({name: 'fixture__blob', arguments: {bytes: 10}}),
      ]);
      expect(big.content).toEqual([{type: 'text', text: 'x'.repeat(2 * 1024 * 1024)}]);
      expect(small.content).toEqual([{type: 'text', text: 'x'.repeat(10)}]);
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('fixture__blob');
    } finally {
      await client.close();
    }
  });
});
