/** A test viewer: a raw `ws` connection to a room that records the messages it gets. */
import WebSocket from "ws";
import { RoomMessage } from "../../protocol/room.js";

export class RoomClient {
  messages: RoomMessage[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.messages.push(RoomMessage.parse(JSON.parse(data.toString())));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves once the socket is open; rejects with the HTTP status when the room refuses. */
  static connect(baseUrl: string, sessionId: string, query: Record<string, string | number>): Promise<RoomClient> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/parties/main/${sessionId}?${qs}`);
    const client = new RoomClient(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (_req, res) => {
        reject(Object.assign(new Error(`refused with ${res.statusCode}`), { status: res.statusCode }));
        res.resume();
        ws.terminate();
      });
      ws.once("error", reject);
    });
  }

  seqs(): number[] {
    return this.messages.flatMap((m) => (m.type === "presence" ? [] : m.events.map((e) => e.seq)));
  }

  backlogDone(): boolean {
    return this.messages.some((m) => m.type === "backlog" && m.done);
  }

  lastPresence(): string[] | undefined {
    const p = [...this.messages].reverse().find((m) => m.type === "presence");
    return p?.type === "presence" ? p.watchers.map((w) => w.login) : undefined;
  }

  /** Wait until `check` holds (re-checked on every message). */
  async until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; messages: ${JSON.stringify(this.messages).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }
}
