ALTER TABLE "prompts" ADD COLUMN "changed_files" integer;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "pr_claimed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "check_run_open" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "check_run_sha" text;