/**
 * Session artifacts over HTTP: the runtime stores the browser's screenshots with the session
 * token (runner API), and viewers read them as they read the session (its repository's access
 * rule), never from anywhere else.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AccessPolicy } from "../api/access.js";
import { apiError, bearer, jsonBody } from "../api/validate.js";
import { getRepository } from "../db/accounts.js";
import type { Db } from "../db/client.js";
import { RunnerError, type RunnerService } from "../runner-api/runner-service.js";
import type { SessionService } from "../sessions/service.js";
import { ARTIFACT_MAX_BYTES, ARTIFACTS_PER_SESSION, UploadArtifactRequest } from "../../protocol/artifacts.js";
import { countArtifacts, getArtifact, insertArtifact } from "./store.js";
import { InspectId } from "../../protocol/ids.js";

const sessionId = InspectId;
const artifactId = z.coerce.number().int().positive();

/** POST /sessions/:id/artifacts under the runner API prefix. */
export function artifactUploadRoutes(runners: RunnerService, sessions: SessionService, db: Db): Hono {
  const api = new Hono();
  api.onError((err, c) => {
    if (err instanceof RunnerError) return c.json({ error: err.message }, err.status);
    throw err;
  });
  api.post("/sessions/:id/artifacts", async (c) => {
    const id = sessionId.safeParse(c.req.param("id"));
    if (!id.success) throw apiError(400, "invalid session id");
    const token = bearer(c);
    if (!token) throw apiError(401, "missing bearer token");
    await runners.authenticate(id.data, token);
    const body = await jsonBody(c, UploadArtifactRequest, Math.ceil(ARTIFACT_MAX_BYTES / 3) * 4 + 2_000);
    const size = Buffer.byteLength(body.data, "base64");
    if (size > ARTIFACT_MAX_BYTES) throw apiError(413, `an artifact is at most ${ARTIFACT_MAX_BYTES} bytes`);
    if ((await countArtifacts(db, id.data)) >= ARTIFACTS_PER_SESSION)
      throw apiError(429, `a session keeps at most ${ARTIFACTS_PER_SESSION} artifacts`);
    const row = await insertArtifact(db, { sessionId: id.data, ...body, size });
    await sessions.deps.events.append(id.data, [
      { type: "artifact.added", data: { artifactId: row.id, name: row.name, contentType: row.contentType, size } },
    ]);
    return c.json({ id: row.id });
  });
  return api;
}

/** GET /:id/artifacts/:artifactId under /api/sessions. */
export function artifactViewRoutes(access: AccessPolicy, sessions: SessionService, db: Db): Hono {
  const api = new Hono();
  api.get("/:id/artifacts/:artifactId", async (c) => {
    const viewer = await access.viewer(c);
    if (!viewer) throw apiError(401, "sign in first");
    const id = sessionId.safeParse(c.req.param("id"));
    const aid = artifactId.safeParse(c.req.param("artifactId"));
    if (!id.success || !aid.success) throw apiError(400, "invalid session or artifact id");
    const session = await sessions.get(id.data);
    if (!session) throw apiError(404, "session not found");
    const repo = (await getRepository(db, session.repositoryId))!;
    if (!(await access.canRead(viewer, repo))) throw apiError(403, "you cannot read this repository");
    const row = await getArtifact(db, session.id, aid.data);
    if (!row) throw apiError(404, "artifact not found");
    return c.body(Buffer.from(row.data, "base64"), 200, {
      "content-type": row.contentType,
      "content-disposition": `inline; filename="${row.name}"`,
      // Not a document: never rendered as one, never cached where another viewer could read it.
      "x-content-type-options": "nosniff",
      "cache-control": "private, max-age=3600",
      "content-security-policy": "default-src 'none'",
    });
  });
  return api;
}
