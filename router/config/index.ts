import type {z} from 'zod';
import type {AuthSchema, RouterConfigSchema, RouterOptionsSchema} from './schema.js';

/**
 * The router's config contract: the one module the operator imports from the router. `router.json` is written in
 * the shape of `RouterConfigInput` (what a file holds, before defaults) and read back with `parseRouterConfig`, which
 * applies the defaults of `RouterConfigSchema` (a `ConfigError` lists what it refuses). An McpUpstream's tool
 * filter, timeouts, retries and circuit breaker are these schemas' fields, so their bounds, descriptions and
 * defaults are defined once, here.
 */

export {
  CircuitBreakerSchema,
  PREFIX_PATTERN,
  RetriesSchema,
  RouterConfigSchema,
  RouterOptionsSchema,
  TimeoutsSchema,
  ToolFilterSchema,
  ToolTimeoutsSchema,
  type RouterConfig,
} from './schema.js';
export {escapeLiteral, parseRouterConfig} from './load.js';
export {ConfigError} from '../errors.js';

/** A `router.json` as written (input of `RouterConfigSchema`: defaults not applied, optional fields optional). */
export type RouterConfigInput = z.input<typeof RouterConfigSchema>;
/** One entry of `mcpServers` as written: a stdio server (`command`) or a remote one (`url`), with router options. */
export type ServerInput = NonNullable<RouterConfigInput['mcpServers']>[string];
/** `router` of a `router.json` as written. */
export type RouterOptionsInput = z.input<typeof RouterOptionsSchema>;
/** `router.auth` of a `router.json` as written. */
export type AuthInput = z.input<typeof AuthSchema>;
