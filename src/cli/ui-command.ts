import { spawn } from 'node:child_process';
import { openFolderViews } from '../api/folder-views.js';
import { BmError, ErrorCode } from '../errors.js';
import { openFolder } from '../api/open-folder.js';
import { startUiServer } from '../ui/ui-server.js';
import { ExitCode } from './exit-codes.js';
import type { DirOption } from './options.js';
import type { Output } from './output.js';

/** `bm-log ui` flags. */
export interface UiFlags extends DirOption {
  readonly port?: number | undefined;
  /** False with `--no-open`: print the URL, launch no browser. */
  readonly open?: boolean | undefined;
}

/** The program that opens a URL in the default browser here. */
function opener(): string {
  return process.platform === 'darwin' ? 'open' : 'xdg-open';
}

/** Opens `url` in a browser, without a shell; a missing or failing opener is ignored (the URL is printed). */
function openBrowser(url: string): void {
  try {
    const child = spawn(opener(), [url], { stdio: 'ignore', detached: true, shell: false });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No opener: the printed URL is the way in.
  }
}

/**
 * `bm-log ui [--port N] [--no-open]`: serves the web view of this folder on 127.0.0.1 until
 * a signal comes (ADR-0030). stdout's first line is the URL with its token; the folder is
 * held only while a request runs (ADR-0028), so `sync --watch` keeps working beside it.
 */
export async function runUiCommand(o: UiFlags, out: Output): Promise<number> {
  if (o.port !== undefined && o.port > 65535)
    throw new BmError(ErrorCode.usage, `--port ${o.port} is not a port`, 'use 1 to 65535, or 0 for a free one');
  const folder = await openFolder(o.dir ?? process.cwd());
  const views = await openFolderViews(folder);
  const server = await startUiServer(folder, views, { port: o.port ?? 0 }).catch((e: unknown) => {
    const code = (e as { code?: unknown }).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw e;
    throw new BmError(
      ErrorCode.usage,
      `cannot listen on 127.0.0.1:${o.port} (${String(code)})`,
      'pick another --port, or leave it out for a free one',
    );
  });
  out.stdout(`${server.url}\n`);
  out.stderr(`serving ${folder.root} on 127.0.0.1:${server.port} (only with the token in the URL above); Ctrl-C to stop\n`);
  if (o.open !== false) openBrowser(server.url);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return ExitCode.ok;
}
