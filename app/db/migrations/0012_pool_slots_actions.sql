ALTER TABLE "pool_slots" ADD COLUMN "purpose" text DEFAULT 'pool' NOT NULL;--> statement-breakpoint
ALTER TABLE "pool_slots" ADD COLUMN "github_run_id" bigint;--> statement-breakpoint
CREATE UNIQUE INDEX "pool_slots_github_run_id" ON "pool_slots" USING btree ("github_run_id") WHERE "pool_slots"."github_run_id" is not null;