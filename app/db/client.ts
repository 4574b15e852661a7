/**
 * Opens the database named by the configuration: embedded PGlite when no URL is
 * given, node-postgres for postgres:// URLs, Neon's serverless driver for Neon hosts.
 * Migrations are applied on open; they are idempotent.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import * as schema from "./schema.js";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export interface Database {
  db: Db;
  kind: "pglite" | "postgres" | "neon";
  close(): Promise<void>;
}

export const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

export function isNeonUrl(url: string): boolean {
  try {
    return new URL(url).hostname.endsWith(".neon.tech");
  } catch {
    return false;
  }
}

/** `url` unset → PGlite in `dataDir` (or in memory when dataDir is "memory://"). */
export async function openDatabase(opts: { url?: string; dataDir?: string }): Promise<Database> {
  if (!opts.url) {
    const { PGlite } = await import("@electric-sql/pglite");
    const { drizzle } = await import("drizzle-orm/pglite");
    const { migrate } = await import("drizzle-orm/pglite/migrator");
    let dir: string | undefined;
    if (opts.dataDir && opts.dataDir !== "memory://") {
      dir = path.join(opts.dataDir, "pgdata");
      mkdirSync(opts.dataDir, { recursive: true });
    }
    const client = new PGlite(dir);
    const db = drizzle(client, { schema });
    await migrate(db, { migrationsFolder });
    return { db: db as unknown as Db, kind: "pglite", close: () => client.close() };
  }
  if (isNeonUrl(opts.url)) {
    const { Pool, neonConfig } = await import("@neondatabase/serverless");
    const { default: ws } = await import("ws");
    neonConfig.webSocketConstructor = ws;
    const { drizzle } = await import("drizzle-orm/neon-serverless");
    const { migrate } = await import("drizzle-orm/neon-serverless/migrator");
    const pool = new Pool({ connectionString: opts.url });
    pool.on("error", (err: Error) => reportIdleError(err));
    const db = drizzle(pool, { schema });
    await migrate(db, { migrationsFolder });
    return { db: db as unknown as Db, kind: "neon", close: () => pool.end() };
  }
  const { default: pg } = await import("pg");
  const { drizzle } = await import("drizzle-orm/node-postgres");
  const { migrate } = await import("drizzle-orm/node-postgres/migrator");
  const pool = new pg.Pool({ connectionString: opts.url, max: 10 });
  pool.on("error", (err) => reportIdleError(err));
  const db = drizzle(pool, { schema });
  await migrate(db, { migrationsFolder });
  return { db: db as unknown as Db, kind: "postgres", close: () => pool.end() };
}

/**
 * An idle pooled connection that the server drops (a restart, a failover: "terminating
 * connection due to administrator command") is an `error` event on the pool; unheard, it
 * would crash the process. The pool discards that connection and opens a new one when asked.
 */
function reportIdleError(err: Error): void {
  console.warn(`database: an idle connection was closed (${err.message}); it will be replaced`);
}
