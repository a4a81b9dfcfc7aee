import {mkdir, rename, symlink, writeFile} from 'node:fs/promises';
import {join} from 'node:path';

let generation = 0;

/**
 * Writes files into `folder` the way the kubelet updates a mounted ConfigMap volume (its AtomicWriter): the data goes
 * into a new timestamped folder, a `..data` symlink is swapped to it with one rename, and each file is a symlink
 * through `..data`. Watching the file itself misses such an update; watching the folder sees it.
 */
export async function writeConfigMapVolume(folder: string, files: Record<string, string>): Promise<void> {
  await mkdir(folder, {recursive: true});
  const version = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${++generation}`;
  await mkdir(join(folder, version));
  for (const [name, content] of Object.entries(files)) await writeFile(join(folder, version, name), content);
  await symlink(version, join(folder, '..data_tmp'));
  await rename(join(folder, '..data_tmp'), join(folder, '..data'));
  for (const name of Object.keys(files)) {
    await symlink(join('..data', name), join(folder, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}
