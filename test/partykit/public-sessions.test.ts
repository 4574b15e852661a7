/**
 * Sessions of a public repository, over real HTTP with GitHub faked at the HTTP
 * boundary: everyone signed in can read the repository, but its sessions (setup
 * output, tool results) are shown only to collaborators — GitHub reports triage,
 * write, maintain or admin for them — unless INSPECT_PUBLIC_SESSIONS=everyone.
 * Page, session API, events, room token and the session lists all follow it.
 * Anonymous visitors are sent to sign in under both settings.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RoomTokenResponse } from "../../protocol/room.js";
import { RoomClient } from "../support/room-client.js";
import { signIn, startWebStack, type WebStack } from "../support/web-stack.js";

const SID = "sessPublic1";
const ACCESS = {
  alice: { "acme/widgets": { pull: true, push: true } }, // write
  tess: { "acme/widgets": { pull: true, push: false, triage: true } }, // triage only
  // rita: no role; the repository is public, so GitHub says pull for her too
};

interface Setup {
  stack: WebStack;
  cookies: Record<"alice" | "tess" | "rita", string>;
}

async function setup(env: Record<string, string>): Promise<Setup> {
  const stack = await startWebStack(ACCESS, { publicRepos: ["acme/widgets"], env });
  await stack.createSession(SID, "Public work");
  await stack.append(SID, [{ type: "session.status", data: { status: "running" } }]);
  const cookies = {
    alice: await signIn(stack, "alice"),
    tess: await signIn(stack, "tess"),
    rita: await signIn(stack, "rita"),
  };
  return { stack, cookies };
}

const get = (s: Setup, path: string, cookie?: string, accept = "application/json") =>
  fetch(`${s.stack.url}${path}`, { redirect: "manual", headers: { accept, ...(cookie ? { cookie } : {}) } });

/** What this viewer gets from every place a session is shown. */
async function statuses(s: Setup, cookie: string) {
  return {
    page: (await get(s, `/sessions/${SID}`, cookie, "text/html")).status,
    api: (await get(s, `/api/sessions/${SID}`, cookie)).status,
    events: (await get(s, `/api/sessions/${SID}/events?since=0`, cookie)).status,
    roomToken: (await get(s, `/api/sessions/${SID}/room-token`, cookie)).status,
    listPage: (await (await get(s, "/", cookie, "text/html")).text()).includes(`/sessions/${SID}`),
    listApi: ((await (await get(s, "/api/sessions", cookie)).json()) as { sessions: { id: string }[] }).sessions.some(
      (x) => x.id === SID,
    ),
  };
}

const SEES = { page: 200, api: 200, events: 200, roomToken: 200, listPage: true, listApi: true };
const HIDDEN = { page: 403, api: 403, events: 403, roomToken: 403, listPage: false, listApi: false };

async function expectAnonymousSentToSignIn(s: Setup) {
  const page = await get(s, `/sessions/${SID}`, undefined, "text/html");
  expect(page.status).toBe(302);
  expect(page.headers.get("location")).toMatch(/^\/auth\/login\?/);
  expect((await get(s, `/api/sessions/${SID}`)).status).toBe(401);
  expect((await get(s, `/api/sessions/${SID}/events?since=0`)).status).toBe(401);
  expect((await get(s, `/api/sessions/${SID}/room-token`)).status).toBe(401);
}

describe("a public repository's session under the default (INSPECT_PUBLIC_SESSIONS unset: collaborators)", () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup({});
  });
  afterAll(async () => {
    await s?.stack.close();
  });

  it("is hidden from a signed-in reader without a role: page, API, events, room token 403, not listed", async () => {
    expect(await statuses(s, s.cookies.rita)).toEqual(HIDDEN);
  });

  it("is shown to collaborators: write access, and triage", async () => {
    expect(await statuses(s, s.cookies.alice)).toEqual(SEES);
    expect(await statuses(s, s.cookies.tess)).toEqual(SEES);
  });

  it("sends anonymous visitors to sign in", async () => {
    await expectAnonymousSentToSignIn(s);
  });
});

describe("a public repository's session with INSPECT_PUBLIC_SESSIONS=everyone", () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup({ INSPECT_PUBLIC_SESSIONS: "everyone" });
  });
  afterAll(async () => {
    await s?.stack.close();
  });

  it("is shown to every signed-in reader, and the room accepts their token", async () => {
    expect(await statuses(s, s.cookies.rita)).toEqual(SEES);
    const body = RoomTokenResponse.parse(
      await (await get(s, `/api/sessions/${SID}/room-token`, s.cookies.rita)).json(),
    );
    const viewer = await RoomClient.connect(body.host, SID, { token: body.token, since: 0 });
    await viewer.until(() => viewer.backlogDone());
    expect(viewer.seqs()).toEqual([1]);
    await viewer.close();
  });

  it("is shown to collaborators as before", async () => {
    expect(await statuses(s, s.cookies.alice)).toEqual(SEES);
    expect(await statuses(s, s.cookies.tess)).toEqual(SEES);
  });

  it("still sends anonymous visitors to sign in", async () => {
    await expectAnonymousSentToSignIn(s);
  });
});
