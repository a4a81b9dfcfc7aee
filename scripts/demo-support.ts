/** What both shapes of `npm run demo` share: the progress line, polling, and what the router's reloads mean. */

/** A progress line on stderr (stdout carries only what a person copies). */
export const log = (line: string): void => void process.stderr.write(`[demo] ${line}\n`);

/**
 * Polls `check` every 500 ms until it resolves true; a rejection counts as false.
 * @throws Error naming `what` after `timeoutMs` (ms).
 */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** What the router logs after a reload of its config (router/reload.ts). */
const RELOAD_REJECTED = 'Rejected the new config; serving the previous one';
const RELOAD_APPLIED = 'Applied the new config';

/**
 * What to tell the person running the demo about one log line of the router (pino JSON): that it refused a new config
 * and why (each issue with its path; for an env var that is not set, that the demo passes env vars only when it starts
 * the router, as the kubelet does when a pod starts), or that it applied one and what changed. Undefined for any
 * other line.
 */
export function describeReload(line: string): string | undefined {
  let entry: {msg?: unknown; issues?: {path?: string; message?: string}[]; [field: string]: unknown};
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return undefined;
  }
  if (entry.msg === RELOAD_REJECTED) {
    const issues = (entry.issues ?? []).map((issue) => `${issue.path || '(root)'}: ${issue.message}`);
    const unset = issues.flatMap((issue) => /environment variable (\S+) is not set/.exec(issue)?.[1] ?? []);
    const hint =
      unset.length === 0
        ? ''
        : `\n  The router got its env vars when the demo started it, as a pod gets them when it starts: ` +
          `restart the demo to pass ${unset.join(', ')}.`;
    return `The router refused the new config and still serves the previous one:\n  ${issues.join('\n  ')}${hint}`;
  }
  if (entry.msg === RELOAD_APPLIED) {
    const names = (field: string) => (Array.isArray(entry[field]) ? (entry[field] as string[]) : []);
    const parts = (['added', 'removed', 'changed'] as const)
      .filter((field) => names(field).length > 0)
      .map((field) => `${field} ${names(field).join(', ')}`);
    return `The router applied the new config${parts.length > 0 ? ` (${parts.join('; ')})` : ''}.`;
  }
  return undefined;
}
