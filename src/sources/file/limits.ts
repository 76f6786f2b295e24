// What one manifest file may cost. Each limit is reported on the file's
// status (key `file:<path>`); the file keeps serving its last valid content.
import type { YamlLimits } from './yaml.js';

export interface FileLimits extends YamlLimits {
  /** Larger files are not read (the Kubernetes API server refuses request bodies over 3 MiB). */
  maxFileBytes: number;
}

export const DEFAULT_FILE_LIMITS: FileLimits = {
  maxFileBytes: 3 * 1024 * 1024,
  maxDepth: 100,
  // go-yaml, which the Kubernetes API server uses, lets small documents grow
  // to about 400,000 nodes through aliases before calling it excessive.
  maxAliasNodes: 400_000,
  // Parsing costs about 1 KB of memory per node while a document is read. The
  // largest real resources (an EndpointSlice of 1,000 endpoints) have ~20,000.
  maxDocumentNodes: 100_000,
};

/** The yaml composer recurses per level: deeper than this risks the stack. */
export const MAX_YAML_DEPTH = 256;

export const LIMIT_FLAGS: Record<keyof FileLimits, string> = {
  maxFileBytes: '--max-file-bytes',
  maxDepth: '--max-yaml-depth',
  maxAliasNodes: '--max-yaml-alias-nodes',
  maxDocumentNodes: '--max-yaml-document-nodes',
};

export function fileLimits(partial: Partial<FileLimits> = {}): FileLimits {
  const limits = { ...DEFAULT_FILE_LIMITS, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${LIMIT_FLAGS[k as keyof FileLimits]} must be a positive integer, got ${v}`);
  }
  if (limits.maxDepth > MAX_YAML_DEPTH) throw new Error(`${LIMIT_FLAGS.maxDepth} can be at most ${MAX_YAML_DEPTH}, got ${limits.maxDepth}`);
  return limits;
}

export function byteSize(bytes: number): string {
  const fmt = (v: number, unit: string) => `${Number.isInteger(v) ? v : v.toFixed(1)} ${unit}`;
  if (bytes >= 1024 * 1024) return fmt(bytes / 1024 / 1024, 'MiB');
  if (bytes >= 1024) return fmt(bytes / 1024, 'KiB');
  return `${bytes} bytes`;
}
