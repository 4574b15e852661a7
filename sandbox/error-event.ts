/** The error event the sandbox sends: the one place its message is cut (4,000 characters). */
import type { NewEvent } from "../protocol/events.js";

const MESSAGE_MAX = 4_000;
const CODE_MAX = 100;

export function errorEvent(message: string, code: string, promptId?: number): NewEvent {
  return {
    type: "error",
    data: {
      message: message.slice(0, MESSAGE_MAX),
      code: code.slice(0, CODE_MAX),
      ...(promptId !== undefined ? { promptId } : {}),
    },
  };
}
