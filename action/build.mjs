// Bundle the action (action/src/main.ts + the sandbox runtime + JS dependencies) into one
// ESM file. Only the OpenCode binary stays outside: `npm ci --prefix action` installs it.
// `node action/build.mjs [outfile]` — the test builds to a temp file and compares.
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outfile = path.resolve(process.argv[2] ?? path.join(here, "dist", "index.js"));

await build({
  entryPoints: [path.join(here, "src", "main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // Some bundled CommonJS dependencies call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __inspectCreateRequire } from 'node:module';\nconst require = __inspectCreateRequire(import.meta.url);",
  },
  // OpenCode's platform packages (opencode-linux-x64, …) are found at run time next to the action:
  // their package.json gives the version, their bin/ the binary.
  external: ["opencode-*"],
  legalComments: "none",
  // Paths in the bundle's comments are relative to this: the output is the same from any cwd.
  absWorkingDir: path.resolve(here, ".."),
  logLevel: "warning",
});
