import { describe, expect, it } from "vitest";
import { authorIdentity, commitMessage, identityEnv, noreplyEmail } from "./author.js";

describe("commit identities", () => {
  it("uses the GitHub no-reply address with the account id when known", () => {
    expect(authorIdentity({ login: "octocat", id: 583231, name: "The Octocat" })).toEqual({
      name: "The Octocat",
      email: "583231+octocat@users.noreply.github.com",
    });
  });

  it("falls back to the login for the name and to login@ without an id", () => {
    expect(authorIdentity({ login: "hubot", id: null, name: null })).toEqual({
      name: "hubot",
      email: "hubot@users.noreply.github.com",
    });
    expect(authorIdentity({ login: "hubot", name: "   " })).toEqual({
      name: "hubot",
      email: "hubot@users.noreply.github.com",
    });
  });

  it("strips characters git would reject from names", () => {
    expect(authorIdentity({ login: "x", id: 1, name: "Eve <evil>\nInjected" }).name).toBe("Eve evil Injected");
  });

  it("supports a GitHub Enterprise no-reply domain", () => {
    expect(noreplyEmail("mona", 7, "users.noreply.ghe.example.com")).toBe("7+mona@users.noreply.ghe.example.com");
  });

  it("author is the requester, committer the bot", () => {
    expect(identityEnv({ name: "A", email: "a@x" }, { name: "Bot", email: "bot@x" })).toEqual({
      GIT_AUTHOR_NAME: "A",
      GIT_AUTHOR_EMAIL: "a@x",
      GIT_COMMITTER_NAME: "Bot",
      GIT_COMMITTER_EMAIL: "bot@x",
    });
  });

  it("commit message: one-line subject and the session trailer", () => {
    expect(commitMessage("Fix the  login\nbug", "https://inspect.test/sessions/abc")).toBe(
      "Fix the login bug\n\nInspect-Session: https://inspect.test/sessions/abc\n",
    );
    expect(commitMessage("  ", "u")).toBe("Inspect changes\n\nInspect-Session: u\n");
  });
});
