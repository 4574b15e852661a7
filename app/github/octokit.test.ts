/** Every GitHub API request has a deadline: against a GitHub (nock) that takes its time to answer. */
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TestOctokit } from "../../test/support/inspect.js";
import { InspectOctokit, withRequestTimeout } from "./octokit.js";

const api = "https://api.github.test";
beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

async function timed(p: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const t0 = Date.now();
  const error = await p.then(
    () => null,
    (err: unknown) => err,
  );
  return { ms: Date.now() - t0, error };
}

describe("Octokit request timeouts", () => {
  it.each([
    ["the test Octokit", TestOctokit],
    ["Inspect's own Octokit (its throttle and retry off)", InspectOctokit],
  ] as const)("aborts a request GitHub holds past the deadline: %s", async (_name, Base) => {
    nock(api).get("/repos/acme/widgets").delay(5_000).reply(200, { id: 1 });
    const Octokit = withRequestTimeout(Base, 300);
    const octokit = new Octokit({ baseUrl: api, retry: { enabled: false }, throttle: { enabled: false } });
    const { ms, error } = await timed(octokit.request("GET /repos/{owner}/{repo}", { owner: "acme", repo: "widgets" }));
    expect(error).toMatchObject({ status: 500, message: expect.stringMatching(/timeout|aborted/i) });
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(2_000);
  });

  it("leaves a request that answers in time alone, and a caller's own abort still works", async () => {
    nock(api).get("/repos/acme/widgets").delay(50).reply(200, { id: 1 });
    const Octokit = withRequestTimeout(TestOctokit, 1_000);
    const octokit = new Octokit({ baseUrl: api });
    const { data } = await octokit.request("GET /repos/{owner}/{repo}", { owner: "acme", repo: "widgets" });
    expect(data).toEqual({ id: 1 });

    nock(api).get("/repos/acme/widgets").delay(5_000).reply(200, { id: 1 });
    const caller = new AbortController();
    setTimeout(() => caller.abort(), 100);
    const { ms, error } = await timed(
      octokit.request("GET /repos/{owner}/{repo}", {
        owner: "acme",
        repo: "widgets",
        request: { signal: caller.signal },
      }),
    );
    expect(error).toBeTruthy();
    expect(ms).toBeLessThan(900);
  });
});
