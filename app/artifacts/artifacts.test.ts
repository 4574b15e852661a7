/**
 * Artifacts are read as their session is: a viewer who can read the session's repository gets
 * the file (its type, never sniffed or rendered as a page); one who cannot gets 403 and nothing
 * of it; a wrong id is 404, a malformed one 400.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upsertRepository } from "../db/accounts.js";
import { signIn, startWebStack, type WebStack } from "../../test/support/web-stack.js";
import { insertArtifact } from "./store.js";

const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
let stack: WebStack;
let alice: string;
let readable: number;
let hidden: number;

beforeAll(async () => {
  stack = await startWebStack({ alice: { "acme/widgets": { pull: true, push: false } } }, { withRooms: false });
  const db = stack.inspect.database.db;
  const secret = await upsertRepository(db, { owner: "acme", name: "secret", githubId: 4343 });
  await stack.createSession("sessShots1", "Screenshots");
  await stack.createSession("sessShots2", "Hidden screenshots", "alice", { repositoryId: secret.id });
  const shot = (sessionId: string) =>
    insertArtifact(db, {
      sessionId,
      name: "page-1.png",
      contentType: "image/png",
      data: PNG.toString("base64"),
      size: PNG.length,
    });
  readable = (await shot("sessShots1")).id;
  hidden = (await shot("sessShots2")).id;
  alice = await signIn(stack, "alice");
});
afterAll(async () => {
  await stack?.close();
});

const get = (path: string, cookie: string | null = alice) =>
  fetch(`${stack.url}${path}`, { headers: cookie ? { cookie } : {} });

describe("artifacts", () => {
  it("serves a readable session's screenshot as an image, and nothing else", async () => {
    const res = await get(`/api/sessions/sessShots1/artifacts/${readable}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG);
    expect((await get(`/api/sessions/sessShots1/artifacts/${hidden}`)).status).toBe(404);
    expect((await get(`/api/sessions/sessShots1/artifacts/x`)).status).toBe(400);
  });

  it("refuses a viewer who cannot read the repository, and one not signed in", async () => {
    const res = await get(`/api/sessions/sessShots2/artifacts/${hidden}`);
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect((await get(`/api/sessions/sessShots1/artifacts/${readable}`, null)).status).toBe(401);
  });
});
