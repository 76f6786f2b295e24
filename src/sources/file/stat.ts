// A manifest file's stat, and when it proves that the file is still what was
// read before. A scan after one save then reads that file only: the others
// cost one stat each. The watcher's periodic full scan still reads everything.
import { readFileSync, statSync, type BigIntStats } from 'node:fs';

/** How the directory stats and reads files: node:fs, or a test's stand-in. */
export interface FileAccess {
  stat(path: string): BigIntStats;
  read(path: string): Buffer;
}

export const nodeFiles: FileAccess = {
  stat: (path) => statSync(path, { bigint: true }),
  read: (path) => readFileSync(path),
};

export interface FileStat {
  isFile: boolean;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  /** dev, inode, size and nanosecond times: equal only for the same file, unchanged. */
  identity: string;
  /** The later of mtime and ctime, in ms. */
  changedMs: number;
}

const ms = (ns: bigint): number => Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;

export function fileStat(st: BigIntStats): FileStat {
  const mtimeMs = ms(st.mtimeNs);
  const ctimeMs = ms(st.ctimeNs);
  return {
    isFile: st.isFile(),
    size: Number(st.size),
    mtimeMs,
    ctimeMs,
    identity: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`,
    changedMs: Math.max(mtimeMs, ctimeMs),
  };
}

/**
 * File times have a granularity (a kernel tick; seconds on some file
 * systems): a write just after a read can leave the same stat behind. A stat
 * proves nothing about a file changed this shortly before it was read (git's
 * "racily clean" files), so such a file is read again at the next scan.
 */
export const RACY_MS = 2000;

/** The stat, taken at `readStartMs` or later, can stand for the content read. */
export const trustworthy = (st: FileStat, readStartMs: number): boolean => st.changedMs < readStartMs - RACY_MS;
