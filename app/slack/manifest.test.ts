/** slack-app.yml asks Slack for every event and scope the code relies on (a missing one fails silently in Slack). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const manifest = parse(readFileSync(new URL("../../slack-app.yml", import.meta.url), "utf8"));

describe("slack-app.yml", () => {
  it("subscribes to mentions, direct messages, thread replies and shared links", () => {
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining(["link_shared", "app_mention", "message.im", "message.channels", "message.groups"]),
    );
  });

  it("has the scopes for unfurls, replies, the picker, direct messages and the classifier's channel names", () => {
    expect(manifest.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining([
        "links:read",
        "links:write",
        "app_mentions:read",
        "chat:write",
        "channels:history",
        "groups:history",
        "im:history",
        "channels:read",
        "groups:read",
      ]),
    );
    expect(manifest.features.app_home).toMatchObject({
      messages_tab_enabled: true,
      messages_tab_read_only_enabled: false,
    });
  });

  it("sends events and interactivity to the one route", () => {
    const route = "https://inspect.example.com/api/slack/events";
    expect(manifest.settings.event_subscriptions.request_url).toBe(route);
    expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: route });
    expect(manifest.features.unfurl_domains).toEqual(["inspect.example.com"]);
  });
});
