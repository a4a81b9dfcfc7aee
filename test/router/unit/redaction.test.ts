import {Writable} from 'node:stream';
import {describe, expect, it} from 'vitest';
import type {UpstreamConfig} from '../../../router/config/schema.js';
import {createLogger} from '../../../router/log.js';
import {requestTarget} from '../../../router/upstream/credentials.js';
import {redact, redactUrl, secretsOf} from '../../../router/upstream/redact.js';

const common = {
  name: 'remote',
  prefix: 'remote',
  tools: {include: [], exclude: []},
  session: 'shared',
  timeouts: {connectSeconds: 5, callSeconds: 5, maxCallSeconds: 5, tools: {}},
  circuitBreaker: {consecutiveFailures: 5, halfOpenAfterSeconds: 30},
  retries: {maxAttempts: 1, backoffSeconds: 1, maxBackoffSeconds: 1, toolCalls: false},
} satisfies Omit<UpstreamConfig, 'transport' | 'url' | 'headers' | 'command' | 'args' | 'env'>;

const remote = (url: string, headers: Record<string, string> = {}): UpstreamConfig => ({
  ...common,
  transport: 'streamableHttp',
  url,
  headers,
});

describe('redactUrl', () => {
  it.each([
    ['http://user:s3cret@host/mcp', 'http://***@host/mcp'],
    ['https://token@host:8443/a?b=c', 'https://***@host:8443/a?b=c'],
    ['http://host/mcp', 'http://host/mcp'],
    ['http://host/path@thing', 'http://host/path@thing'],
    [
      'Request cannot be constructed from a URL that includes credentials: http://u:p@127.0.0.1:9/x',
      'Request cannot be constructed from a URL that includes credentials: http://***@127.0.0.1:9/x',
    ],
    ['mail me at someone@example.com', 'mail me at someone@example.com'],
  ])('%s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('redact', () => {
  it.each<[string, string[], string]>([
    ['failed: Bearer another-secret-value rejected', ['Bearer another-secret-value'], 'failed: *** rejected'],
    ['token another-secret-value', ['another-secret-value'], 'token ***'],
    ['two s3cret and s3cret', ['s3cret'], 'two *** and ***'],
    ['short secrets such as 1 are left', ['1', 'on'], 'short secrets such as 1 are left'],
    ['the longest first: abcdef', ['abc', 'abcdef'], 'the longest first: ***'],
    ['GET http://u:pw@h/ failed', [], 'GET http://***@h/ failed'],
  ])('%s', (text, secrets, expected) => {
    expect(redact(text, secrets)).toBe(expected);
  });
});

describe('secretsOf', () => {
  it('names the userinfo (raw and decoded), its Basic form, and header values with their credentials alone', () => {
    const secrets = secretsOf(remote('http://us%40er:s3cret%21@host/mcp', {Authorization: 'Bearer tok-123'}));
    expect(secrets).toEqual(
      expect.arrayContaining([
        'us%40er:s3cret%21',
        's3cret%21',
        's3cret!',
        'us@er',
        Buffer.from('us@er:s3cret!').toString('base64'),
        'Bearer tok-123',
        'tok-123',
      ]),
    );
  });

  it('names the env values of a stdio upstream', () => {
    const stdio: UpstreamConfig = {...common, transport: 'stdio', command: 'node', args: [], env: {TOKEN: 'abcd1234'}};
    expect(secretsOf(stdio)).toEqual(['abcd1234']);
  });
});

describe('requestTarget', () => {
  it.each<[string, string, Record<string, string>, string, Record<string, string>]>([
    ['no userinfo', 'http://h/mcp', {'X-A': 'b'}, 'http://h/mcp', {'X-A': 'b'}],
    [
      'userinfo becomes Basic',
      'http://user:s3cret-token@h/mcp',
      {},
      'http://h/mcp',
      {Authorization: `Basic ${Buffer.from('user:s3cret-token').toString('base64')}`},
    ],
    [
      'percent-encoded userinfo is decoded first',
      'http://a%40b:p%3Aw@h/',
      {},
      'http://h/',
      {Authorization: `Basic ${Buffer.from('a@b:p:w').toString('base64')}`},
    ],
    [
      'a configured Authorization header wins',
      'http://user:pw@h/mcp',
      {authorization: 'Bearer x'},
      'http://h/mcp',
      {authorization: 'Bearer x'},
    ],
  ])('%s', (_name, url, headers, expectedUrl, expectedHeaders) => {
    const target = requestTarget(url, headers);
    expect(target.url.href).toBe(expectedUrl);
    expect(target.headers).toEqual(expectedHeaders);
  });
});

describe('createLogger', () => {
  it('redacts url userinfo, header and env values where they are logged by name', () => {
    const lines: string[] = [];
    const log = createLogger({
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    log.info({url: 'http://u:s3cret@h/mcp', headers: {Authorization: 'Bearer tok-123'}}, 'Added upstream');
    log.info({upstream: {url: 'https://tok-456@h/', env: {TOKEN: 'abcd1234'}}}, 'Changed upstream');
    log.flush();
    const [added, changed] = lines.map((line) => JSON.parse(line));
    expect(added).toMatchObject({url: 'http://***@h/mcp', headers: '[redacted]', msg: 'Added upstream'});
    expect(changed).toMatchObject({upstream: {url: 'https://***@h/', env: '[redacted]'}});
  });
});
