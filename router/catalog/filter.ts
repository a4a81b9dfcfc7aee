import picomatch from 'picomatch';

/**
 * A predicate over upstream tool names from `tools.include` / `tools.exclude` glob lists (picomatch syntax).
 * An empty include list keeps every name; exclude wins over include.
 */
export function toolFilter(filter: {include: string[]; exclude: string[]}): (name: string) => boolean {
  const include = filter.include.length > 0 ? picomatch(filter.include) : () => true;
  const exclude = filter.exclude.length > 0 ? picomatch(filter.exclude) : () => false;
  return (name) => include(name) && !exclude(name);
}
