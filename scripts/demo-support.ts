/** What both shapes of `npm run demo` share: the progress line and polling. */

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
