import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';

/** A maker of fresh temp folders named `prefix`..., all removed after the file's tests. */
export function useTempDirs(prefix: string): () => Promise<string> {
  const made: string[] = [];
  afterAll(async () => Promise.all(made.map((d) => fs.rm(d, { recursive: true, force: true }))));
  return async () => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
}
