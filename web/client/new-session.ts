/**
 * New session form. After the first keystrokes in the prompt, ask the app to warm up
 * a sandbox for the chosen repository (as Ramp does), so it is ready on submit.
 */
import { attachVoice } from "./voice.js";

const form = document.getElementById("new-session") as HTMLFormElement;
const repo = document.getElementById("repo") as HTMLInputElement;
const prompt = document.getElementById("prompt") as HTMLTextAreaElement;
const model = document.getElementById("model") as HTMLInputElement;
const error = document.getElementById("form-error")!;
const warmed = new Set<string>();

function warmUp() {
  const value = repo.value.trim();
  if (!value || prompt.value.length < 3 || warmed.has(value)) return;
  warmed.add(value);
  void fetch("/api/warmup", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ repo: value }),
  }).catch(() => {});
}
prompt.addEventListener("input", warmUp);
repo.addEventListener("change", warmUp);

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "Starting…";
  const res = await fetch("/api/sessions", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ repo: repo.value.trim(), prompt: prompt.value, model: model.value.trim() || null }),
  });
  const body = (await res.json().catch(() => ({}))) as { id?: string; error?: string };
  if (res.ok && body.id) location.href = `/sessions/${encodeURIComponent(body.id)}`;
  else error.textContent = body.error ?? `failed (HTTP ${res.status})`;
});
// Ctrl/Cmd+Enter starts it, as on the session page.
prompt.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
});
attachVoice(prompt, document.getElementById("voice") as HTMLButtonElement | null);
