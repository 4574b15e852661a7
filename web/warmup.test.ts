/**
 * The warm-up endpoint's failure handling (web/routes.tsx, fed by app/read/web-deps.ts),
 * in process: warming is best effort, so the form always gets 202 {warming:false} when
 * it fails — but a failure is logged, while an expected refusal (StartError: no write
 * access, not a git repository) is not reported as one.
 */
import { describe, expect, it } from "vitest";
import { LOCAL_VIEWER, type AccessPolicy } from "../app/api/access.js";
import type { Config } from "../app/config.js";
import type { Db } from "../app/db/client.js";
import { webDeps } from "../app/read/web-deps.js";
import { StartError } from "../app/sessions/starter.js";
import { webRoutes } from "./routes.js";

const access: AccessPolicy = {
  viewer: async () => LOCAL_VIEWER,
  canRead: async () => true,
  canWrite: async () => true,
};
const config = { oauth: null, github: { webUrl: "https://github.com" }, model: null } as unknown as Pick<
  Config,
  "oauth" | "github" | "model"
>;

function app(warmup: () => Promise<boolean>) {
  const logged: { level: string; obj: unknown; msg?: string }[] = [];
  const log = {
    warn: (obj: unknown, msg?: string) => logged.push({ level: "warn", obj, msg }),
    debug: (obj: unknown, msg?: string) => logged.push({ level: "debug", obj, msg }),
  };
  const web = webRoutes(webDeps({ db: {} as Db, config, access, rooms: null, warm: warmup, log }));
  const post = async () => {
    const res = await web.request("/api/warmup", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ repo: "/srv/tools" }),
    });
    return { status: res.status, body: await res.json() };
  };
  return { post, logged };
}

describe("warm-up failures", () => {
  it("logs an unexpected failure (with the error) and answers warming:false", async () => {
    const boom = new Error("dispatch exploded");
    const { post, logged } = app(() => Promise.reject(boom));
    expect(await post()).toEqual({ status: 202, body: { warming: false } });
    expect(logged).toEqual([
      { level: "warn", obj: { err: boom, login: "local", repo: "/srv/tools" }, msg: "warm-up failed" },
    ]);
  });

  it("does not report a refusal as a failure", async () => {
    const { post, logged } = app(() => Promise.reject(new StartError(400, "/srv/tools is not a git repository")));
    expect(await post()).toEqual({ status: 202, body: { warming: false } });
    expect(logged.filter((l) => l.level === "warn")).toEqual([]);
    expect(logged).toEqual([
      {
        level: "debug",
        obj: { login: "local", repo: "/srv/tools", reason: "/srv/tools is not a git repository" },
        msg: "warm-up refused",
      },
    ]);
  });

  it("passes on what the hook answered", async () => {
    const { post, logged } = app(async () => true);
    expect(await post()).toEqual({ status: 202, body: { warming: true } });
    expect(logged).toEqual([]);
  });
});
