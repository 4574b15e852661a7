/**
 * The browser scripts, bundled from TypeScript with esbuild on first request and
 * kept in memory: `npm start` needs no build step and the bundle is always current.
 * esbuild is always installed: tsx, which runs the app, depends on it.
 */
import type { Plugin } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";

const clientDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "client");
const SCRIPTS = { "session.js": "session.ts", "new-session.js": "new-session.ts", "stats.js": "stats.ts" } as const;

let bundles: Promise<Map<string, string>> | null = null;

/**
 * zod re-exports all of its ~50 translations as `z.locales`; the page only ever needs the
 * English messages it registers by default. Dropping the namespace roughly halves the bundle.
 */
const withoutZodLocales: Plugin = {
  name: "without-zod-locales",
  setup(build) {
    build.onResolve({ filter: /[\\/]locales[\\/]index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer) ? { path: "zod-locales", namespace: "stub" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export {};", loader: "js" }));
  },
};

export function clientBundles(): Promise<Map<string, string>> {
  bundles ??= (async () => {
    const esbuild = await import("esbuild");
    const result = await esbuild.build({
      entryPoints: Object.values(SCRIPTS).map((f) => path.join(clientDir, f)),
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      outdir: "/out",
      logLevel: "silent",
      plugins: [withoutZodLocales],
    });
    const out = new Map<string, string>();
    for (const file of result.outputFiles) out.set(path.basename(file.path), file.text);
    return out;
  })().catch((err) => {
    bundles = null; // let a later request try again
    throw err;
  });
  return bundles;
}
