import {watch, type FSWatcher} from 'node:fs';
import {dirname} from 'node:path';

/**
 * Calls `onChange` after the config file may have changed, at most once per `debounceMs` (milliseconds).
 *
 * It watches the file's folder, not the file: a mounted ConfigMap is updated by the kubelet swapping the `..data`
 * symlink inside the folder, which a watch on the old file never sees; editors that save by rename do the same.
 * @returns a function that stops watching
 */
export function watchConfigFolder(file: string, onChange: () => void, debounceMs = 200): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(file), {persistent: false}, () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
