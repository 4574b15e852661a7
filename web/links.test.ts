import { expect, it } from "vitest";
import { commitUrl, repoWebUrl, safeHref } from "./links.js";

it("keeps http(s) links and drops script and data URLs", () => {
  expect(safeHref("https://github.com/acme/widgets/pull/4")).toBe("https://github.com/acme/widgets/pull/4");
  expect(safeHref("http://ghe.local/acme/widgets/pull/4")).toBe("http://ghe.local/acme/widgets/pull/4");
  for (const bad of ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>", "not a url"])
    expect(safeHref(bad)).toBeUndefined();
});

it("builds GitHub links for GitHub repositories only", () => {
  const onGitHub = { fullName: "acme/widgets", localPath: null };
  expect(repoWebUrl("https://ghe.example", onGitHub)).toBe("https://ghe.example/acme/widgets");
  expect(repoWebUrl("https://github.com", { fullName: "local/app", localPath: "/home/me/app" })).toBeNull();
  expect(commitUrl("https://github.com/acme/widgets", "a1b2c3d")).toBe(
    "https://github.com/acme/widgets/commit/a1b2c3d",
  );
});
