/**
 * Why the last prompt failed, for the Slack reply's card (a budget reached, a timeout, a push
 * that could not land): people who asked from Slack learn it there, not only on GitHub.
 */
import type { PromptRow } from "../db/prompts.js";
import { firstLine } from "./card.js";

/** A context block, or null when the latest finished prompt did not fail. */
export function failedTurnNote(prompts: Pick<PromptRow, "status" | "error">[]) {
  const last = [...prompts].reverse().find((p) => ["done", "failed", "stopped"].includes(p.status));
  if (last?.status !== "failed" || !last.error) return null;
  // Untrusted text (it may quote the model or git): escaped so it cannot mention or link.
  const why = firstLine(last.error, 300).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return { type: "context", elements: [{ type: "mrkdwn", text: `:warning: The last prompt failed: ${why}` }] };
}
