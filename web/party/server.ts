/**
 * The PartyKit server: a thin wrapper that hands platform callbacks to SessionRoom.
 * Viewers are checked in onBeforeConnect, so a bad token is refused with an HTTP
 * status before any WebSocket exists. The room secret comes from the
 * INSPECT_ROOM_SECRET variable (a private config file in dev, see app/rooms/dev-server.ts;
 * `partykit env add` when deployed).
 */
import type * as Party from "partykit/server";
import { SessionRoom, type RoomStorage } from "./room.js";

function secretOf(env: Record<string, unknown>): string | undefined {
  const value = env.INSPECT_ROOM_SECRET;
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** A room object used only to check a connect URL (the lobby has no storage). */
const nullStorage: RoomStorage = { list: async () => new Map(), put: async () => {}, delete: async () => 0 };

export default class SessionRoomServer implements Party.Server {
  private readonly room: SessionRoom;

  constructor(readonly party: Party.Room) {
    this.room = new SessionRoom(party.id, party.storage as unknown as RoomStorage, secretOf(party.env));
  }

  static async onBeforeConnect(req: Party.Request, lobby: Party.Lobby): Promise<Party.Request | Response> {
    const verdict = await new SessionRoom(lobby.id, nullStorage, secretOf(lobby.env)).authorize(req.url);
    if (verdict.ok) return req;
    return new Response(JSON.stringify({ error: verdict.error }), {
      status: verdict.status,
      headers: { "content-type": "application/json" },
    });
  }

  async onStart(): Promise<void> {
    await this.room.load();
  }

  async onConnect(conn: Party.Connection, ctx: Party.ConnectionContext): Promise<void> {
    // Checked again here: onBeforeConnect runs in the lobby and cannot hand over the claims.
    const verdict = await this.room.authorize(ctx.request.url);
    if (!verdict.ok) {
      conn.close(4001, verdict.error);
      return;
    }
    this.room.connect(conn, verdict.watcher, verdict.since, verdict.expiresAt);
  }

  onClose(conn: Party.Connection): void {
    this.room.disconnect(conn);
    // Answer the viewer's close frame; workerd does not do it for us, and a browser
    // would otherwise wait ~30 s for the close handshake.
    try {
      conn.close();
    } catch {
      /* already closed */
    }
  }

  onError(conn: Party.Connection): void {
    this.room.disconnect(conn);
  }

  async onRequest(req: Party.Request): Promise<Response> {
    return this.room.handleRequest(req as unknown as Request);
  }
}
