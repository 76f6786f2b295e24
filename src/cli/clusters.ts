// `--config-dir` and `--cluster-name` pairs: one directory of manifests per
// cluster. The first pair is the default cluster (settings.clusterName), whose
// resources are not stamped; the others' resources carry their cluster.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { combineLatest, map, type Observable } from 'rxjs';
import { ManifestDirectory, SourceState, watchManifestDirectory, type ManifestDirectoryOptions, type ResourceSet, type WatchOptions } from '../sources/file.js';
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

/** Each directory's source state; `warn` hears why a state file could not be used. */
function directories(dirs: ClusterDir[], stateFile: string | undefined, record: boolean, opts: ManifestDirectoryOptions, warn?: (msg: string) => void): ManifestDirectory[] {
  return dirs.map((d) => {
    const state = new SourceState(stateFileOf(dirs, stateFile, d), record);
    if (state.loadProblem) warn?.(state.loadProblem);
    return new ManifestDirectory(d.dir, state, [], opts);
  });
}

/** One scan of every directory (explain, validate): never writes state files. */
export function scanClusterDirs(dirs: ClusterDir[], stateFile?: string, opts: ManifestDirectoryOptions = {}, warn?: (msg: string) => void): ResourceSet {
  return mergeResourceSets(directories(dirs, stateFile, false, opts, warn).map((m, i) => stampCluster(m.scan(), dirs[i].cluster)));
}

/** Every directory watched; a change in any emits the merged set of all (serve). */
export function watchClusterDirs(dirs: ClusterDir[], stateFile: string | undefined, watch: WatchOptions, opts: ManifestDirectoryOptions = {}, warn?: (msg: string) => void): Observable<ResourceSet> {
  const streams = directories(dirs, stateFile, true, opts, warn).map((m, i) => watchManifestDirectory(m, watch).pipe(map((set) => stampCluster(set, dirs[i].cluster))));
  return streams.length === 1 ? streams[0] : combineLatest(streams).pipe(map(mergeResourceSets));
}
