import { z } from "zod";

/**
 * A session's or a pool slot's id: what the control plane makes (letters and digits), and all an
 * input from outside may name — a route, a workflow input, an agent's tool call.
 */
export const InspectId = z.string().regex(/^[A-Za-z0-9]{4,64}$/, "an Inspect id: 4 to 64 letters and digits");
