/** Installations, repositories and users: upserted from whatever GitHub tells us. */
import { eq } from "drizzle-orm";
import type { Db } from "./client.js";
import { installations, repositories, users } from "./schema.js";

export type RepositoryRow = typeof repositories.$inferSelect;
export type UserRow = typeof users.$inferSelect;

export async function upsertInstallation(db: Db, id: number, accountLogin: string): Promise<void> {
  await db
    .insert(installations)
    .values({ id, accountLogin })
    .onConflictDoUpdate({ target: installations.id, set: { accountLogin } });
}

export interface RepositoryInput {
  githubId?: number | null;
  owner: string;
  name: string;
  installationId?: number | null;
  defaultBranch?: string;
  private?: boolean;
  localPath?: string | null;
}

export async function upsertRepository(db: Db, r: RepositoryInput): Promise<RepositoryRow> {
  const fullName = `${r.owner}/${r.name}`;
  const values = {
    githubId: r.githubId ?? null,
    owner: r.owner,
    name: r.name,
    fullName,
    installationId: r.installationId ?? null,
    defaultBranch: r.defaultBranch ?? "main",
    private: r.private ?? true,
    localPath: r.localPath ?? null,
  };
  const [row] = await db
    .insert(repositories)
    .values(values)
    .onConflictDoUpdate({ target: repositories.fullName, set: values })
    .returning();
  return row!;
}

export async function getRepository(db: Db, id: number): Promise<RepositoryRow | undefined> {
  const [row] = await db.select().from(repositories).where(eq(repositories.id, id));
  return row;
}

export async function findRepositoryByFullName(db: Db, fullName: string): Promise<RepositoryRow | undefined> {
  const [row] = await db.select().from(repositories).where(eq(repositories.fullName, fullName));
  return row;
}

export interface UserInput {
  githubId?: number | null;
  login: string;
  name?: string | null;
  avatarUrl?: string | null;
}

export async function upsertUser(db: Db, u: UserInput): Promise<UserRow> {
  const set: Partial<typeof users.$inferInsert> = { login: u.login };
  if (u.githubId != null) set.githubId = u.githubId;
  if (u.name != null) set.name = u.name;
  if (u.avatarUrl != null) set.avatarUrl = u.avatarUrl;
  const [row] = await db
    .insert(users)
    .values({ login: u.login, githubId: u.githubId ?? null, name: u.name ?? null, avatarUrl: u.avatarUrl ?? null })
    .onConflictDoUpdate({ target: users.login, set })
    .returning();
  return row!;
}

export async function getUser(db: Db, id: number): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id));
  return row;
}
