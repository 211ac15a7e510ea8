/**
 * planInit (ADR-0018): a vault is created only when asked, never over one that exists or
 * over other files; a plain init only joins. The table is the whole decision.
 */
import { describe, expect, it } from 'vitest';
import type { VaultId } from '../../src/events/ids.js';
import { planInit, type InitMode, type RemoteHolds } from '../../src/client/vault-creation.js';

const VAULT = '01JVAULT000000000000000000' as VaultId;
const CREATE = 'bm-log init --create --remote /shared/team';

const TABLE: readonly [RemoteHolds, InitMode, string][] = [
  [{ kind: 'missing' }, 'create', 'create'],
  [{ kind: 'empty' }, 'create', 'create'],
  [{ kind: 'vault', vault: VAULT }, 'create', 'refuse: already holds a bm-log vault'],
  [{ kind: 'other', example: 'photos' }, 'create', 'refuse: holds other files'],
  [{ kind: 'missing' }, 'join', 'refuse: does not exist'],
  [{ kind: 'empty' }, 'join', 'refuse: holds no bm-log vault'],
  [{ kind: 'vault', vault: VAULT }, 'join', 'join'],
  [{ kind: 'other', example: 'photos' }, 'join', 'refuse: holds other files'],
];

describe('planInit', () => {
  it.each(TABLE)('%o with %s: %s', (holds, mode, expected) => {
    const d = planInit(holds, mode, '/shared/team', CREATE);
    if (d.action === 'refuse') {
      expect(expected).toMatch(/^refuse: /);
      expect(d.error.message).toContain(expected.slice('refuse: '.length));
      expect(d.error.code).toBe('usage');
    } else {
      expect(d.action).toBe(expected);
      if (d.action === 'join') expect(d.vault).toBe(VAULT);
    }
  });

  it('a refusal to join a missing or empty remote says how to create one, with the command', () => {
    for (const holds of [{ kind: 'missing' }, { kind: 'empty' }] as const) {
      const d = planInit(holds, 'join', '/shared/team', CREATE);
      expect(d.action).toBe('refuse');
      if (d.action === 'refuse') expect(d.error.hint).toContain(`\`${CREATE}\``);
    }
  });
});
