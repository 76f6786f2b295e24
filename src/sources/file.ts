// File source: a directory of multi-document YAML manifests, watched, emitted
// as a stream of consistent, debounced resource sets. The parts live in
// ./file/: yaml (safe reading), manifest (one file), state (the state file),
// directory (one scan), watch (the stream), limits.
export { DEFAULT_FILE_LIMITS, LIMIT_FLAGS, MAX_YAML_DEPTH, fileLimits, type FileLimits } from './file/limits.js';
export { fileKey, parseManifestText, type Diagnostic, type ParsedManifest } from './file/manifest.js';
export { CreationClock, SourceState, STATE_VERSION } from './file/state.js';
export { ManifestDirectory, isManifest, listManifestFiles, type ManifestDirectoryOptions, type ResourceSet, type ScanOptions } from './file/directory.js';
export { watchManifestDirectory, type WatchOptions } from './file/watch.js';
