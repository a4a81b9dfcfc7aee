/**
 * One CPU profile of the router (`node --cpu-prof`) under the 16-client echo load in front of server-everything over
 * Streamable HTTP, summarised as self time by package. The profile is kept in `.cache/bench/` to open in DevTools.
 * With `--baseline`, the other build is profiled instead (run both, one after the other, to compare).
 */
import {mkdir, readdir, readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {startEverythingHttp} from '../../test/support/mcp-servers.js';
import {selfTimeByPackage, type CpuProfile} from '../cpuprofile.js';
import {runLoad} from '../load.js';
import {startRouter} from '../processes.js';
import {echo} from './echo.js';
import type {Scenario} from './scenario.js';

const PROFILE_DIR = join('.cache', 'bench', `profile-${Date.now()}`);

export const profileScenario: Scenario = {
  name: 'profile',
  async run({seconds, log, baseline}) {
    await mkdir(PROFILE_DIR, {recursive: true});
    let calls = 0;
    const upstream = await startEverythingHttp('streamableHttp');
    try {
      const router = await startRouter(
        {everything: {type: 'http', url: upstream.url}},
        {},
        ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR],
        baseline,
      );
      try {
        log(`profile: 16 clients for ${seconds * 4} s through the router`);
        calls = (
          await runLoad({
            url: `${router.url}/mcp`,
            call: echo('everything__echo'),
            clients: 16,
            warmupSeconds: 0.5,
            seconds: seconds * 4,
          })
        ).latenciesMs.length;
      } finally {
        await router.stop();
      }
    } finally {
      await upstream.stop();
    }
    const [file] = await readdir(PROFILE_DIR);
    if (!file) throw new Error('the router wrote no profile (did it exit on SIGTERM?)');
    const profile = JSON.parse(await readFile(join(PROFILE_DIR, file), 'utf8')) as CpuProfile;
    const shares = selfTimeByPackage(profile, 0.01);
    const busyMs = selfTimeByPackage(profile)
      .filter((s) => s.name !== '(idle)')
      .reduce((sum, s) => sum + s.ms, 0);
    const rows = shares.map(({name, ms, share}) => [name, ms.toFixed(0), `${(share * 100).toFixed(1)}%`]);
    return {
      tables: [
        {
          title: `${baseline ? 'Baseline router' : 'Router'} self time by package (1% and more), 16 clients, HTTP upstream`,
          header: ['package', 'ms', 'share'],
          rows,
        },
      ],
      notes: [
        `profile: ${join(PROFILE_DIR, file)}`,
        `${calls} calls answered in the measured window; the router was busy (not idle) ${(busyMs / calls).toFixed(2)} ms per call of the profile, warm-up included (on a loaded machine that counts time waiting for a core too)`,
      ],
    };
  },
};
