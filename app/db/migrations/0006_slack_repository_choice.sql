CREATE TABLE "slack_channel_defaults" (
	"team_id" text NOT NULL,
	"channel" text NOT NULL,
	"repository_id" integer NOT NULL,
	"set_by_user_id" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "slack_channel_defaults_team_id_channel_pk" PRIMARY KEY("team_id","channel")
);
--> statement-breakpoint
CREATE TABLE "slack_picks" (
	"id" text PRIMARY KEY NOT NULL,
	"team_id" text NOT NULL,
	"channel" text NOT NULL,
	"thread_ts" text NOT NULL,
	"message_ts" text NOT NULL,
	"slack_user_id" text NOT NULL,
	"text" text NOT NULL,
	"candidates" jsonb NOT NULL,
	"taken_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "slack_threads" ADD COLUMN "permalink" text;--> statement-breakpoint
ALTER TABLE "slack_channel_defaults" ADD CONSTRAINT "slack_channel_defaults_repository_id_repositories_id_fk" FOREIGN KEY ("repository_id") REFERENCES "public"."repositories"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "slack_channel_defaults" ADD CONSTRAINT "slack_channel_defaults_set_by_user_id_users_id_fk" FOREIGN KEY ("set_by_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;