/**
 * The version of this build and the router image the operator deploys by default. Kept equal to `package.json`'s
 * `version` by a unit test, so a release bumps one number and the test names the other.
 */
export const VERSION = '0.1.0';

/** The router image used when an McpRouter sets no `spec.image` and the operator gets no `--router-image`. */
export const DEFAULT_ROUTER_IMAGE = `ghcr.io/kube-mcp-router/kube-mcp-router:${VERSION}`;
