/**
 * The browser's screenshots become session artifacts: the runtime looks in the browser's output
 * folder (written by the sandbox user) every second and uploads each new image once, with the
 * session token, until the session ends — then once more, so the last one is not lost.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ARTIFACT_MAX_BYTES, type UploadArtifactRequest } from "../../protocol/artifacts.js";
import { RUNNER_API_PREFIX } from "../../protocol/runner-api.js";
import type { SessionCredential } from "./children-api.js";

const TYPES: Record<string, UploadArtifactRequest["contentType"]> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
};
const EVERY_MS = 1_000;

export interface ScreenshotWatch {
  stop(): Promise<void>;
}

export function watchScreenshots(dir: string, who: SessionCredential, log: (line: string) => void): ScreenshotWatch {
  const seen = new Set<string>();
  let running: Promise<void> = Promise.resolve();
  const scan = async () => {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.sort()) {
      const type = TYPES[path.extname(name).toLowerCase()];
      if (!type || seen.has(name) || !/^[\w.-]{1,200}$/.test(name)) continue;
      const file = path.join(dir, name);
      const info = await stat(file).catch(() => null);
      // Still being written (empty), or too large to keep: looked at again, or skipped.
      if (!info?.isFile() || info.size === 0) continue;
      seen.add(name);
      if (info.size > ARTIFACT_MAX_BYTES) {
        log(`screenshot ${name} is ${info.size} bytes, over ${ARTIFACT_MAX_BYTES}: not kept`);
        continue;
      }
      const body: UploadArtifactRequest = {
        name,
        contentType: type,
        data: (await readFile(file)).toString("base64"),
      };
      const url = `${who.controlPlaneUrl.replace(/\/+$/, "")}${RUNNER_API_PREFIX}/sessions/${encodeURIComponent(who.sessionId)}/artifacts`;
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${who.token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      }).catch((error: Error) => error);
      if (res instanceof Error || !res.ok)
        log(`storing screenshot ${name} failed: ${res instanceof Error ? res.message : `HTTP ${res.status}`}`);
    }
  };
  const tick = () => (running = running.then(scan).catch((error: Error) => log(`screenshots: ${error.message}`)));
  const timer = setInterval(tick, EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await tick();
    },
  };
}
