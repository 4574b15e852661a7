/**
 * Composes the control plane: database, session services, Probot (when a
 * GitHub App is configured), the runner API, the session API and the web, in
 * one Hono app. Stateless between requests: everything durable is in Postgres.
 */
import { serve, type ServerType } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { createWebMiddleware } from "@octokit/webhooks";
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { sameOriginWrites } from "./api/same-origin.js";
import { bodyCap } from "./api/body-cap.js";
import path from "node:path";
import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { type AccessPolicy } from "./api/access.js";
import { isLocalRequest } from "./auth/access.js";
import { sessionApi } from "./api/sessions.js";
import type { Config } from "./config.js";
import { openDatabase, type Database } from "./db/client.js";
import { pruneDeliveries } from "./db/deliveries.js";
import { ActionsDispatcher } from "./dispatch/actions.js";
import type { Dispatcher } from "./dispatch/dispatcher.js";
import { LocalDispatcher } from "./dispatch/local.js";
import { deliveryHandler, inspectApp } from "./github/app.js";
import { WebhookInbox, type InboxOptions } from "./github/inbox.js";
import { setupRoutes } from "./github/manifest.js";
import { GitHubGateway } from "./github/gateway.js";
import { GITHUB_REQUEST_TIMEOUT_MS, InspectOctokit, withRequestTimeout } from "./github/octokit.js";
import { GitHubIntake } from "./github/intake.js";
import { PermissionCache } from "./github/permissions.js";
import { githubReporters } from "./reporters/github.js";
import { attachReporters } from "./reporters/reporter.js";
import { RUNNER_API_PREFIX } from "../protocol/runner-api.js";
import { createOidcVerifier } from "./runner-api/oidc.js";
import { runnerRoutes } from "./runner-api/routes.js";
import { artifactUploadRoutes, artifactViewRoutes } from "./artifacts/routes.js";
import { ChildService } from "./children/child-service.js";
import { relayChildren } from "./children/relay.js";
import { childRoutes } from "./children/routes.js";
import { PoolService } from "./pool/pool-service.js";
import { poolRoutes } from "./pool/routes.js";
import { RunnerService } from "./runner-api/runner-service.js";
import { SessionBus } from "./sessions/bus.js";
import { createAuth } from "./auth/index.js";
import { createRoomPublisher, roomSettings } from "./rooms/index.js";
import { createSlack } from "./slack/index.js";
import { webRoutes } from "../web/routes.js";
import { webDeps } from "./read/web-deps.js";
import { EventLog } from "./sessions/event-log.js";
import { SessionService } from "./sessions/service.js";
import { SessionStarter } from "./sessions/starter.js";
import { ensurePrivateDir, loadOrCreateSecret } from "./util/secret.js";
import { BackgroundTasks, type Logger } from "./util/tasks.js";

export interface InspectOptions {
  /** An already open database (tests share one per file); opened from config otherwise. */
  database?: Database;
  logLevel?: "fatal" | "error" | "warn" | "info" | "debug";
  /** Octokit class for the GitHub App (tests disable retry/throttle waits). */
  Octokit?: typeof ProbotOctokit;
  /** Each GitHub API request's deadline (tests shorten it). */
  githubTimeoutMs?: number;
  /** Who may see what; defaults to local-only access. */
  access?: AccessPolicy;
  /** How often the status comment may be edited. */
  statusCommentIntervalMs?: number;
  /** First wait before a failed status comment / check run / Slack edit is tried again (see reporters). */
  reporterRetryMs?: number;
  /** Where log lines go (default stdout): tests read every line, runner output included. */
  logDestination?: { write(line: string): void };
  /** The webhook inbox's lease, retries and sweep (tests shorten them). */
  inbox?: InboxOptions;
}

export interface Inspect {
  app: Hono;
  config: Config;
  database: Database;
  bus: SessionBus;
  sessions: SessionService;
  runners: RunnerService;
  /** The warm pool (off when INSPECT_POOL_SIZE is 0): local child processes or Actions jobs. */
  pool: PoolService;
  intake: GitHubIntake | null;
  inbox: WebhookInbox | null;
  github: GitHubGateway | null;
  probot: Probot | null;
  tasks: BackgroundTasks;
  secret: string;
  log: Logger;
  /** Listen on `port` (config.port by default; 0 for any). */
  listen(port?: number, hostname?: string): Promise<{ port: number; url: string }>;
  close(): Promise<void>;
}

const DELIVERY_RETENTION_MS = 7 * 24 * 3_600_000;

export async function createInspect(config: Config, opts: InspectOptions = {}): Promise<Inspect> {
  const log = createLogger(config, opts);
  if (config.dataDir !== "memory://") ensurePrivateDir(config.dataDir);
  const database = opts.database ?? (await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir }));
  const db = database.db;
  const secret = loadOrCreateSecret(config.secret, config.dataDir);
  const tasks = new BackgroundTasks(log);
  const bus = new SessionBus();
  const events = new EventLog(db, bus);
  const probot = config.githubApp ? createProbot(config, opts, log) : null;
  const github = probot ? createGateway(config, probot, opts) : null;

  let listening: ServerType | null = null;
  let boundPort = config.port;
  const { dispatcher, actions } = createDispatcher(config, {
    github,
    log,
    tasks,
    port: () => boundPort,
    runners: () => runners,
    pool: () => pool,
  });
  const sessions = new SessionService({ db, config, events, bus, dispatcher, log });
  const runners = new RunnerService(sessions, github, actions);
  const pool = new PoolService({
    config,
    sessions,
    runners,
    dispatcher,
    github,
    log,
    run: (n, fn) => tasks.run(n, fn),
  });
  if (pool.enabled) sessions.usePool(pool);
  const permissions = github ? new PermissionCache(github) : null;
  const stops: (() => void)[] = [];
  let intake: GitHubIntake | null = null;
  let inbox: WebhookInbox | null = null;
  if (probot && github) {
    intake = new GitHubIntake({ db, config, github, permissions: permissions!, sessions, tasks, log });
    const reporters = githubReporters({ db, config, github, sessions, events, secret, log });
    stops.push(
      attachReporters({ bus, onPushed: (hook) => runners.onPushed(hook) }, reporters, {
        tasks,
        intervalMs: opts.statusCommentIntervalMs ?? 3_000,
        retryMs: opts.reporterRetryMs,
      }),
    );
    const handle = config.botHandle;
    inbox = new WebhookInbox(db, deliveryHandler({ intake, github, handle, log }), tasks, log, {
      exclusive: database.kind === "pglite",
      ...opts.inbox,
    });
    await probot.load(inspectApp({ inbox, handle }));
    stops.push(inbox.start());
  }
  stops.push(startHousekeeping(config, db, runners, tasks));
  const app = httpApp({
    config,
    opts,
    database,
    log,
    secret,
    bus,
    stops,
    probot,
    inbox,
    github,
    permissions,
    sessions,
    runners,
    pool,
    actions,
    tasks,
  });

  return {
    app,
    config,
    database,
    bus,
    sessions,
    runners,
    pool,
    intake,
    inbox,
    github,
    probot,
    tasks,
    secret,
    log,
    listen(port = config.port, hostname = "0.0.0.0") {
      return new Promise((resolve) => {
        listening = serve({ fetch: app.fetch, port, hostname }, (info) => {
          boundPort = info.port;
          // Once runners can reach us: those lost while no control plane was listening are
          // settled, and sessions left without a run get one.
          tasks.run("recover runners", async () => {
            await runners.recoverAtStart(dispatcher.alive?.bind(dispatcher));
            await runners.ensureRuns();
            pool.start();
          });
          resolve({ port: info.port, url: `http://127.0.0.1:${info.port}` });
        });
        keepIdleConnections(listening);
      });
    },
    async close() {
      for (const stop of stops) stop();
      sessions.shutDown();
      pool.close();
      await dispatcher.close();
      if (listening) await closeServer(listening);
      await tasks.drain();
      if (!opts.database) await database.close();
    },
  };
}

function createLogger(config: Config, opts: InspectOptions) {
  const level = opts.logLevel ?? config.logLevel;
  return opts.logDestination ? pino({ level, base: undefined }, opts.logDestination) : pino({ level, base: undefined });
}

function createProbot(config: Config, opts: InspectOptions, log: ReturnType<typeof createLogger>): Probot {
  const app = config.githubApp!;
  return new Probot({
    appId: app.appId,
    privateKey: app.privateKey,
    secret: app.webhookSecret,
    baseUrl: config.github.apiUrl,
    // Probot's own logger knows no "silent"; fatal is the quietest it has. With a log
    // destination, Probot's lines go there too.
    ...(opts.logDestination
      ? { log: log.child({ name: "probot" }) }
      : { logLevel: opts.logLevel ?? (config.logLevel === "silent" ? "fatal" : config.logLevel) }),
    Octokit: octokitClass(opts),
  });
}

/** The Octokit every GitHub call is made with: whichever class, each request has a deadline. */
function octokitClass(opts: InspectOptions): typeof ProbotOctokit {
  if (!opts.Octokit && !opts.githubTimeoutMs) return InspectOctokit;
  return withRequestTimeout(opts.Octokit ?? InspectOctokit, opts.githubTimeoutMs ?? GITHUB_REQUEST_TIMEOUT_MS);
}

function createGateway(config: Config, probot: Probot, opts: InspectOptions): GitHubGateway {
  const UserOctokit = octokitClass(opts);
  return new GitHubGateway(
    (id) => probot.auth(id),
    (token) => new UserOctokit({ auth: { token }, baseUrl: config.github.apiUrl }),
  );
}

interface DispatcherDeps {
  github: GitHubGateway | null;
  log: Logger;
  tasks: BackgroundTasks;
  /** The port the server listens on, once it does. */
  port: () => number;
  runners: () => RunnerService;
  pool: () => PoolService;
}

function createDispatcher(
  config: Config,
  deps: DispatcherDeps,
): { dispatcher: Dispatcher; actions: ActionsDispatcher | null } {
  if (config.runner.kind === "actions") {
    const actions = new ActionsDispatcher({
      github: deps.github!,
      repo: config.runner.repo,
      workflow: config.runner.workflow,
      ref: config.runner.ref,
      controlPlaneUrl: config.publicUrl,
      log: deps.log,
    });
    return { dispatcher: actions, actions };
  }
  const dispatcher = new LocalDispatcher({
    controlPlaneUrl: () => `http://127.0.0.1:${deps.port()}`,
    workDir: path.join(config.dataDir, "runners"),
    snapshotDir: path.join(config.dataDir, "snapshots"),
    // With a GitHub App the session's code never runs as us (our secrets are readable to us).
    sandboxUser: config.githubApp ? config.sandboxUser : null,
    hide: [config.dataDir, ...(config.privateKeyPath ? [config.privateKeyPath] : []), path.resolve(".env")],
    log: deps.log,
    onExit: (sessionId, code, signal, tail) =>
      deps.tasks.run(`runner exit ${sessionId}`, () => deps.runners().processExited(sessionId, code, signal, tail)),
    onPoolExit: (slotId, how) =>
      deps.tasks.run(`pooled runner exit ${slotId}`, () => deps.pool().slotExited(slotId, how)),
  });
  return { dispatcher, actions: null };
}

/** Reap stale runners and prune old webhook deliveries, in the background; returns the stop. */
function startHousekeeping(
  config: Config,
  db: Database["db"],
  runners: RunnerService,
  tasks: BackgroundTasks,
): () => void {
  const reapEvery = Math.max(1_000, Math.min(15_000, Math.floor(config.heartbeatTimeoutMs / 3)));
  const sweep = async () => {
    await runners.reap(config.heartbeatTimeoutMs, config.claimTimeoutMs);
    await runners.ensureRuns();
  };
  const reaper = setInterval(() => tasks.run("reap stale runners", sweep), reapEvery);
  reaper.unref();
  // Delivery ids only guard against redeliveries, which GitHub makes within days: keep a week.
  const pruneOld = () =>
    tasks.run("prune webhook deliveries", () => pruneDeliveries(db, new Date(Date.now() - DELIVERY_RETENTION_MS)));
  pruneOld();
  const pruner = setInterval(pruneOld, 3_600_000);
  pruner.unref();
  return () => {
    clearInterval(reaper);
    clearInterval(pruner);
  };
}

/**
 * Node closes an idle kept-alive connection after 5 s, and a client that sends on it just as it
 * closes gets "other side closed" (seen from runners and tests on a loaded machine). Kept far
 * longer than clients keep theirs (and than a proxy's usual 60 s), the server is never the one to
 * close first. Shutdown closes every connection anyway (closeServer).
 */
function keepIdleConnections(server: ServerType): void {
  const http = server as { keepAliveTimeout?: number; headersTimeout?: number };
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
}

async function closeServer(server: ServerType): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Long-polling runners would otherwise hold the server open.
  (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  await closed;
}

interface HttpDeps {
  config: Config;
  opts: InspectOptions;
  database: Database;
  log: Logger;
  secret: string;
  bus: SessionBus;
  /** Where the room forwarding's unsubscribe goes. */
  stops: (() => void)[];
  probot: Probot | null;
  inbox: WebhookInbox | null;
  github: GitHubGateway | null;
  permissions: PermissionCache | null;
  sessions: SessionService;
  runners: RunnerService;
  pool: PoolService;
  actions: ActionsDispatcher | null;
  tasks: BackgroundTasks;
}

/** The one Hono app: webhooks, setup, the runner API, the session API, sign-in and the web. */
function httpApp(d: HttpDeps): Hono {
  const { config, opts, database, log, secret, bus, stops, probot, github, permissions, sessions, runners, actions } =
    d;
  const db = database.db;
  const remoteAddress = (c: Context) => {
    try {
      return getConnInfo(c).remote.address;
    } catch {
      return undefined; // not a socket request (e.g. app.request in-process)
    }
  };
  // Sign-in with GitHub when OAuth is configured (app/auth); otherwise the local user.
  const auth = createAuth({ config, db, secret, remoteAddress, log: (m) => log.warn(m) });
  // GitHubAccess also serves local mode: loopback only, no proxy headers, loopback Host (no DNS rebinding).
  const access = opts.access ?? auth.access;
  // Live sessions: every persisted event is forwarded to the session's room (app/rooms).
  const rooms = roomSettings(config, secret);
  const publisher = createRoomPublisher(rooms, (m) => log.warn(m));
  stops.push(bus.on((sessionId, stored) => void publisher.publish(sessionId, stored)));

  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    log.error({ err, path: c.req.path }, "request failed");
    return c.json({ error: "internal error" }, 500);
  });
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.use("*", bodyCap("/api/github/webhooks"));
  app.get("/healthz", (c) =>
    c.json({ ok: true, database: database.kind, githubApp: Boolean(config.githubApp), runner: config.runner.kind }),
  );

  if (probot) {
    // No "202 still processing" before the delivery is stored (the default answers so after 9 s):
    // past GitHub's own 10 s, GitHub counts the delivery failed, which is the truth.
    const middleware = createWebMiddleware(probot.webhooks, {
      path: "/api/github/webhooks",
      log: probot.log,
      timeout: 30_000,
    });
    // GitHub caps a delivery at 25 MB: anything larger is not GitHub, signed or not (./api/body-cap.ts).
    app.post("/api/github/webhooks", async (c) => {
      const delivery = c.req.header("x-github-delivery");
      d.inbox?.arrived(delivery);
      try {
        return await middleware(c.req.raw);
      } finally {
        d.inbox?.settled(delivery);
      }
    });
  } else {
    app.post("/api/github/webhooks", async (c) => {
      await c.req.text();
      return c.json({ error: "no GitHub App is configured (set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET)" }, 503);
    });
  }

  if (!config.githubApp) {
    app.route(
      "/setup",
      setupRoutes(config, { root: process.cwd(), secret, isLocal: (c) => isLocalRequest(c, remoteAddress) }),
    );
  }

  const a = actions;
  const verifyOidc =
    config.runner.kind === "actions" && a
      ? createOidcVerifier({
          issuer: config.runner.oidcIssuer,
          audience: config.runner.oidcAudience,
          repository: config.runner.repo,
          workflow: config.runner.workflow,
          ref: config.runner.ref,
          repositoryId: () => a.repositoryId(),
        })
      : null;
  app.route(RUNNER_API_PREFIX, runnerRoutes({ runners, verifyOidc }));
  if (d.pool.available) app.route(`${RUNNER_API_PREFIX}/pool`, poolRoutes(d.pool, verifyOidc));
  const starter = new SessionStarter({ db, config, sessions, github, permissions });
  // Child sessions: the agent's own tools (sandbox/mcp) reach them with its session token.
  const children = new ChildService({ db, config, sessions, starter });
  app.route(
    RUNNER_API_PREFIX,
    childRoutes(children, runners, (id) => sessions.get(id)),
  );
  app.route(RUNNER_API_PREFIX, artifactUploadRoutes(runners, sessions, db));
  stops.push(relayChildren({ db, bus, events: sessions.deps.events, sessions, tasks: d.tasks }));
  // Slack (app/slack): events and interactivity at /api/slack/events, account linking at /slack/link.
  if (config.slack) {
    const slack = createSlack({
      config: { ...config, slack: config.slack },
      db,
      secret,
      tasks: d.tasks,
      log,
      canRead: auth.canReadRepo,
      viewer: (c) => auth.access.viewer(c),
      starter,
      sessions,
      installedRepositories: async () => (github ? github.installedRepositories() : []),
    });
    stops.push(slack.stop);
    stops.push(
      attachReporters({ bus, onPushed: (hook) => runners.onPushed(hook) }, [slack.reporter], {
        tasks: d.tasks,
        intervalMs: opts.statusCommentIntervalMs ?? 3_000,
        retryMs: opts.reporterRetryMs,
      }),
    );
    app.route("/api/slack", slack.events);
    app.route("/slack", slack.pages);
    log.info(`Slack: on (events at ${config.publicUrl}/api/slack/events)`);
  } else {
    log.info("Slack: off (set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN to turn it on)");
  }
  const sameOrigin = sameOriginWrites(config.publicUrl);
  app.use("/api/sessions", sameOrigin);
  app.use("/api/sessions/*", sameOrigin);
  app.use("/api/warmup", sameOrigin);
  app.route("/api/sessions", artifactViewRoutes(access, sessions, db));
  app.route("/api/sessions", sessionApi({ db, config, sessions, access, starter }));
  app.route("/auth", auth.routes);
  app.route(
    "/",
    webRoutes(
      webDeps({
        db,
        config,
        access,
        log,
        rooms: { url: rooms.url, secret: rooms.secret },
        warm: (viewer, repo) => starter.warm(viewer, repo),
      }),
    ),
  );

  return app;
}
