import {LRUCache} from 'lru-cache';
import MiniSearch from 'minisearch';
import picomatch from 'picomatch';
import type {CatalogOptions} from '../config/schema.js';
import type {Logger} from '../log.js';
import type {AggregateCatalog, NamedEntry} from './aggregate.js';
import {loadSentenceEmbedder, type SentenceEmbedder} from './embedding.js';
import {byCosine, fuseRanks} from './rank.js';

/** The router's own tools in `search` mode: their names are unprefixed, so no upstream tool can take them. */
export const SEARCH_TOOL = 'search_tools';
export const CALL_TOOL = 'call_tool';

/** Tools the search returns when the client gives no `limit`. */
export const DEFAULT_SEARCH_LIMIT = 5;

/** The definitions `tools/list` gives for the router's own tools in `search` mode (MCP 2025-11-25 server/tools). */
export const ROUTER_TOOLS: NamedEntry[] = [
  {
    name: SEARCH_TOOL,
    title: 'Search tools',
    description:
      'Finds the tools that can do something, by words of their names, descriptions and parameters. Returns their ' +
      `full definitions, best first; call one with ${CALL_TOOL}.`,
    inputSchema: {
      type: 'object',
      properties: {
        query: {type: 'string', description: 'What the tool should do, in a few words.'},
        limit: {
          type: 'integer',
          minimum: 1,
          maximum: 50,
          description: `Most tools to return (${DEFAULT_SEARCH_LIMIT}).`,
        },
      },
      required: ['query'],
    },
    outputSchema: {type: 'object', properties: {tools: {type: 'array', items: {type: 'object'}}}, required: ['tools']},
    annotations: {readOnlyHint: true, openWorldHint: false},
  },
  {
    name: CALL_TOOL,
    title: 'Call a tool',
    description: `Calls a tool that ${SEARCH_TOOL} found, by its name, with its arguments.`,
    inputSchema: {
      type: 'object',
      properties: {
        name: {type: 'string', description: `The tool's name, as ${SEARCH_TOOL} gave it.`},
        arguments: {type: 'object', description: "The tool's arguments, as its inputSchema describes them."},
      },
      required: ['name'],
    },
  },
];

/** A tool's parameters as words: each name and its description. */
function parameterWords(tool: NamedEntry): string {
  const schema = (tool.inputSchema ?? {}) as {properties?: Record<string, {description?: unknown}>};
  return Object.entries(schema.properties ?? {})
    .map(([name, property]) => `${name} ${typeof property?.description === 'string' ? property.description : ''}`)
    .join(' ');
}

const nameWords = (tool: NamedEntry) => tool.name.replace(/[_\-.]+/g, ' ');
const textOf = (value: unknown) => (typeof value === 'string' ? value : '');

/** The fields of a tool that BM25 matches: name (its parts), title, description, parameter names and texts. */
function document(tool: NamedEntry, id: number) {
  return {
    id,
    name: nameWords(tool),
    title: textOf(tool.title),
    description: textOf(tool.description),
    parameters: parameterWords(tool),
  };
}

/** The text of a tool that the embedding model reads: the same fields, as one passage. */
export function toolText(tool: NamedEntry): string {
  return [nameWords(tool), textOf(tool.title), textOf(tool.description), parameterWords(tool)]
    .filter((part) => part !== '')
    .join('. ');
}

/** Words too common in requests and descriptions to tell tools apart. */
const STOP_WORDS = new Set(
  'a an and are as at be by for from give i in is it me my of on or show that the this to with'.split(' '),
);

/** One index per catalog object: catalogs are shared and replaced on change (`SharedCatalogs`). */
const indexes = new WeakMap<AggregateCatalog, MiniSearch>();

function indexOf(catalog: AggregateCatalog): MiniSearch {
  let index = indexes.get(catalog);
  if (!index) {
    index = new MiniSearch({
      fields: ['name', 'title', 'description', 'parameters'],
      processTerm: (term) => (STOP_WORDS.has(term.toLowerCase()) ? null : term.toLowerCase()),
      searchOptions: {boost: {name: 3, title: 2}, prefix: true, fuzzy: 0.2, combineWith: 'OR'},
    });
    index.addAll(catalog.tools.map(document));
    indexes.set(catalog, index);
  }
  return index;
}

/** Indexes of the catalog's tools that share words with `query`, best first (MiniSearch's BM25, names boosted). */
function lexicalRanking(catalog: AggregateCatalog, query: string): number[] {
  return indexOf(catalog)
    .search(query)
    .map((hit) => hit.id as number);
}

/**
 * Tool vectors kept by tool text, across catalog versions and the catalogs of different grants: a `list_changed`
 * re-embeds only the tools whose text changed. 20,000 vectors of all-MiniLM-L6-v2 (384 float32) are 30 MB.
 */
const MAX_CACHED_VECTORS = 20_000;

/**
 * `search_tools` of the router: BM25 over the words of each tool, fused by reciprocal rank (`fuseRanks`) with the
 * cosine similarity of the request and each tool's text under a sentence-embedding model when
 * `router.catalog.embeddingModel` names one; BM25 alone without one, or while the model cannot be loaded. One per
 * router; its caches are shared by every session, like the catalogs.
 */
export class ToolSearch {
  readonly #log: Logger;
  #path: string | undefined;
  #embedder: Promise<SentenceEmbedder | undefined> = Promise.resolve(undefined);
  readonly #byText = new LRUCache<string, Promise<Float32Array>>({max: MAX_CACHED_VECTORS});
  #byCatalog = new WeakMap<AggregateCatalog, Promise<Float32Array[]>>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Applies `router.catalog`, at start and on each reload: a newly named model starts loading now (in the
   * background), so that a missing or broken one is logged at once, as a warning naming its path; searches then rank
   * by words only. In `full` mode no model is loaded.
   */
  configure(options: CatalogOptions): void {
    const path = options.mode === 'full' ? undefined : options.embeddingModel;
    if (path === this.#path) return;
    this.#path = path;
    this.#byText.clear();
    this.#byCatalog = new WeakMap();
    if (path === undefined) {
      this.#embedder = Promise.resolve(undefined);
      return;
    }
    const started = performance.now();
    this.#embedder = loadSentenceEmbedder(path).then(
      (embedder) => {
        const ms = Math.round(performance.now() - started);
        this.#log.info({path, dimensions: embedder.dimensions, ms}, 'Loaded embedding model');
        return embedder;
      },
      (error: unknown) => {
        this.#log.warn(
          {path, err: error instanceof Error ? error.message : String(error)},
          'Failed to load the embedding model; search_tools ranks tools by their words only (BM25)',
        );
        return undefined;
      },
    );
  }

  /**
   * The tools of a session's catalog that best match `query`, at most `limit`, best first. The catalog is already
   * what the session's principal may see, so a search never reveals a tool it may not use. With a model, every tool
   * is ranked (the first `limit` are returned even when no word matches); without one, only tools that share a word
   * with the query.
   */
  async search(catalog: AggregateCatalog, query: string, limit: number): Promise<NamedEntry[]> {
    const lexical = lexicalRanking(catalog, query);
    const embedder = await this.#embedder;
    let ranking = lexical;
    if (embedder && catalog.tools.length > 0) {
      try {
        const [vectors, [queryVector]] = await Promise.all([
          this.#vectorsOf(catalog, embedder),
          embedder.embed([query]),
        ]);
        ranking = fuseRanks([lexical, byCosine(queryVector as Float32Array, vectors)]);
      } catch (error) {
        this.#log.warn(
          {path: this.#path, err: error instanceof Error ? error.message : String(error)},
          'Failed to embed a search; ranked it by words only (BM25)',
        );
      }
    }
    return ranking.slice(0, limit).map((id) => catalog.tools[id] as NamedEntry);
  }

  /** The vectors of a catalog's tools, in catalog order: made once per catalog object, from the text cache. */
  #vectorsOf(catalog: AggregateCatalog, embedder: SentenceEmbedder): Promise<Float32Array[]> {
    let vectors = this.#byCatalog.get(catalog);
    if (!vectors) {
      vectors = this.#embedTexts(catalog.tools.map(toolText), embedder);
      this.#byCatalog.set(catalog, vectors);
      const byCatalog = this.#byCatalog;
      vectors.catch(() => byCatalog.delete(catalog));
    }
    return vectors;
  }

  /** Vectors of `texts`, embedding in one batch only those not cached (nor being embedded) already. */
  #embedTexts(texts: string[], embedder: SentenceEmbedder): Promise<Float32Array[]> {
    const vectors = new Map<string, Promise<Float32Array>>();
    for (const text of texts) {
      const cached = this.#byText.get(text);
      if (cached) vectors.set(text, cached);
    }
    const missing = [...new Set(texts)].filter((text) => !vectors.has(text));
    if (missing.length > 0) {
      const started = performance.now();
      const batch = embedder.embed(missing);
      missing.forEach((text, i) => {
        const vector = batch.then((all) => all[i] as Float32Array);
        vectors.set(text, vector);
        this.#byText.set(text, vector);
      });
      batch.then(
        () =>
          this.#log.info({tools: missing.length, ms: Math.round(performance.now() - started)}, 'Embedded tool texts'),
        () => {
          for (const text of missing) if (this.#byText.get(text) === vectors.get(text)) this.#byText.delete(text);
        },
      );
    }
    return Promise.all(texts.map((text) => vectors.get(text) as Promise<Float32Array>));
  }
}

/**
 * `tools/list` in `search` and `dynamic` modes: the router's own tools, then the catalog's tools that `pinned` globs
 * name or that are `found` (a session's tools found in `dynamic` mode), in catalog order.
 */
export function searchModeTools(
  catalog: AggregateCatalog,
  pinned: string[],
  found: ReadonlySet<string> = new Set(),
): NamedEntry[] {
  const isPinned = picomatch(pinned.length > 0 ? pinned : ['\0'], {dot: true});
  return [...ROUTER_TOOLS, ...catalog.tools.filter((tool) => isPinned(tool.name) || found.has(tool.name))];
}
