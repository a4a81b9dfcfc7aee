import {readFileSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {request as httpRequest} from 'node:http';
import {request as httpsRequest} from 'node:https';
import {rootCertificates} from 'node:tls';

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A `fetch` for OIDC discovery and JWKS documents (GET only, bodies up to 1 MiB). With neither option it is the
 * global `fetch`. `caFile` adds PEM CAs to the system ones (read once); `tokenFile` is read on every fetch and sent as
 * `Authorization: Bearer` (a projected ServiceAccount token, which the kubelet rotates in place).
 * @throws Error when `caFile` cannot be read (at creation), or on a network error, a timeout or a larger body
 */
export function createFetch(options: {caFile?: string | undefined; tokenFile?: string | undefined}): typeof fetch {
  if (options.caFile === undefined && options.tokenFile === undefined) return fetch;
  const ca = options.caFile === undefined ? undefined : [...rootCertificates, readFileSync(options.caFile, 'utf8')];
  const get = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const headers: Record<string, string> = {accept: 'application/json, application/jwk-set+json'};
    if (options.tokenFile !== undefined)
      headers.authorization = `Bearer ${(await readFile(options.tokenFile, 'utf8')).trim()}`;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const req = send(url, {method: 'GET', headers, ...(ca && {ca}), signal: init?.signal ?? undefined}, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) return req.destroy(new Error(`${url.origin} sent more than 1 MiB`));
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve(new Response(Buffer.concat(chunks), {status: res.statusCode ?? 502, statusText: res.statusMessage})),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  };
  return get as typeof fetch;
}
