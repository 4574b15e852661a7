import { lt } from "drizzle-orm";
import type { Db } from "./client.js";
import { webhookDeliveries } from "./schema.js";

/** True the first time a delivery id is seen; false for a redelivery. */
export async function claimDelivery(db: Db, id: string, event: string): Promise<boolean> {
  const rows = await db
    .insert(webhookDeliveries)
    .values({ id, event })
    .onConflictDoNothing()
    .returning({ id: webhookDeliveries.id });
  return rows.length === 1;
}

/** GitHub redelivers for at most a few days; older ids can go. */
export async function pruneDeliveries(db: Db, olderThan: Date): Promise<void> {
  await db.delete(webhookDeliveries).where(lt(webhookDeliveries.receivedAt, olderThan));
}
