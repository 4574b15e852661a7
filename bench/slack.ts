/**
 * npm run bench:slack — how fast Slack hears back, through the real app (createInspect on PGlite,
 * over HTTP) with Slack's Web API a local server (SLACK_API_URL) and GitHub a local fake reached
 * through GHE_HOST, every request signed as Slack signs it:
 *  - link_shared → chat.unfurl: a signed event POSTed until the fake Slack receives the card;
 *  - mention → first thread reply: `@inspect acme/widgets <task>` POSTed until the fake Slack
 *    receives the reply with the session link (linked user, GitHub asked for write access,
 *    the session created after the reply);
 *  - the same with no repository named (the only-installed-repository rule asks GitHub for the
 *    installation's repositories, cached for a minute).
 * Each figure: a cold first request, then BENCH_ITERATIONS (30) sequential ones: min, median, max.
 */
import os from "node:os";
import { linkSlackUser, postToSlackRoute, startFakeSlack, type FakeSlack } from "../test/support/fake-slack.js";
import { startWebStack, type WebStack } from "../test/support/web-stack.js";

const SECRET = "bench-slack-signing-secret";
const iterations = Number(process.env.BENCH_ITERATIONS ?? 30);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number) => `${x.toFixed(1)} ms`;

let n = 0;

/** POST one event; the time until the fake Slack receives `method`, and the HTTP response's. */
async function timed(stack: WebStack, slack: FakeSlack, event: Record<string, unknown>, method: string) {
  const received = slack.next(method);
  const t0 = performance.now();
  const res = await postToSlackRoute(stack.url, SECRET, {
    type: "event_callback",
    team_id: "T1",
    event_id: `EvBench${++n}`,
    event,
  });
  const ack = performance.now() - t0;
  if (res.status !== 200) throw new Error(`Slack route answered ${res.status}`);
  const call = await received;
  await stack.inspect.tasks.drain();
  return { ack, total: call.at - t0 };
}

async function series(name: string, run: (i: number) => Promise<{ ack: number; total: number }>) {
  const cold = await run(0);
  const acks: number[] = [];
  const totals: number[] = [];
  for (let i = 1; i <= iterations; i++) {
    const { ack, total } = await run(i);
    acks.push(ack);
    totals.push(total);
  }
  const row = (xs: number[]) => `min ${fmt(Math.min(...xs))}, median ${fmt(median(xs))}, max ${fmt(Math.max(...xs))}`;
  console.log(`${name}: ${row(totals)} (cold first ${fmt(cold.total)}; n=${iterations}, sequential)`);
  console.log(`  HTTP acknowledgement: ${row(acks)}`);
}

const slack = await startFakeSlack();
const stack = await startWebStack(
  { alice: { "acme/widgets": { pull: true, push: true } } },
  {
    withRooms: false,
    githubApp: true,
    publicRepos: ["acme/widgets"],
    env: { SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: "xoxb-bench", SLACK_API_URL: slack.url },
  },
);
try {
  const cpus = os.cpus();
  console.log(
    `machine: ${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
      `Node ${process.version}, ${os.platform()} ${os.release()}, load average ${os.loadavg()[0]!.toFixed(2)}`,
  );
  await linkSlackUser(stack, slack, SECRET, "UALICE", "alice");
  await stack.createSession("bench1", "Fix the flaky login test", "alice");
  const link = `${stack.url}/sessions/bench1`;

  await series("link_shared → chat.unfurl", () =>
    timed(
      stack,
      slack,
      {
        type: "link_shared",
        channel: "C1",
        user: "UALICE",
        message_ts: "1700000000.000100",
        unfurl_id: "U-1",
        source: "conversations_history",
        links: [{ url: link, domain: "127.0.0.1" }],
      },
      "chat.unfurl",
    ),
  );
  const mention = (text: string) => (i: number) =>
    timed(
      stack,
      slack,
      { type: "app_mention", user: "UALICE", text: `<@UBOT> ${text} ${i}`, ts: `1700005000.${++n}`, channel: "CB" },
      "chat.postMessage",
    );
  await series("mention (acme/widgets named) → first thread reply", mention("acme/widgets bench task"));
  await series("mention (no repository named, one installed) → first thread reply", mention("bench task"));
} finally {
  await stack.close();
  await slack.close();
}
