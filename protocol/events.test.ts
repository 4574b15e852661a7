import { describe, expect, it } from "vitest";
import { promptSourceLabel } from "./events.js";

describe("promptSourceLabel", () => {
  it("names where a prompt came from as the session page shows it", () => {
    expect(promptSourceLabel("slack")).toBe("Slack");
    expect(promptSourceLabel("web")).toBe("web");
    expect(promptSourceLabel("cli")).toBe("cli");
    expect(promptSourceLabel("github_review_comment")).toBe("GitHub review comment");
  });
});
