import type { BmFolder } from '../api/open-folder.js';
import type { FolderViews } from '../api/folder-views.js';
import { computePathProblem } from '../events/sync-path.js';

/*
 * The web view's JSON API (ADR-0030): each route calls the library API (`BmFolder`,
 * `FolderViews`) and nothing else. Every path a request names is checked as a sync path
 * first (no `..`, not absolute, nothing in a `.bm-log`): a bad one is refused (403).
 */

/** A request as a route sees it: its query and its parsed JSON body. */
export interface RouteInput {
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
}

/** A refusal of a route's input (403 with this text). */
export class RefusedInput extends Error {}

/** A request's path parameter, checked as a sync path. */
export function mustRoutePath(value: unknown): string {
  if (typeof value !== 'string') throw new RefusedInput('a path is required');
  const p = value.replace(/^\.\//, '');
  const problem = computePathProblem(p);
  if (problem !== undefined) throw new RefusedInput(`path ${JSON.stringify(value)} is outside the vault or not a sync path: ${problem}`);
  return p;
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function mustString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new RefusedInput(`${what} is required`);
  return value;
}

type Route = (folder: BmFolder, views: FolderViews, input: RouteInput) => Promise<unknown>;

const limitOf = (q: URLSearchParams) => Math.min(Math.max(Number.parseInt(q.get('limit') ?? '200', 10) || 200, 1), 2000);

/** GET routes: reads only. */
export const GET_ROUTES: Readonly<Record<string, Route>> = {
  '/api/pulse': (_f, v) => v.pulse(),
  '/api/folder': async (f) => ({ root: f.root, clientId: f.clientId, name: f.name }),
  '/api/activity': (_f, v, { query }) => v.activity(limitOf(query)),
  '/api/files': (f) => f.list(),
  '/api/history': (f, _v, { query }) => f.history(mustRoutePath(query.get('path')), { limit: limitOf(query) }),
  '/api/diff': (_f, v, { query }) =>
    v.diff(mustRoutePath(query.get('path')), optionalString(query.get('from')), mustString(query.get('to'), 'to')),
  '/api/conflicts': (f) => f.conflicts(),
  '/api/conflict': (_f, v, { query }) => v.conflictSides(mustRoutePath(query.get('path'))),
  '/api/deleted': (_f, v) => v.deleted(),
  '/api/clients': (_f, v) => v.clients(),
  '/api/members': (_f, v) => v.members(),
  '/api/status': (f) => f.status(),
};

/** POST routes: the actions, each one API call. */
export const POST_ROUTES: Readonly<Record<string, Route>> = {
  '/api/sync': (f) => f.sync(),
  '/api/verify': (f) => f.verify(),
  '/api/resolve': (f, v, { body }) => {
    const p = mustRoutePath(body['path']);
    if (typeof body['text'] === 'string') {
      const heads = Array.isArray(body['heads']) ? body['heads'].filter((h): h is string => typeof h === 'string') : [];
      return v.resolveWithText(p, body['text'], heads);
    }
    return f.resolve(p, { keep: mustString(body['keep'], 'keep') });
  },
  '/api/restore': (f, _v, { body }) => f.restore(mustRoutePath(body['path']), { at: mustString(body['at'], 'at') }),
};
