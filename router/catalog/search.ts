import MiniSearch from 'minisearch';
import picomatch from 'picomatch';
import type {AggregateCatalog, NamedEntry} from './aggregate.js';

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

/** The text of a tool that a search matches: name (its parts), title, description, parameter names and texts. */
function document(tool: NamedEntry, id: number) {
  const schema = (tool.inputSchema ?? {}) as {properties?: Record<string, {description?: unknown}>};
  const parameters = Object.entries(schema.properties ?? {}).map(
    ([name, property]) => `${name} ${typeof property?.description === 'string' ? property.description : ''}`,
  );
  return {
    id,
    name: tool.name.replace(/[_\-.]+/g, ' '),
    title: typeof tool.title === 'string' ? tool.title : '',
    description: typeof tool.description === 'string' ? tool.description : '',
    parameters: parameters.join(' '),
  };
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

/**
 * The tools of a session's catalog that best match `query` (full text over names, titles, descriptions and
 * parameters, ranked by MiniSearch's BM25), at most `limit`, best first. The catalog is already what the session's
 * principal may see, so a search never reveals a tool it may not use.
 */
export function searchTools(catalog: AggregateCatalog, query: string, limit: number): NamedEntry[] {
  return indexOf(catalog)
    .search(query)
    .slice(0, limit)
    .map((hit) => catalog.tools[hit.id as number] as NamedEntry);
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
