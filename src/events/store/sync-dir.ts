import * as fs from 'node:fs/promises';

/**
 * fsyncs a folder so a rename or link into it survives a power cut. Some file systems
 * (network mounts) do not support it; the rename or link itself is still atomic, only its
 * durability is weaker, so a failure here is not an error.
 */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await fs.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // See above: durability only.
  }
}
