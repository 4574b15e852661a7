// The control plane's session API, as the CLI calls it. Errors say what to do about them.

/** The control plane answered with an error, or could not be reached (exit code 3). */
export class ApiError extends Error {}

export async function call(base, method, route, body) {
  let res;
  try {
    res = await fetch(base + route, {
      method,
      // The session page and the CLI share these routes: this says a prompt came from here.
      headers: { "x-inspect-client": "cli", ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    throw new ApiError(
      `cannot reach the control plane at ${base} (${error.cause?.code ?? error.message}). Is \`npm start\` running?`,
      { cause: error },
    );
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text.slice(0, 300) };
  }
  if (!res.ok) throw new ApiError(data.error ?? `${method} ${route} answered ${res.status}`);
  return data;
}

export const sessionRoute = (id, rest = "") => `/api/sessions/${encodeURIComponent(id)}${rest}`;
