/** Tiny DOM helpers for the client scripts: text is always set as text, never as HTML. */
type Attrs = Record<string, string | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

export function avatar(login: string, url: string | null | undefined, size = 24): HTMLElement {
  const style = `width:${size}px;height:${size}px`;
  if (url) return h("img", { class: "avatar", src: url, alt: login, title: login, style });
  return h("span", { class: "avatar", title: login, style }, login.slice(0, 1).toUpperCase());
}

export function badge(status: string): HTMLElement {
  return h("span", { class: `badge s-${status}` }, status);
}

/** A unified diff with added/removed lines marked. */
export function diffBlock(diff: string): HTMLElement {
  const pre = h("pre", { class: "diff" });
  for (const line of diff.split("\n")) {
    const cls =
      line.startsWith("+") && !line.startsWith("+++")
        ? "add"
        : line.startsWith("-") && !line.startsWith("---")
          ? "del"
          : line.startsWith("@@")
            ? "hunk"
            : undefined;
    pre.append(cls ? h("span", { class: cls }, line) : `${line}\n`);
  }
  return pre;
}

export { safeHref } from "../links.js";
