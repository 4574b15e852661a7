CREATE TABLE "github_refusals" (
	"repository_github_id" bigint NOT NULL,
	"thread_number" integer NOT NULL,
	"login" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "github_refusals_repository_github_id_thread_number_login_pk" PRIMARY KEY("repository_github_id","thread_number","login")
);
--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "payload" jsonb;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "thread_key" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "locked_by" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "locked_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "done_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "failed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "last_error" text;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_open" ON "webhook_deliveries" USING btree ("thread_key","received_at") WHERE "webhook_deliveries"."done_at" is null and "webhook_deliveries"."failed_at" is null;--> statement-breakpoint
-- Deliveries stored before the inbox existed were handled then.
UPDATE "webhook_deliveries" SET "done_at" = "received_at" WHERE "done_at" IS NULL;
