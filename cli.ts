#!/usr/bin/env node
/**
 * kube-mcp-router: one binary, two commands. `router` serves MCP upstreams behind one endpoint; `operator` reconciles
 * McpRouter and McpUpstream resources. Each command parses its own flags (`--help` on either).
 */
import {startTracing, stopTracing} from './telemetry.js';

const USAGE = `Usage: kube-mcp-router <command> [flags]

Commands:
  router     Aggregate MCP servers from a config file and serve them over HTTP or stdio
  operator   Reconcile McpRouter and McpUpstream resources into ConfigMaps, Deployments and Services

Run 'kube-mcp-router <command> --help' for the flags of a command.`;

/** Runs a command with tracing on when the environment asks for it (`telemetry.ts`), flushing spans at its end. */
async function traced(serviceName: string, command: () => Promise<number>): Promise<number> {
  await startTracing(serviceName);
  try {
    return await command();
  } finally {
    await stopTracing();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'router':
      return traced('kube-mcp-router', async () => (await import('./router/cli.js')).routerCommand(rest));
    case 'operator':
      return traced('kube-mcp-router-operator', async () => (await import('./operator/cli.js')).operatorCommand(rest));
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
