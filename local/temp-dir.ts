/**
 * A temporary directory that the local runtime owns for the length of a run (an on-disk table,
 * the record of a run of days): created fresh, removed by `remove()` or, if the process ends
 * first, when it exits. Removing it twice is harmless.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly path: string;
  remove(): void;
}

export function createTempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const remove = (): void => {
    rmSync(path, { recursive: true, force: true });
    process.removeListener('exit', remove);
  };
  process.once('exit', remove);
  return { path, remove };
}
