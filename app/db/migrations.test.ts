/**
 * The committed migrations are what the schema says: a schema change without
 * `npm run db:generate` would start fine on an old database and fail on a new one.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { migrationsFolder } from "./client.js";

const root = path.resolve(import.meta.dirname, "../..");

it("has a migration for everything in the schema", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "inspect-migrations-"));
  try {
    const out = path.join(dir, "m");
    cpSync(path.join(root, "app/db/migrations"), out, { recursive: true });
    const before = readdirSync(out).sort();
    // drizzle-kit takes --out relative to the working directory.
    const said = execFileSync(
      process.execPath,
      [
        path.join(root, "node_modules/drizzle-kit/bin.cjs"),
        "generate",
        "--dialect",
        "postgresql",
        "--schema",
        "./app/db/schema.ts",
        "--out",
        path.relative(root, out),
      ],
      {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    expect(readdirSync(out).sort()).toEqual(before);
    expect(said).toContain("No schema changes");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("archives a thread's older live sessions before it makes one live session per thread the rule", async () => {
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  const dir = mkdtempSync(path.join(os.tmpdir(), "inspect-migrations-"));
  const client = new PGlite();
  try {
    // The database as the previous release left it: migrations up to 0001.
    const before = path.join(dir, "before");
    cpSync(migrationsFolder, before, { recursive: true });
    const journal = JSON.parse(readFileSync(path.join(before, "meta/_journal.json"), "utf8"));
    const upTo = journal.entries.findIndex((e: { tag: string }) => e.tag.startsWith("0002_"));
    expect(upTo).toBeGreaterThan(0);
    journal.entries = journal.entries.slice(0, upTo);
    writeFileSync(path.join(before, "meta/_journal.json"), JSON.stringify(journal));
    const db = drizzle(client);
    await migrate(db, { migrationsFolder: before });

    // Two live sessions on issue #5 (the old race), one archived, one on another thread.
    await client.exec(`
      INSERT INTO repositories (id, owner, name, full_name) VALUES (1, 'acme', 'widgets', 'acme/widgets');
      INSERT INTO sessions (id, repository_id, thread_kind, thread_number, title, status, base_branch, head_branch, created_at) VALUES
        ('old', 1, 'issue', 5, 't', 'running', 'main', 'inspect/5-a', now() - interval '2 minutes'),
        ('new', 1, 'issue', 5, 't', 'queued', 'main', 'inspect/5-a', now() - interval '1 minute'),
        ('gone', 1, 'issue', 5, 't', 'archived', 'main', 'inspect/5-a', now() - interval '3 minutes'),
        ('other', 1, 'issue', 6, 't', 'idle', 'main', 'inspect/6-b', now());`);
    await migrate(db, { migrationsFolder });

    const { rows } = await client.query<{ id: string; status: string; status_reason: string | null }>(
      "SELECT id, status, status_reason FROM sessions ORDER BY id",
    );
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      ["gone", "archived"],
      ["new", "queued"],
      ["old", "archived"],
      ["other", "idle"],
    ]);
    expect(rows.find((r) => r.id === "old")?.status_reason).toBe("superseded by a newer session on the same thread");
    // And now the rule holds.
    await expect(
      client.exec(
        "INSERT INTO sessions (id, repository_id, thread_kind, thread_number, title, base_branch, head_branch) VALUES ('dup', 1, 'issue', 5, 't', 'main', 'x')",
      ),
    ).rejects.toThrow(/sessions_one_per_thread/);
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
