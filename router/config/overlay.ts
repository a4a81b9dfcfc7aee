import {randomBytes} from 'node:crypto';
import {readFile, rename, writeFile} from 'node:fs/promises';
import {z} from 'zod';
import {ConfigError} from '../errors.js';

/**
 * The overlay of a local router's config: the servers that `register_upstream` added and the names that
 * `remove_upstream` took away, kept in a file beside the config (`router.json` -> `router.overlay.json`) so that they
 * survive a restart. It is applied only while the config sets `router.management.register`.
 */
export const OverlaySchema = z
  .object({
    mcpServers: z
      .record(z.string().min(1), z.record(z.string(), z.unknown()))
      .default({})
      .describe('Servers added at run time, in the format of the config; validated with it once merged.'),
    removed: z.array(z.string().min(1)).default([]).describe('Names of servers of the config taken away at run time.'),
  })
  .strict();

export type Overlay = z.infer<typeof OverlaySchema>;

export const EMPTY_OVERLAY: Overlay = {mcpServers: {}, removed: []};

/** The overlay file of a config file: `x.json` -> `x.overlay.json`, `x` -> `x.overlay.json`, in the same folder. */
export function overlayFile(configFile: string): string {
  return `${configFile.replace(/\.json$/, '')}.overlay.json`;
}

/**
 * A raw config (parsed JSON, before validation) with an overlay applied (pure): its servers added to the config's
 * `mcpServers` (or `servers`), replacing any of the same name, and its removed names taken away, from
 * `router.groups` members too (a group left without members goes).
 */
export function withOverlay(raw: Record<string, unknown>, overlay: Overlay): Record<string, unknown> {
  const key = raw.mcpServers === undefined && raw.servers !== undefined ? 'servers' : 'mcpServers';
  const servers: Record<string, unknown> = {
    ...(raw[key] as Record<string, unknown> | undefined),
    ...overlay.mcpServers,
  };
  for (const name of overlay.removed) delete servers[name];
  return {...raw, [key]: servers, ...withoutMembers(raw.router, overlay.removed)};
}

/** `{router}` with `removed` taken out of the members of its groups, or nothing when it has no groups (pure). */
function withoutMembers(router: unknown, removed: string[]): {router?: Record<string, unknown>} {
  const groups = (router as {groups?: unknown} | undefined)?.groups;
  if (removed.length === 0 || groups === null || typeof groups !== 'object') return {};
  const kept: Record<string, unknown> = {};
  for (const [name, group] of Object.entries(groups)) {
    const members = (group as {members?: unknown}).members;
    if (!Array.isArray(members)) kept[name] = group;
    else if (members.some((m) => !removed.includes(m as string)))
      kept[name] = {...group, members: members.filter((m) => !removed.includes(m as string))};
  }
  return {router: {...(router as Record<string, unknown>), groups: kept}};
}

/** The overlay with a server added under `name` (pure); a removal of that name is undone. */
export function withServer(overlay: Overlay, name: string, server: Record<string, unknown>): Overlay {
  return {mcpServers: {...overlay.mcpServers, [name]: server}, removed: overlay.removed.filter((n) => n !== name)};
}

/**
 * The overlay with the server `name` taken away (pure): dropped from the overlay's own servers, and recorded as removed
 * when the config itself has it (`inConfig`).
 */
export function withoutServer(overlay: Overlay, name: string, inConfig: boolean): Overlay {
  const {[name]: _dropped, ...mcpServers} = overlay.mcpServers;
  const removed = inConfig && !overlay.removed.includes(name) ? [...overlay.removed, name] : overlay.removed;
  return {mcpServers, removed};
}

/**
 * Reads the overlay of a config file.
 * @returns the overlay and its text, or undefined when there is no overlay file
 * @throws ConfigError naming the overlay file when it cannot be read, is not JSON, or has another shape
 */
export async function readOverlay(configFile: string): Promise<{overlay: Overlay; text: string} | undefined> {
  const file = overlayFile(configFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(file, [{path: '', message: `cannot read the file: ${code}`}]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [{path: '', message: `not valid JSON: ${(error as Error).message}`}]);
  }
  const parsed = OverlaySchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      file,
      parsed.error.issues.map((i) => ({path: i.path.map(String).join('.'), message: i.message})),
    );
  }
  return {overlay: parsed.data, text};
}

/** Writes the overlay of a config file at once (a temporary file renamed over it), so no reader sees half of it. */
export async function writeOverlay(configFile: string, overlay: Overlay): Promise<void> {
  const file = overlayFile(configFile);
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify(overlay, null, 2)}\n`, {mode: 0o600});
  await rename(temporary, file);
}
