/// <reference types="node" />
/**
 * `taskpool`'s private temporary directory, named after the process that made it
 * (`taskpool-PID-XXXXXX`): removed on every exit Node.js sees, and, when the process was killed
 * without a chance to (SIGKILL), at the next start of `taskpool` in the same place, once that
 * process is gone. Only what matches that name exactly, belongs to this user and whose process
 * no longer runs is removed.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

/** The name of a directory of `taskpool` (or of an unnamed spool file, `taskpool-PID-N-X`), and its pid. */
const OURS = /^taskpool-([1-9][0-9]*)-[A-Za-z0-9]{6}$|^taskpool-([1-9][0-9]*)-[0-9]+-[a-z0-9]+$/;

/** Whether a process of that pid runs (or is a zombie not yet reaped). A process of another user counts as running. */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what `taskpool` processes that no longer run have left in `base`: their directories
 * and unnamed spool files (a file's name is removed as soon as it is made, so only a process
 * killed in between leaves one). Returns the names removed.
 */
export function removeStale(base: string, runs: (pid: number) => boolean = processRuns): string[] {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const match = OURS.exec(name);
    if (match === null) continue;
    const pid = Number(match[1] ?? match[2]);
    if (pid === process.pid || runs(pid)) continue;
    const path = join(base, name);
    try {
      const stat = lstatSync(path);
      if (stat.isSymbolicLink() || (uid !== undefined && stat.uid !== uid)) continue;
      if (match[1] !== undefined ? !stat.isDirectory() : !stat.isFile()) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

/** Removes what dead `taskpool` processes left in `base`, then makes this process's directory there. */
export function claimDirectory(base: string): string {
  removeStale(base);
  return mkdtempSync(join(base, `taskpool-${process.pid}-`));
}

/** Removes the directory and everything in it. */
export function releaseDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
}
