import {StringDecoder} from 'node:string_decoder';

const EMPTY = Buffer.alloc(0);

/**
 * The UTF-8 text of `chunks` in order, without concatenating their bytes: each chunk is decoded and let go in turn
 * (the array is emptied as it goes), and the pieces are joined once, so a long message is never held as one copy of
 * bytes beside its text. A character split over chunks is decoded whole; invalid bytes become U+FFFD.
 */
export function decodeChunks(chunks: Buffer[]): string {
  if (chunks.length === 1) return chunks[0]!.toString('utf8');
  const decoder = new StringDecoder('utf8');
  const pieces: string[] = [];
  for (let i = 0; i < chunks.length; i++) {
    pieces.push(decoder.write(chunks[i]!));
    chunks[i] = EMPTY;
  }
  pieces.push(decoder.end());
  return pieces.join('');
}
