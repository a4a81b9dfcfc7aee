import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {RouterError} from '../errors.js';

/** The files of an embedding model folder (`router.catalog.embeddingModel`), as `scripts/fetch-embedding-model.ts` writes them. */
export const MODEL_FILE = 'model.onnx';
export const TOKENIZER_FILE = 'tokenizer.json';

/** Word pieces a text keeps, [CLS] and [SEP] included: all-MiniLM-L6-v2's `max_seq_length`; the rest is cut. */
const MAX_TOKENS = 256;

/**
 * Characters of a text that are tokenized: far more than MAX_TOKENS word pieces take (about 4 characters each in
 * English), so that a huge request or tool description costs no more than a long one.
 */
const MAX_CHARACTERS = 16 * MAX_TOKENS;

/** Texts run through the model at once when a catalog is embedded. */
const BATCH = 16;

/** An embedding model folder that is missing, incomplete or that ONNX Runtime cannot run. Names the path. */
export class EmbeddingModelError extends RouterError {
  static override code = 'EMBEDDING_MODEL_INVALID';

  constructor(path: string, reason: string) {
    super(`Embedding model ${path}: ${reason}`);
  }
}

/** Turns texts into unit vectors whose dot product is their cosine similarity. */
export interface SentenceEmbedder {
  /** Length of every vector. */
  readonly dimensions: number;
  /** One L2-normalised vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

/**
 * Mean of the token vectors that the attention mask keeps, scaled to length 1 (sentence-transformers' mean pooling
 * and `Normalize`, as the model card of all-MiniLM-L6-v2 gives them). `hidden` is `[texts, tokens, dimensions]`
 * row-major, `mask` `[texts, tokens]`.
 */
export function meanPooled(hidden: Float32Array, mask: BigInt64Array, texts: number, tokens: number): Float32Array[] {
  const dimensions = hidden.length / (texts * tokens);
  const vectors: Float32Array[] = [];
  for (let t = 0; t < texts; t++) {
    const vector = new Float32Array(dimensions);
    for (let i = 0; i < tokens; i++) {
      if (mask[t * tokens + i] === 0n) continue;
      const offset = (t * tokens + i) * dimensions;
      for (let d = 0; d < dimensions; d++) vector[d] = (vector[d] as number) + (hidden[offset + d] as number);
    }
    let norm = 0;
    for (const value of vector) norm += value * value;
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < dimensions; d++) vector[d] = (vector[d] as number) / norm;
    vectors.push(vector);
  }
  return vectors;
}

/** Token ids of one text, at most MAX_TOKENS, keeping its closing [SEP] when it is cut. */
function clipped(ids: number[]): number[] {
  return ids.length <= MAX_TOKENS ? ids : [...ids.slice(0, MAX_TOKENS - 1), ids[ids.length - 1] as number];
}

/**
 * Loads a BERT-style sentence-embedding model from a folder holding `model.onnx` (inputs `input_ids`,
 * `attention_mask` and optionally `token_type_ids`, output `last_hidden_state`) and its Hugging Face
 * `tokenizer.json`; all-MiniLM-L6-v2 (quantized) is the one the project fetches. ONNX Runtime (`onnxruntime-node`,
 * one intra-op thread, CPU) and the tokenizer (`@huggingface/tokenizers`) are imported here, so a router without an
 * embedding model never loads them.
 * @throws EmbeddingModelError naming `path`, when a file is missing or unreadable, or the model does not load or run
 */
export async function loadSentenceEmbedder(path: string): Promise<SentenceEmbedder> {
  const fail = (reason: string, cause: unknown) =>
    new EmbeddingModelError(path, `${reason}: ${cause instanceof Error ? cause.message : String(cause)}`);
  const tokenizerJson = await readFile(join(path, TOKENIZER_FILE), 'utf8').catch((error: unknown) => {
    throw fail(`cannot read ${TOKENIZER_FILE}`, error);
  });
  const [{Tokenizer}, ort] = await Promise.all([
    import('@huggingface/tokenizers'),
    import('onnxruntime-node').catch((error: unknown) => {
      throw fail('cannot load onnxruntime-node (the ONNX Runtime package)', error);
    }),
  ]);
  let tokenizer: InstanceType<typeof Tokenizer>;
  try {
    tokenizer = new Tokenizer(JSON.parse(tokenizerJson), {});
  } catch (error) {
    throw fail(`${TOKENIZER_FILE} is not a tokenizer`, error);
  }
  const session = await ort.InferenceSession.create(join(path, MODEL_FILE), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  }).catch((error: unknown) => {
    throw fail(`cannot load ${MODEL_FILE}`, error);
  });
  for (const input of ['input_ids', 'attention_mask'])
    if (!session.inputNames.includes(input)) throw fail(`${MODEL_FILE} is not a BERT-style encoder`, `no ${input}`);
  const withTypes = session.inputNames.includes('token_type_ids');
  const output = session.outputNames[0] as string;

  async function run(texts: string[]): Promise<Float32Array[]> {
    const encoded = texts.map((text) => clipped(tokenizer.encode(text.slice(0, MAX_CHARACTERS)).ids));
    const tokens = Math.max(...encoded.map((ids) => ids.length));
    const ids = new BigInt64Array(texts.length * tokens);
    const mask = new BigInt64Array(texts.length * tokens);
    encoded.forEach((row, t) =>
      row.forEach((id, i) => {
        ids[t * tokens + i] = BigInt(id);
        mask[t * tokens + i] = 1n;
      }),
    );
    const shape = [texts.length, tokens];
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
      input_ids: new ort.Tensor('int64', ids, shape),
      attention_mask: new ort.Tensor('int64', mask, shape),
    };
    if (withTypes) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(ids.length), shape);
    const hidden = (await session.run(feeds))[output];
    if (!hidden || hidden.type !== 'float32' || hidden.dims.length !== 3)
      throw fail(`${MODEL_FILE} gave no [texts, tokens, dimensions] output`, output);
    return meanPooled(hidden.data as Float32Array, mask, texts.length, tokens);
  }

  const [probe] = await run(['probe']).catch((error: unknown) => {
    throw error instanceof EmbeddingModelError ? error : fail(`${MODEL_FILE} does not run`, error);
  });
  return {
    dimensions: (probe as Float32Array).length,
    async embed(texts) {
      // Batches of texts of like length pad less: shorter to run, and a smaller peak of ONNX Runtime's memory arena.
      const order = texts.map((_, i) => i).sort((a, b) => (texts[a] as string).length - (texts[b] as string).length);
      const vectors: Float32Array[] = new Array<Float32Array>(texts.length);
      for (let start = 0; start < order.length; start += BATCH) {
        const batch = order.slice(start, start + BATCH);
        (await run(batch.map((i) => texts[i] as string))).forEach(
          (vector, j) => (vectors[batch[j] as number] = vector),
        );
      }
      return vectors;
    },
  };
}
