import pkg from '../package.json' with {type: 'json'};

/** The name the router gives itself as an MCP client and server (`clientInfo`, `serverInfo`). */
export const ROUTER_NAME: string = pkg.name;
/** The package version. */
export const ROUTER_VERSION: string = pkg.version;
