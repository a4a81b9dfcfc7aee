import type {ServerResponse} from 'node:http';
import {sendJson} from '../http/node-io.js';
import type {Principal} from '../auth/principal.js';
import {MANAGEMENT_UPSTREAM, type RouterOptions} from '../config/schema.js';
import type {Grant} from '../policy/rules.js';
import {upstreamReport, type UpstreamHealth} from './report.js';
import {READ_ONLY} from './server.js';

/** What `GET /upstreams` needs of the router. */
export interface UpstreamsHost {
  readonly options: RouterOptions;
  grantFor(principal: Principal): Grant;
  upstreamHealth(principal: Principal): Promise<UpstreamHealth[]>;
}

/**
 * `GET /upstreams`, after the app's authenticate phase: `{"upstreams": [...]}` as `list_upstreams` gives it to the
 * same principal (see `UpstreamReport`). Without `router.management.enabled`, or for a principal the access rules do
 * not grant the tool `list_upstreams` of the `router` upstream, it passes to the app's 404, so that it reveals nothing.
 */
export async function serveUpstreams(
  host: UpstreamsHost,
  principal: Principal,
  res: ServerResponse,
  next: () => void,
): Promise<void> {
  const granted = host.grantFor(principal).tool(MANAGEMENT_UPSTREAM, 'list_upstreams', READ_ONLY);
  if (!host.options.management.enabled || !granted) return next();
  sendJson(res, 200, {upstreams: (await host.upstreamHealth(principal)).map(upstreamReport)});
}
