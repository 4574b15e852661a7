import { expect, it } from "vitest";
import { safeHref } from "./links.js";

it("keeps http(s) links and drops script and data URLs", () => {
  expect(safeHref("https://github.com/acme/widgets/pull/4")).toBe("https://github.com/acme/widgets/pull/4");
  expect(safeHref("http://ghe.local/acme/widgets/pull/4")).toBe("http://ghe.local/acme/widgets/pull/4");
  for (const bad of ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>", "not a url"])
    expect(safeHref(bad)).toBeUndefined();
});
