/**
 * The Probot app: a function of `app`. Thin: verify-once (delivery dedupe),
 * parse, hand over to the intake in the background so GitHub gets its answer at once.
 */
import type { Probot } from "probot";
import type { Db } from "../db/client.js";
import { claimDelivery } from "../db/deliveries.js";
import type { BackgroundTasks } from "../util/tasks.js";
import type { GitHubGateway } from "./gateway.js";
import type { GitHubIntake } from "./intake.js";
import { HANDLED_EVENTS, parseTrigger } from "./triggers.js";

export interface InspectAppDeps {
  db: Db;
  intake: GitHubIntake;
  github: GitHubGateway;
  tasks: BackgroundTasks;
  handle: string;
}

export function inspectApp(deps: InspectAppDeps) {
  return (app: Probot) => {
    app.on([...HANDLED_EVENTS], async (context) => {
      if (!(await claimDelivery(deps.db, context.id, context.name))) {
        context.log.debug({ delivery: context.id }, "redelivery ignored");
        return;
      }
      deps.tasks.run(`webhook ${context.name} ${context.id}`, async () => {
        const botLogin = await deps.github.botLogin().catch(() => null);
        const trigger = parseTrigger(context.name, context.payload, { handle: deps.handle, botLogin });
        if (trigger.kind === "ignore") return;
        const result = await deps.intake.handle(trigger);
        context.log.info({ delivery: context.id, event: context.name, result }, "webhook handled");
      });
    });
  };
}
