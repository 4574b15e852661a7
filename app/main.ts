/** `npm start`: run Inspect on this machine with embedded defaults. */
import { existsSync } from "node:fs";
import path from "node:path";
import { userInfo } from "node:os";
import { detectBoundary } from "../sandbox/jail/boundary.js";
import { roomSettings, startRoomDevServer } from "./rooms/index.js";
import { ConfigError, loadConfig } from "./config.js";
import { createInspect } from "./server.js";

async function main() {
  // Credentials written by the setup flow (or by hand) live in .env.
  if (existsSync(".env")) process.loadEnvFile(".env");
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const inspect = await createInspect(config);
  // Local mode: the room server (partykit dev) runs as our child unless INSPECT_PARTY_URL points elsewhere.
  const rooms = roomSettings(config, inspect.secret);
  const roomServer = rooms.startDevServer
    ? await startRoomDevServer({
        port: rooms.devPort,
        secret: rooms.secret,
        persistDir: path.join(config.dataDir, "rooms"),
        pidFile: path.join(config.dataDir, "rooms.pid"),
        log: (m) => console.warn(m),
      }).catch((err) => {
        console.warn(
          `The room server did not start (${err instanceof Error ? err.message : err}); pages will poll for events instead.`,
        );
        return null;
      })
    : null;
  const { port } = await inspect.listen();
  const url = config.publicUrl;
  console.log(
    `Inspect is running at ${url} (port ${port}, database: ${inspect.database.kind}, runner: ${config.runner.kind})`,
  );
  if (config.runner.kind === "local") {
    if (!config.githubApp) {
      console.log(
        `Sessions run as ${userInfo().username}, without the sandbox boundary: fine for your own repositories, not for anyone else's (README → Security).`,
      );
    } else {
      const boundary = detectBoundary(config.sandboxUser);
      console.log(
        boundary.ok
          ? `Sandbox: the session's code runs as ${boundary.user.name} inside bubblewrap.`
          : `Sandbox boundary not in place (${boundary.reason}): every session will be refused until it is (README → Security).`,
      );
    }
  }
  if (!config.githubApp) {
    console.log(
      `No GitHub App configured — local mode. Run sessions on local repositories with \`npx inspect run --repo <path> "<prompt>"\`; to connect GitHub, set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET (see README) or open ${url}/setup.`,
    );
  }

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`${signal}: shutting down`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await inspect.close();
    await roomServer?.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
