/**
 * The committed migrations are what the schema says: a schema change without
 * `npm run db:generate` would start fine on an old database and fail on a new one.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");

it("has a migration for everything in the schema", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "inspect-migrations-"));
  try {
    const out = path.join(dir, "m");
    cpSync(path.join(root, "app/db/migrations"), out, { recursive: true });
    const before = readdirSync(out).sort();
    // drizzle-kit takes --out relative to the working directory.
    const said = execFileSync(process.execPath, [path.join(root, "node_modules/drizzle-kit/bin.cjs"), "generate", "--dialect", "postgresql", "--schema", "./app/db/schema.ts", "--out", path.relative(root, out)], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(readdirSync(out).sort()).toEqual(before);
    expect(said).toContain("No schema changes");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
