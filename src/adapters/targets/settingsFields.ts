/**
 * Settings fields the webhook and command targets share: which action types a target
 * accepts, its call timeout, and environment-variable names. One definition, so both targets
 * read and report them the same way.
 */
import { z } from 'zod';
import { DurationMs } from '../../config/duration.js';
import { ActionEnvelopeSchema, type ActionEnvelope } from '../../dispatch/envelope.js';
import { TargetError } from '../../errors.js';

/** Every action type, in envelope order: the default of `actions`. */
export const ALL_ACTION_TYPES: readonly ActionEnvelope['type'][] =
  ActionEnvelopeSchema.shape.type.options;

/**
 * `actions`: the subset of action types a target accepts (default all). Listing a type twice
 * is harmless and folded away; an empty list would make a target that can do nothing, which
 * is a mistake rather than a way to disable it.
 */
export const AcceptedActionsSchema = z
  .array(ActionEnvelopeSchema.shape.type)
  .min(1, 'list at least one of scale, restart, rollback (or leave actions out for all)')
  .transform((types) => ALL_ACTION_TYPES.filter((type) => types.includes(type)))
  .default([...ALL_ACTION_TYPES]);

/** `timeout`: a positive duration (`"5s"` or milliseconds), in milliseconds. */
export function timeoutMsSchema(defaultMs: number) {
  return DurationMs.refine((ms) => ms > 0, 'must be longer than 0').default(defaultMs);
}

/** A POSIX environment-variable name. */
export const EnvVarNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name like MY_SECRET');

/**
 * Refuses an action type the target's settings do not accept. The executor checks
 * `supports()` first; this guards direct callers, and never passes on retry.
 */
export function assertAccepts(
  accepted: readonly ActionEnvelope['type'][],
  type: ActionEnvelope['type'],
  where: string,
): void {
  if (!accepted.includes(type)) {
    throw new TargetError(
      `${where} does not accept ${type} (its actions are: ${accepted.join(', ')})`,
      { retriable: false },
    );
  }
}
