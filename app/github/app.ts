/**
 * The Probot app: a function of `app`. Thin: a verified delivery that could make Inspect act is
 * stored in the inbox before GitHub gets its answer (a failure to store is a 500, so GitHub shows
 * the delivery failed); the inbox then hands it, in its thread's order, to `handleDelivery`.
 */
import type { Probot } from "probot";
import type { DeliveryRow } from "../db/deliveries.js";
import type { Logger } from "../util/tasks.js";
import type { GitHubGateway } from "./gateway.js";
import type { WebhookInbox } from "./inbox.js";
import type { GitHubIntake } from "./intake.js";
import { HANDLED_EVENTS, parseTrigger, threadKeyOf, worthStoring, type Trigger } from "./triggers.js";

export interface InspectAppDeps {
  inbox: WebhookInbox;
  handle: string;
}

export function inspectApp(deps: InspectAppDeps) {
  return (app: Probot) => {
    app.on([...HANDLED_EVENTS], async (context) => {
      if (!worthStoring(context.name, context.payload, deps.handle)) return;
      const stored = await deps.inbox.accept({
        id: context.id,
        event: context.name,
        payload: withoutNul(context.payload),
        threadKey: threadKeyOf(context.payload),
      });
      if (!stored) context.log.debug({ delivery: context.id }, "redelivery ignored");
    });
  };
}

export interface DeliveryHandlerDeps {
  intake: GitHubIntake;
  github: GitHubGateway;
  handle: string;
  log: Logger;
}

/** A stored delivery, handled: throws when it should be tried again. */
export function deliveryHandler(deps: DeliveryHandlerDeps) {
  return async (delivery: DeliveryRow): Promise<void> => {
    const payload = delivery.payload as { action?: string } | null;
    // Only an assignment needs to know which bot is Inspect; then it must, or it is retried.
    const assignment = delivery.event === "issues" && /assigned$/.test(String(payload?.action));
    const botLogin = assignment ? await deps.github.botLogin() : await deps.github.botLogin().catch(() => null);
    let trigger: Trigger;
    try {
      trigger = parseTrigger(delivery.event, payload, { handle: deps.handle, botLogin });
    } catch (err) {
      // Unreadable now is unreadable on every retry.
      deps.log.warn({ delivery: delivery.id, err }, "webhook payload could not be read; ignored");
      return;
    }
    if (trigger.kind === "ignore") return;
    const result = await deps.intake.handle(trigger, { receivedAt: delivery.receivedAt, attempt: delivery.attempts });
    deps.log.info({ delivery: delivery.id, event: delivery.event, result }, "webhook handled");
  };
}

/** PostgreSQL's jsonb cannot hold U+0000; GitHub text never carries it meaningfully. */
function withoutNul(value: unknown): unknown {
  if (typeof value === "string") return value.includes("\0") ? value.replaceAll("\0", "") : value;
  if (Array.isArray(value)) return value.map(withoutNul);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k) as string, withoutNul(v)]));
  return value;
}
