// `--config-dir` and `--cluster-name` pairs: one directory of manifests per
// cluster. The first pair is the default cluster (settings.clusterName), whose
// resources are not stamped; the others' resources carry their cluster.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { combineLatest, map, type Observable } from 'rxjs';
import { CreationClock, ManifestDirectory, watchManifestDirectory, type ResourceSet, type WatchOptions } from '../sources/file.js';
import { mergeResourceSets, stampCluster } from '../sources/clusters.js';

export interface ClusterDir {
  dir: string;
  /** undefined: the default cluster. */
  cluster?: string;
}

/** Repeatable options collect into a list. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function clusterDirs(configDirs: string[], clusterNames: string[] = []): ClusterDir[] {
  if (configDirs.length > 1 && clusterNames.length !== configDirs.length) {
    throw new Error(`give one --cluster-name per --config-dir, in the same order: got ${configDirs.length} directories and ${clusterNames.length} cluster names`);
  }
  if (configDirs.length === 1 && clusterNames.length > 1) throw new Error('several --cluster-name values need as many --config-dir values (one directory per cluster)');
  return configDirs.map((d, i) => {
    const dir = resolve(d);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`config directory ${dir} does not exist or is not a directory`);
    return { dir, ...(i > 0 && clusterNames[i] !== clusterNames[0] ? { cluster: clusterNames[i] } : {}) };
  });
}

const stateFileOf = (dirs: ClusterDir[], stateFile: string | undefined, d: ClusterDir): string => {
  if (stateFile && dirs.length > 1) throw new Error('--state-file works with one --config-dir only; with several, each keeps <config-dir>/.meshplane-state.json');
  return stateFile ?? resolve(d.dir, '.meshplane-state.json');
};

/** One scan of every directory (explain): never writes state files. */
export function scanClusterDirs(dirs: ClusterDir[], stateFile?: string): ResourceSet {
  return mergeResourceSets(dirs.map((d) => stampCluster(new ManifestDirectory(d.dir, new CreationClock(stateFileOf(dirs, stateFile, d), false)).scan(), d.cluster)));
}

/** Every directory watched; a change in any emits the merged set of all (serve). */
export function watchClusterDirs(dirs: ClusterDir[], stateFile: string | undefined, opts: WatchOptions): Observable<ResourceSet> {
  const streams = dirs.map((d) => watchManifestDirectory(new ManifestDirectory(d.dir, new CreationClock(stateFileOf(dirs, stateFile, d))), opts).pipe(map((set) => stampCluster(set, d.cluster))));
  return streams.length === 1 ? streams[0] : combineLatest(streams).pipe(map(mergeResourceSets));
}
