import type {TokenCounter} from './cap.js';

/**
 * Token counts of `gpt-tokenizer` (o200k_base, the encoding of current OpenAI models), loaded on first use: its tables
 * take about 0.3 s to load, which routers without `maxResultTokens` never pay.
 */

/** Special-token text (`<|endoftext|>`) in a result is counted as plain text, not refused. */
const PLAIN = {disallowedSpecial: new Set<string>()};

let loading: Promise<TokenCounter> | undefined;

/** The token counter of the output caps. */
export function tokenCounter(): Promise<TokenCounter> {
  loading ??= import('gpt-tokenizer').then(({encode, decode, isWithinTokenLimit}) => ({
    within(text: string, max: number): number | undefined {
      const count = isWithinTokenLimit(text, max, PLAIN);
      return count === false ? undefined : count;
    },
    prefix(text: string, max: number): number {
      // A token is at least one byte, so a text of at most `max` bytes fits; otherwise encode growing windows of the
      // text, so that a 5 MB result costs the encoding of a little more than what is kept.
      if (Buffer.byteLength(text, 'utf8') <= max) return text.length;
      for (let window = Math.max(64, max * 4); ; window *= 2) {
        const tokens = encode(text.slice(0, window), PLAIN);
        if (tokens.length > max) return decode(tokens.slice(0, max)).replace(/\uFFFD+$/, '').length;
        if (window >= text.length) return text.length;
      }
    },
  }));
  return loading;
}
