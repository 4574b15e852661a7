/**
 * Dictating a prompt, where the browser has the Web Speech API (Chrome, Edge, Safari): the
 * microphone button appears only there, and what is heard is added to the prompt box as
 * it is recognised, after what was already typed.
 */

/** The part of SpeechRecognition used here (the DOM typings do not have it everywhere). */
interface Recognition {
  lang: string;
  interimResults: boolean;
  continuous: boolean;
  onresult: ((ev: { results: ArrayLike<ArrayLike<{ transcript: string }>> }) => void) | null;
  onend: (() => void) | null;
  onerror: (() => void) | null;
  start(): void;
  stop(): void;
}
type RecognitionCtor = new () => Recognition;

export function attachVoice(box: HTMLTextAreaElement | null, button: HTMLButtonElement | null): void {
  const w = window as unknown as { SpeechRecognition?: RecognitionCtor; webkitSpeechRecognition?: RecognitionCtor };
  const Ctor = w.SpeechRecognition ?? w.webkitSpeechRecognition;
  if (!box || !button || !Ctor) return;
  button.classList.remove("hidden");
  let listening: Recognition | null = null;
  const set = (on: boolean) => {
    button.setAttribute("aria-pressed", String(on));
    button.textContent = on ? "Stop dictating" : "Dictate";
  };
  button.addEventListener("click", () => {
    if (listening) return listening.stop();
    const rec = new Ctor();
    rec.lang = navigator.language || "en-US";
    rec.interimResults = true;
    rec.continuous = true;
    const before = box.value.trimEnd();
    rec.onresult = (ev) => {
      let heard = "";
      for (const result of Array.from(ev.results)) heard += result[0]?.transcript ?? "";
      box.value = [before, heard.trim()].filter(Boolean).join(" ");
      box.dispatchEvent(new Event("input", { bubbles: true }));
    };
    rec.onend = rec.onerror = () => {
      listening = null;
      set(false);
      box.focus();
    };
    listening = rec;
    set(true);
    rec.start();
  });
}
