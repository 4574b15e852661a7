CREATE TABLE "pool_slots" (
	"id" text PRIMARY KEY NOT NULL,
	"repository_id" integer NOT NULL,
	"base_branch" text NOT NULL,
	"state" text DEFAULT 'starting' NOT NULL,
	"claim_token_hash" text,
	"token_hash" text,
	"session_id" text,
	"run_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_at" timestamp with time zone,
	"ready_at" timestamp with time zone,
	"assigned_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"end_reason" text
);
--> statement-breakpoint
ALTER TABLE "pool_slots" ADD CONSTRAINT "pool_slots_repository_id_repositories_id_fk" FOREIGN KEY ("repository_id") REFERENCES "public"."repositories"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_slots" ADD CONSTRAINT "pool_slots_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pool_slots_repo_state" ON "pool_slots" USING btree ("repository_id","state");--> statement-breakpoint
CREATE INDEX "pool_slots_state" ON "pool_slots" USING btree ("state");