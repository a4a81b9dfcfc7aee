/**
 * Self time of a V8 CPU profile (`node --cpu-prof`) by package: a frame's self time is charged to the package its
 * script belongs to (`node_modules/NAME`, or `kube-mcp-router` for the router's own `dist/`), and a frame of Node's
 * core or V8 with no script of a package to the nearest such frame that called it, else to `node core` (work that
 * no package started, such as reading sockets and parsing HTTP). V8's own
 * entries (`(garbage collector)`, `(idle)`, `(program)`) stay as they are.
 */

/** The parts of a `.cpuprofile` this reads (Chrome DevTools protocol, Profiler.Profile). */
export interface CpuProfile {
  nodes: {id: number; callFrame: {functionName: string; url: string}; children?: number[]}[];
  samples: number[];
  timeDeltas: number[];
}

/** The package a script URL belongs to, or undefined for Node's core and V8. */
export function packageOf(url: string): string | undefined {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(url);
  if (match) return match[1];
  if (/\/dist\/(router|operator|cli\.js)/.test(url)) return 'kube-mcp-router';
  return undefined;
}

/**
 * Milliseconds and share of self time per package, largest first; packages under `minShare` (0-1) are summed into
 * one last `other packages` entry.
 */
export function selfTimeByPackage(profile: CpuProfile, minShare = 0): {name: string; ms: number; share: number}[] {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const owner = (id: number): string => {
    const {functionName, url} = byId.get(id)?.callFrame ?? {functionName: '', url: ''};
    if (/^\(.+\)$/.test(functionName) && url === '') return functionName;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = packageOf(byId.get(at)?.callFrame.url ?? '');
      if (name) return name;
    }
    return 'node core';
  };
  const totals = new Map<string, number>();
  const owners = new Map<number, string>();
  profile.samples.forEach((id, i) => {
    let name = owners.get(id);
    if (name === undefined) owners.set(id, (name = owner(id)));
    totals.set(name, (totals.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  const shares = [...totals].map(([name, ms]) => ({name, ms, share: ms / all})).sort((a, b) => b.ms - a.ms);
  const rest = shares.filter((s) => s.share < minShare);
  if (rest.length === 0) return shares;
  const otherMs = rest.reduce((sum, s) => sum + s.ms, 0);
  return [...shares.filter((s) => s.share >= minShare), {name: 'other packages', ms: otherMs, share: otherMs / all}];
}
