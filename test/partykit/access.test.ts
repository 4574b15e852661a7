/**
 * Access control for live sessions, over real HTTP: a signed-in user without read
 * access to the repository gets 403 from the page, the session API and the room
 * token endpoint; one with access gets a token the room accepts. GitHub is faked
 * at the HTTP boundary (as a GHE host), everything else is real.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyViewerToken } from "../../protocol/viewer-token.js";
import { RoomTokenResponse } from "../../protocol/room.js";
import { ROOM_SECRET, signIn, startWebStack, type WebStack } from "../support/web-stack.js";
import { RoomClient } from "../support/room-client.js";

let stack: WebStack;
let alice: string;
let carol: string;
const SID = "sessAccess1";

beforeAll(async () => {
  stack = await startWebStack({ alice: { "acme/widgets": { pull: true, push: true } } });
  await stack.createSession(SID, "Guarded work");
  await stack.append(SID, [{ type: "session.status", data: { status: "running" } }]);
  alice = await signIn(stack, "alice");
  carol = await signIn(stack, "carol");
});
afterAll(async () => {
  await stack?.close();
});

const get = (path: string, cookie?: string, accept = "application/json") =>
  fetch(`${stack.url}${path}`, { redirect: "manual", headers: { accept, ...(cookie ? { cookie } : {}) } });

describe("access to a session", () => {
  it("refuses a signed-in user who cannot read the repository: page, API and room token all 403", async () => {
    expect((await get(`/sessions/${SID}`, carol, "text/html")).status).toBe(403);
    expect((await get(`/api/sessions/${SID}`, carol)).status).toBe(403);
    expect((await get(`/api/sessions/${SID}/events?since=0`, carol)).status).toBe(403);
    const token = await get(`/api/sessions/${SID}/room-token`, carol);
    expect(token.status).toBe(403);
    expect(await token.json()).toEqual({ error: "you cannot read this repository" });
  });

  it("hides the session from that user's list", async () => {
    const list = await (await get("/", carol, "text/html")).text();
    expect(list).not.toContain(SID);
    const mine = await (await get("/", alice, "text/html")).text();
    expect(mine).toContain(`/sessions/${SID}`);
  });

  it("sends anonymous visitors to sign in (pages) or answers 401 (API)", async () => {
    const page = await get(`/sessions/${SID}`, undefined, "text/html");
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe(`/auth/login?returnTo=${encodeURIComponent(`/sessions/${SID}`)}`);
    expect((await get(`/api/sessions/${SID}/room-token`)).status).toBe(401);
    expect((await get(`/api/sessions/${SID}`)).status).toBe(401);
  });

  it("rejects a forged session cookie", async () => {
    const forged = alice.replace(/.{6}$/, "AAAAAA");
    expect((await get(`/api/sessions/${SID}/room-token`, forged)).status).toBe(401);
  });

  it("gives a reader a short-lived token for this session only, which the room accepts", async () => {
    const res = await get(`/api/sessions/${SID}/room-token`, alice);
    expect(res.status).toBe(200);
    const body = RoomTokenResponse.parse(await res.json());
    expect(body.room).toBe(SID);
    const claims = await verifyViewerToken(ROOM_SECRET, body.token, SID);
    expect(claims?.sub).toBe("alice");
    expect(claims!.exp * 1000 - Date.now()).toBeLessThanOrEqual(300_000);
    expect(await verifyViewerToken(ROOM_SECRET, body.token, "someOtherSession")).toBeNull();
    const viewer = await RoomClient.connect(body.host, SID, { token: body.token, since: 0 });
    await viewer.until(() => viewer.backlogDone());
    expect(viewer.seqs()).toEqual([1]);
    await viewer.close();
  });

  it("asks GitHub with the viewer's own token and caches the answer briefly", async () => {
    const before = stack.github.requests.filter((r) => r === "GET /api/v3/repos/acme/widgets alice").length;
    expect(before).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect((await get(`/api/sessions/${SID}`, alice)).status).toBe(200);
    expect(stack.github.requests.filter((r) => r === "GET /api/v3/repos/acme/widgets alice").length).toBe(before);
  });

  it("validates input: a malformed session id is 400, an unknown one 404", async () => {
    expect((await get("/api/sessions/bad!id/room-token", alice)).status).toBe(400);
    expect((await get("/api/sessions/doesNotExist1/room-token", alice)).status).toBe(404);
  });

  it("refuses a callback whose state does not match the sign-in that started it", async () => {
    const res = await get("/auth/callback?code=abc&state=0123456789abcdef0123", undefined);
    expect(res.status).toBe(400);
    expect(res.headers.getSetCookie().some((c) => c.startsWith("inspect_session="))).toBe(false);
  });
});
