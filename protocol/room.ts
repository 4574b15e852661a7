/**
 * The room wire contract: what the control plane POSTs to a session's room, what
 * the room sends to browsers, and the claims of a viewer token. Imported by the
 * room (web/party), the control plane (app/rooms) and the browser script, so the
 * three cannot drift apart. Event shapes themselves come from ./events.ts.
 */
import { z } from "zod";
import { SessionEventSchema, type SessionEvent } from "./events.js";

/** The PartyKit party that hosts session rooms (the default export of web/party/server.ts). */
export const ROOM_PARTY = "main";

/** Session ids are used as room ids in URLs: keep them to a safe alphabet. */
const RoomId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "a session id (letters, digits, _ and -)");

/** Path of a session's room on the PartyKit host. */
export function roomPath(sessionId: string): string {
  return `/parties/${ROOM_PARTY}/${encodeURIComponent(sessionId)}`;
}

/** Control plane → room: persisted events, in seq order. Sent with `Authorization: Bearer <room secret>`. */
export const AppendRequest = z.object({
  events: z.array(SessionEventSchema).min(1).max(1_000),
});
export type AppendRequest = { events: SessionEvent[] };

export const AppendResponse = z.object({
  accepted: z.number().int().nonnegative(),
  lastSeq: z.number().int().nonnegative(),
});
export type AppendResponse = z.infer<typeof AppendResponse>;

/** Who is watching: one entry per login (several tabs count once). */
export const Watcher = z.object({
  login: z.string().min(1).max(100),
  avatarUrl: z.string().url().nullable(),
});
export type Watcher = z.infer<typeof Watcher>;

/**
 * Room → browser messages.
 * - `backlog`: on connect, the stored events newer than the `since` the viewer sent,
 *   in order, split into chunks (a WebSocket message is capped at 1 MiB on Cloudflare);
 *   `done` marks the last chunk.
 * - `events`: newly appended events, broadcast to everyone.
 * - `presence`: the full list of watchers after a join or leave.
 */
export const RoomMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("backlog"), events: z.array(SessionEventSchema), done: z.boolean() }),
  z.object({ type: z.literal("events"), events: z.array(SessionEventSchema) }),
  z.object({ type: z.literal("presence"), watchers: z.array(Watcher) }),
]);
export type RoomMessage =
  | { type: "backlog"; events: SessionEvent[]; done: boolean }
  | { type: "events"; events: SessionEvent[] }
  | { type: "presence"; watchers: Watcher[] };

/** Viewer token claims (HS256 JWT signed by the control plane, verified by the room). */
export const ViewerClaims = z.object({
  sub: z.string().min(1).max(100), // the viewer's login
  sid: RoomId, // the one session this token opens
  avatar: z.string().url().nullable().optional(),
  exp: z.number().int().positive(),
});
export type ViewerClaims = z.infer<typeof ViewerClaims>;

/** Query parameters a viewer connects with: `?token=…&since=N`. */
export const ConnectQuery = z.object({
  token: z.string().min(10).max(4_000),
  since: z.coerce.number().int().nonnegative().default(0),
});

/** What `GET /api/sessions/:id/room-token` returns to the browser. */
export const RoomTokenResponse = z.object({
  token: z.string(),
  /** The room server's base URL as the browser should reach it, e.g. http://127.0.0.1:1999. */
  host: z.string().url(),
  party: z.string(),
  room: RoomId,
  expiresAt: z.string(),
});
export type RoomTokenResponse = z.infer<typeof RoomTokenResponse>;
