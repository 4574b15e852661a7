/**
 * The control plane's side of live sessions: publish events to rooms, sign viewer
 * tokens. `roomSettings(config, appSecret)` decides the room URL and secret once.
 */
import { deriveKey } from "../auth/crypto.js";
import type { Config } from "../config.js";
import { HttpRoomPublisher, type RoomPublisher } from "./publisher.js";

export { type RoomPublisher } from "./publisher.js";
export { startRoomDevServer } from "./dev-server.js";

export interface RoomSettings {
  /** Where the app POSTs events and where browsers connect. */
  url: string;
  secret: string;
  /** True when INSPECT_PARTY_URL was not set: local mode starts `partykit dev` itself. */
  startDevServer: boolean;
  /** The port for that dev server (from the URL). */
  devPort: number;
}

/**
 * INSPECT_ROOM_SECRET when set; otherwise a secret derived from the app secret, so a
 * local install needs no extra variable and a restarted app still matches its room.
 */
export function roomSettings(
  config: Config,
  appSecret: string,
  env: Record<string, string | undefined> = process.env,
): RoomSettings {
  const secret = config.party.secret ?? deriveKey(appSecret, "room secret").toString("base64url");
  const url = new URL(config.party.url);
  return {
    url: config.party.url,
    secret,
    startDevServer: !env.INSPECT_PARTY_URL,
    devPort: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
  };
}

export function createRoomPublisher(
  settings: Pick<RoomSettings, "url" | "secret">,
  log?: (m: string) => void,
): RoomPublisher {
  return new HttpRoomPublisher({ url: settings.url, secret: settings.secret, log });
}
