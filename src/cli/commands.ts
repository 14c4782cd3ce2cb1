/** Every CLI command, in the order `--help` lists them. */
import { casesListCommand, casesShowCommand, casesVerifyAuditCommand } from './cases.js';
import { dlqListCommand, dlqReplayCommand } from './dlq.js';
import { escalationsListCommand, escalationsResolveCommand } from './escalations.js';
import { onboardCommand } from './onboard.js';
import type { CommandSpec } from './spec.js';

export const COMMANDS: readonly CommandSpec[] = [
  onboardCommand,
  casesListCommand,
  casesShowCommand,
  casesVerifyAuditCommand,
  escalationsListCommand,
  escalationsResolveCommand,
  dlqListCommand,
  dlqReplayCommand,
];

/** Commands with a sub-command (`cases list`), by their first word. */
export const GROUPS: ReadonlyMap<string, readonly CommandSpec[]> = (() => {
  const m = new Map<string, CommandSpec[]>();
  for (const c of COMMANDS) {
    if (c.path.length < 2 || c.path[0] === undefined) continue;
    m.set(c.path[0], [...(m.get(c.path[0]) ?? []), c]);
  }
  return m;
})();
