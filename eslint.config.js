// @ts-check
// `npm run lint` (with knip). TypeScript rules: typescript-eslint's recommended, without type
// information (fast). Import boundaries between the top-level folders: see README → How it is built.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

// A relative import that climbs out to top-level folder `name`, at any depth: "../app/x.js",
// "../../app/x.js". (A subfolder named like a top-level folder would be matched too; there is none
// outside test/, which is exempt.)
const climbsTo = (names) => String.raw`^(?:\.\./)+(?:${names.join("|")})(?:/|$)`;
// A relative import that climbs out to anything but the listed top-level folders or subfolders.
const climbsOutExcept = (names) => String.raw`^(?:\.\./)+(?!(?:${names.join("|")})/)[^./]`;

/**
 * no-restricted-imports for static imports and re-exports, no-restricted-syntax for import().
 * Later blocks replace a rule's options for the files they match, so a nested folder's block
 * (web/party/ inside web/) must repeat its parent's restrictions.
 * @param {string[]} files
 * @param {{ regex: string, message: string }[]} patterns
 */
function boundary(files, patterns) {
  return {
    files,
    rules: {
      "no-restricted-imports": ["error", { patterns }],
      "no-restricted-syntax": [
        "error",
        ...patterns.map(({ regex, message }) => ({
          selector: `ImportExpression > Literal.source[value=/${regex.replaceAll("/", "\\/")}/]`,
          message,
        })),
      ],
    },
  };
}

const ts = "{ts,tsx,mts,mjs,js}";

export default defineConfig(
  { ignores: ["node_modules/", "action/dist/", "coverage/", ".partykit/", ".inspect/", "test-results/", ".scratch/"] },

  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: nodeGlobals() },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // Stripping ANSI colour codes (\x1b[…m) from child-process output is the point of those regexes.
      "no-control-regex": "off",
      // `_`-prefixed arguments and variables are deliberately unused (callback signatures, placeholders).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Probot's Octokit.defaults() options are untyped upstream.
    files: ["app/github/octokit.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // Test doubles: GitHub payload fixtures and fakes are loosely typed on purpose, and nock's
    // `function (this)` reply callbacks need the fake's own `this` under another name.
    files: [`**/*.test.${ts}`, `test/**/*.${ts}`],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-this-alias": "off" },
  },
  // ── Import boundaries ────────────────────────────────────────────────────────────────────────
  // protocol/ is the contract every part stands on, browser code included: zod, jose and itself.
  boundary(
    [`protocol/**/*.${ts}`],
    [
      { regex: climbsOutExcept(["protocol"]), message: "protocol/ imports only itself, zod and jose." },
      { regex: String.raw`^(?!\.|zod(?:/|$)|jose(?:/|$))`, message: "protocol/ imports only itself, zod and jose." },
    ],
  ),
  // sandbox/ and action/ run on the runner: never the control plane or the web tier.
  boundary(
    [`sandbox/**/*.${ts}`, `action/**/*.${ts}`],
    [{ regex: climbsTo(["app", "web"]), message: "sandbox/ and action/ must not import app/ or web/." }],
  ),
  // web/ talks to the control plane through its API and protocol/, not by importing app/.
  boundary(
    [`web/**/*.${ts}`],
    [{ regex: climbsTo(["app", "sandbox"]), message: "web/ must not import app/ or sandbox/." }],
  ),
  // web/party/ is the room server (its own deployment): protocol/ and itself only.
  boundary(
    [`web/party/**/*.${ts}`],
    [{ regex: climbsOutExcept(["protocol", "party"]), message: "web/party/ imports only protocol/ and itself." }],
  ),
  // Tests (unit and cross-part) may import anything.
  {
    files: [`**/*.test.${ts}`, `test/**/*.${ts}`],
    rules: { "no-restricted-imports": "off", "no-restricted-syntax": "off" },
  },
);

function nodeGlobals() {
  // bin/*.mjs and action/build.mjs are plain Node scripts (TypeScript files get no-undef off).
  const names = [
    "process",
    "console",
    "Buffer",
    "URL",
    "URLSearchParams",
    "setTimeout",
    "clearTimeout",
    "setInterval",
    "clearInterval",
    "setImmediate",
    "fetch",
    "AbortController",
    "TextEncoder",
    "TextDecoder",
    "structuredClone",
    "queueMicrotask",
    "globalThis",
  ];
  return Object.fromEntries(names.map((n) => [n, "readonly"]));
}
