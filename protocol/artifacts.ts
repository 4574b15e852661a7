/**
 * Session artifacts: files the agent made for people to see (the browser's screenshots). The
 * runtime uploads them over the runner API; viewers read them with the session's access check.
 *
 *   POST /api/runner/sessions/:id/artifacts     body UploadArtifactRequest → { id }   (session token)
 *   GET  /api/sessions/:id/artifacts/:artifactId → the file                          (viewer)
 */
import { z } from "zod";

/** A screenshot is tens to hundreds of KiB; anything larger is not stored. */
export const ARTIFACT_MAX_BYTES = 2_000_000;
/** Screenshots one session may store: a loop taking them cannot fill the database. */
export const ARTIFACTS_PER_SESSION = 100;

const ARTIFACT_TYPES = ["image/png", "image/jpeg", "image/webp"] as const;

export const UploadArtifactRequest = z.object({
  name: z.string().regex(/^[\w.-]{1,200}$/),
  contentType: z.enum(ARTIFACT_TYPES),
  /** Base64 of the file. */
  data: z
    .string()
    .max(Math.ceil(ARTIFACT_MAX_BYTES / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/),
});
export type UploadArtifactRequest = z.infer<typeof UploadArtifactRequest>;
