import {fileURLToPath} from 'node:url';
import type {Kubectl} from './local-pod.js';

const CRDS = fileURLToPath(new URL('../crds/', import.meta.url));

/**
 * Applies `crds/` (server-side, taking over fields other appliers own, so parallel runs do not conflict) and waits
 * until both CRDs are Established (at most 60 s).
 */
export async function installCrds(kubectl: Kubectl): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', CRDS]);
  await kubectl([
    'wait',
    '--for',
    'condition=Established',
    '--timeout=60s',
    'crd/mcprouters.mcprouter.dev',
    'crd/mcpupstreams.mcprouter.dev',
  ]);
}
