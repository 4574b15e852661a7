import { describe, expect, it } from "vitest";
import { isNeonUrl } from "./client.js";

describe("choosing the database driver", () => {
  it("uses Neon's serverless driver only for Neon hosts", () => {
    expect(isNeonUrl("postgresql://u:p@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require")).toBe(
      true,
    );
    expect(isNeonUrl("postgres://postgres@127.0.0.1:5432/postgres")).toBe(false);
    expect(isNeonUrl("postgres://u@neon.tech.evil.example/db")).toBe(false);
    expect(isNeonUrl("not a url")).toBe(false);
  });
});
