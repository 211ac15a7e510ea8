/*
 * The commands' entry points, each loading its module when the command runs. `--version`,
 * `--help` and a usage error load only commander and the registrations (main.ts); a command
 * loads what it uses, not every other command's modules too (each is its own import graph:
 * the index, the projections, the planner, the stores). Start-up figures: docs/performance.md.
 */

/** `run` from a module loaded on its first call. */
function lazy<A extends unknown[], R>(load: () => Promise<(...args: A) => Promise<R>>): (...args: A) => Promise<R> {
  return async (...args) => (await load())(...args);
}

export const runInitCommand = lazy(async () => (await import('./init-command.js')).runInitCommand);
export const runSyncCommand = lazy(async () => (await import('./sync-command.js')).runSyncCommand);
export const runStatusCommand = lazy(async () => (await import('./status-command.js')).runStatusCommand);
export const runConflictsCommand = lazy(async () => (await import('./conflict-commands.js')).runConflictsCommand);
export const runResolveCommand = lazy(async () => (await import('./conflict-commands.js')).runResolveCommand);
export const runSubscribeCommand = lazy(async () => (await import('./subscription-commands.js')).runSubscribeCommand);
export const runUnsubscribeCommand = lazy(async () => (await import('./subscription-commands.js')).runUnsubscribeCommand);
export const runLogCommand = lazy(async () => (await import('./log-command.js')).runLogCommand);
export const runShowCommand = lazy(async () => (await import('./history-commands.js')).runShowCommand);
export const runRestoreCommand = lazy(async () => (await import('./history-commands.js')).runRestoreCommand);
export const runLsCommand = lazy(async () => (await import('./history-commands.js')).runLsCommand);
export const runDiffCommand = lazy(async () => (await import('./diff-command.js')).runDiffCommand);
export const runVerifyCommand = lazy(async () => (await import('./verify-command.js')).runVerifyCommand);
export const runDoctorCommand = lazy(async () => (await import('./verify-command.js')).runDoctorCommand);
export const runGcCommand = lazy(async () => (await import('./gc-commands.js')).runGcCommand);
export const runCheckpointCommand = lazy(async () => (await import('./gc-commands.js')).runCheckpointCommand);
export const runClientsCommand = lazy(async () => (await import('./gc-commands.js')).runClientsCommand);
export const runRetireCommand = lazy(async () => (await import('./gc-commands.js')).runRetireCommand);
export const runUiCommand = lazy(async () => (await import('./ui-command.js')).runUiCommand);
export const runMembersListCommand = lazy(async () => (await import('./members-command.js')).runMembersListCommand);
export const runMembersInitCommand = lazy(async () => (await import('./members-command.js')).runMembersInitCommand);
export const runMemberChangeCommand = lazy(async () => (await import('./members-command.js')).runMemberChangeCommand);
export const runMembersInviteCommand = lazy(async () => (await import('./members-command.js')).runMembersInviteCommand);
