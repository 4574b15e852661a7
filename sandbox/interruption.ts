/**
 * Why the runner itself cut a turn short — it ran past INSPECT_TURN_TIMEOUT or its budget, the
 * runner is shutting down, or the control plane has been out of reach too long. Unlike a user's stop,
 * the turn's work is kept: committed and pushed, and the prompt ends failed with `message`.
 * It travels as the reason of the turn's AbortSignal.
 */
export class Interruption {
  constructor(
    readonly message: string,
    readonly code: "turn_timeout" | "runner_shutdown" | "contact_lost" | "budget_exceeded",
  ) {}
}

/** The interruption a turn's stop signal carries, if it was one (null for a user's stop). */
export function interruptionOf(signal: AbortSignal): Interruption | null {
  return signal.aborted && signal.reason instanceof Interruption ? signal.reason : null;
}
