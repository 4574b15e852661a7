DROP INDEX "sessions_thread";--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "check_run_claim" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "check_run_claimed_at" timestamp with time zone;--> statement-breakpoint
-- Before the index can exist, a thread's older live sessions (which racing webhooks could create) are archived.
UPDATE "sessions" AS "older" SET "status" = 'archived', "status_reason" = 'superseded by a newer session on the same thread', "updated_at" = now()
WHERE "older"."status" <> 'archived' AND "older"."thread_number" IS NOT NULL AND EXISTS (
  SELECT 1 FROM "sessions" AS "newer"
  WHERE "newer"."repository_id" = "older"."repository_id" AND "newer"."thread_kind" = "older"."thread_kind"
    AND "newer"."thread_number" = "older"."thread_number" AND "newer"."status" <> 'archived'
    AND ("newer"."created_at", "newer"."id") > ("older"."created_at", "older"."id")
);--> statement-breakpoint
CREATE UNIQUE INDEX "sessions_one_per_thread" ON "sessions" USING btree ("repository_id","thread_kind","thread_number") WHERE "sessions"."status" <> 'archived' and "sessions"."thread_number" is not null;--> statement-breakpoint
CREATE INDEX "sessions_head_branch" ON "sessions" USING btree ("repository_id","head_branch");