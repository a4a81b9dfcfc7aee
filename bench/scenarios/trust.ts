/**
 * The cost of trust: server-everything's `echo` through a router with `auth` (an ES256 JWT verified against a JWKS
 * this benchmark serves on loopback) and 50 access rules, against a router without auth, at 1 and 16 clients.
 */
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import {exportJWK, generateKeyPair, SignJWT} from 'jose';
import {startEverythingHttp} from '../../test/support/mcp-servers.js';
import {runLoad, warmUp, WARMUP_CLIENTS} from '../load.js';
import {startRouter} from '../processes.js';
import {loadTables, type LoadRun} from '../report.js';
import {echo} from './echo.js';
import type {Scenario} from './scenario.js';

/** A JWKS on loopback, a token it verifies, and router options with that issuer and 50 access rules. */
async function trustSetup(): Promise<{router: object; token: string; close(): void}> {
  const {publicKey, privateKey} = await generateKeyPair('ES256');
  const jwk = {...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256'};
  const server = createServer((_req, res) => res.end(JSON.stringify({keys: [jwk]})));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = await new SignJWT({groups: ['bench']})
    .setProtectedHeader({alg: 'ES256', kid: 'bench'})
    .setIssuer(issuer)
    .setAudience('kube-mcp-router')
    .setSubject('agent-49')
    .setExpirationTime('1h')
    .sign(privateKey);
  const access = Array.from({length: 50}, (_, i) => ({
    principals: [`agent-${i}`],
    upstreams: ['everything'],
    tools: {include: ['*'], exclude: ['get-env']},
  }));
  const router = {auth: {jwt: [{issuer, audiences: ['kube-mcp-router'], jwksUri: `${issuer}/jwks`}]}, access};
  return {router, token, close: () => server.close()};
}

export const trustScenario: Scenario = {
  name: 'trust',
  async run({rounds, seconds, warmupSeconds, log}) {
    const upstream = await startEverythingHttp('streamableHttp');
    const trust = await trustSetup();
    const mcpServers = {everything: {type: 'http', url: upstream.url}};
    const [open, guarded] = await Promise.all([startRouter(mcpServers), startRouter(mcpServers, trust.router)]);
    try {
      const paths = [
        {name: 'no auth', url: `${open.url}/mcp`, headers: {} as Record<string, string>},
        {name: 'JWT + 50 rules', url: `${guarded.url}/mcp`, headers: {authorization: `Bearer ${trust.token}`}},
      ];
      for (const {name, url, headers} of paths) {
        log(`trust: warm-up, ${name} (${warmupSeconds} s at ${WARMUP_CLIENTS} clients)`);
        await warmUp({url, headers, call: echo('everything__echo')}, warmupSeconds);
      }
      const runs: LoadRun[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const clients of [1, 16]) {
          for (const {name, url, headers} of paths) {
            log(`trust: round ${round + 1}/${rounds}, ${clients} client(s), ${name}`);
            const sample = await runLoad({
              url,
              headers,
              call: echo('everything__echo'),
              clients,
              warmupSeconds: 0.5,
              seconds,
            });
            runs.push({path: name, clients, round, sample});
          }
        }
      }
      const compare = {numerator: 'JWT + 50 rules', denominator: 'no auth'} as const;
      const tables = loadTables('tools/call echo through the router, auth against none', runs, [
        {label: 'auth / no auth, calls/s', figure: 'callsPerSecond', ...compare},
        {label: 'auth / no auth, p50 ratio', figure: 'p50', ...compare},
      ]);
      return {tables, notes: []};
    } finally {
      trust.close();
      await Promise.all([open.stop(), guarded.stop(), upstream.stop()]);
    }
  },
};
