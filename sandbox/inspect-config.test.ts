import { describe, expect, it } from "vitest";
import { parseInspectConfig } from "./inspect-config.js";

const said = () => {
  const lines: string[] = [];
  return { lines, log: (l: string) => void lines.push(l) };
};

describe(".inspect/config.yml", () => {
  it("reads the repository's caps and ignores what is not a positive amount", () => {
    expect(parseInspectConfig("budgets:\n  session_usd: 3\n  prompt_usd: 0.25\n").budgets).toEqual({
      sessionUsd: 3,
      promptUsd: 0.25,
    });
    expect(parseInspectConfig("other: 1\n").budgets).toBeNull();
    expect(parseInspectConfig("")).toEqual({ budgets: null, browser: null });
    const s = said();
    expect(parseInspectConfig("budgets:\n  prompt_usd: -1\n", s.log).budgets).toBeNull();
    expect(parseInspectConfig("budgets: [\n", s.log).budgets).toBeNull();
    expect(s.lines).toHaveLength(2);
  });

  it("reads the browser's dev server: a command and a loopback URL, the wait bounded", () => {
    expect(parseInspectConfig("browser:\n  dev_server: npm run dev\n  url: http://localhost:3000\n").browser).toEqual({
      devServer: "npm run dev",
      url: "http://localhost:3000",
      waitMs: 60_000,
    });
    // The setup script may start it: the URL alone is waited for and told to the agent.
    expect(parseInspectConfig("browser:\n  url: http://127.0.0.1:5173/app\n  wait_seconds: 5\n").browser).toEqual({
      devServer: null,
      url: "http://127.0.0.1:5173/app",
      waitMs: 5_000,
    });
    expect(parseInspectConfig("browser:\n  url: 'http://[::1]:8080'\n").browser?.url).toBe("http://[::1]:8080");
  });

  it("refuses a browser section that is not loopback, too long or unbounded, and keeps the other sections", () => {
    for (const bad of [
      "browser:\n  dev_server: npm start\n  url: http://example.com\n",
      "browser:\n  url: http://169.254.169.254/latest\n",
      "browser:\n  url: file:///etc/passwd\n",
      "browser:\n  url: http://user:pw@localhost:3000\n",
      "browser:\n  dev_server: npm start\n",
      "browser:\n  url: http://localhost:3000\n  wait_seconds: 3600\n",
      `browser:\n  dev_server: "${"x".repeat(3000)}"\n  url: http://localhost:3000\n`,
      "browser: npm run dev\n",
    ]) {
      const s = said();
      const config = parseInspectConfig(`budgets:\n  prompt_usd: 1\n${bad}`, s.log);
      expect(config.browser, bad).toBeNull();
      expect(config.budgets, bad).toEqual({ promptUsd: 1 });
      expect(s.lines.join("\n"), bad).toMatch(/browser section is ignored/);
    }
  });

  it("ignores a file that is not a mapping, too large, or an alias bomb", () => {
    const s = said();
    expect(parseInspectConfig("- a\n- b\n", s.log)).toEqual({ budgets: null, browser: null });
    expect(parseInspectConfig(`budgets:\n  prompt_usd: 1\n# ${"x".repeat(70_000)}\n`, s.log).budgets).toBeNull();
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 10; i++)
      bomb.push(
        `${"b".repeat(i)}: &${"b".repeat(i)} [${Array(9)
          .fill(i === 1 ? "*a" : `*${"b".repeat(i - 1)}`)
          .join(", ")}]`,
      );
    expect(parseInspectConfig(bomb.join("\n"), s.log)).toEqual({ budgets: null, browser: null });
    expect(s.lines).toHaveLength(3);
  });
});
