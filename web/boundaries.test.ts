/**
 * The dependency direction (../shared/ARCHITECTURE.md): web/ stands on protocol/ only —
 * it imports nothing from app/ (pages get view models from the read service that app/
 * passes into webRoutes(deps), see web/deps.ts) — and web/party/, the room server that
 * runs on its own, imports nothing outside itself and protocol/. Tests are cross-part
 * and exempt.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
    .map((f) => path.join(dir, f));
}

/** Every relative module a file imports or re-exports, resolved against the repository root. */
function relativeImports(file: string): string[] {
  const text = readFileSync(path.join(root, file), "utf8");
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.[^"']*)["']/g)].map((m) => m[1]!);
  return specs.map((s) => path.relative(root, path.resolve(path.dirname(path.join(root, file)), s)));
}

function outside(files: string[], allowed: string[]): string[] {
  return files.flatMap((f) =>
    relativeImports(f)
      .filter((dep) => !allowed.some((a) => dep.startsWith(a + path.sep)))
      .map((dep) => `${f} → ${dep}`),
  );
}

describe("dependency direction", () => {
  it("finds the imports it checks", () => {
    expect(relativeImports("web/routes.tsx")).toContain(path.join("protocol", "room.js"));
    expect(relativeImports("web/routes.tsx")).toContain(path.join("web", "deps.js"));
  });

  it("web/ imports only from web/ and protocol/", () => {
    expect(outside(sources("web"), ["web", "protocol"])).toEqual([]);
  });

  it("web/party/ imports only from itself and protocol/", () => {
    expect(outside(sources("web/party"), [path.join("web", "party"), "protocol"])).toEqual([]);
  });
});
