CREATE TABLE "oidc_token_uses" (
	"jti" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "github_run_id" bigint;--> statement-breakpoint
CREATE INDEX "oidc_token_uses_expires" ON "oidc_token_uses" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "runs_github_run_id" ON "runs" USING btree ("github_run_id") WHERE "runs"."github_run_id" is not null;