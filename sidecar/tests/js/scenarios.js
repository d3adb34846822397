"use strict";
// Scenarios for sidecar/tests/js_sdk.rs: the official Dapr JavaScript SDK (@dapr/dapr, pinned in
// package.json beside this file) as an app would use it, over HTTP, against a stand-in sidecar.
//
// `node scenarios.js <scenario>` with NODE_PATH pointing at the SDK's node_modules. The client is
// built the way an app under `dapr run` builds it: `DAPR_HTTP_PORT` and `DAPR_API_TOKEN` come from
// the environment. Each step prints one JSON line, {"step", "value"} with what the SDK returned, or
// {"step", "thrown"} with what it threw; the Rust test asserts on those. Nothing else is printed:
// the SDK's own log lines are collected and printed as a step where a scenario looks at them.

const net = require("node:net");
const {
  DaprClient,
  CommunicationProtocolEnum,
  HttpMethod,
  LogLevel,
  StateConcurrencyEnum,
} = require("@dapr/dapr");

/** The SDK's log lines, as [level, message]. */
class CollectingLogger {
  constructor() {
    this.lines = [];
  }
  error(m) {
    this.lines.push(["error", m]);
  }
  warn(m) {
    this.lines.push(["warn", m]);
  }
  info(m) {
    this.lines.push(["info", m]);
  }
  verbose(m) {
    this.lines.push(["verbose", m]);
  }
  debug(m) {
    this.lines.push(["debug", m]);
  }
}

const logs = new CollectingLogger();

function client() {
  return new DaprClient({
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    logger: { level: LogLevel.Verbose, service: logs },
  });
}

function print(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

/** What a caller can read from an error the SDK produced: for a status outside 200-399 its
 * message is JSON, {error: <status text>, error_msg: <body>, status}. */
function readError(e) {
  try {
    return JSON.parse(e.message);
  } catch {
    return { message: e.message };
  }
}

/** Runs one step and prints its outcome. `undefined` (a call that resolves with nothing) is
 * printed as the string "(undefined)", so it stays apart from "" and null. */
async function step(name, f) {
  try {
    const v = await f();
    print({ step: name, value: v === undefined ? "(undefined)" : v });
    return v;
  } catch (e) {
    print({ step: name, thrown: readError(e) });
    return undefined;
  }
}

/** state.save and state.delete do not throw: they resolve with {} or with {error}. */
function settled(r) {
  return r && r.error ? { error: readError(r.error) } : r;
}

const scenarios = {
  // Service invocation from app1 to app2 (and to itself), with every verb the SDK has.
  async invoke() {
    const c = client();
    await step("start", () => c.start());
    await step("post_json", () =>
      c.invoker.invoke("app2", "orders/42?q=a%20b&q=c", HttpMethod.POST, { n: 1, s: "<x>" }, {
        headers: { "x-custom": "v1", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
      }),
    );
    await step("get", () => c.invoker.invoke("app2", "orders?page=2", HttpMethod.GET));
    await step("put_text", () => c.invoker.invoke("app2", "notes/1", HttpMethod.PUT, "hello"));
    await step("patch", () => c.invoker.invoke("app2", "orders/42", HttpMethod.PATCH, { n: 2 }));
    await step("delete", () => c.invoker.invoke("app2", "orders/42", HttpMethod.DELETE));
    await step("self", () => c.invoker.invoke("app1", "whoami", HttpMethod.GET));
    await step("created", () => c.invoker.invoke("app2", "status/201", HttpMethod.POST, { n: 3 }));
    await step("no_content", () => c.invoker.invoke("app2", "status/204", HttpMethod.POST, "x"));
    await step("not_found", () => c.invoker.invoke("app2", "status/404", HttpMethod.GET));
    await step("unavailable", () => c.invoker.invoke("app2", "status/503", HttpMethod.POST, { n: 4 }));
    await step("redirect", () => c.invoker.invoke("app2", "redirect", HttpMethod.GET));
    await step("unknown_app", () => c.invoker.invoke("nope", "orders", HttpMethod.GET));
    await c.stop();
  },

  // App statuses whose reason phrase Go's net/http and the stand-in may write differently.
  async reasons() {
    const c = client();
    for (const code of [413, 416, 599]) {
      await step(`status_${code}`, () => c.invoker.invoke("app2", `status/${code}`, HttpMethod.POST, "x"));
    }
    await c.stop();
  },

  // The state API on a store named "statestore" (state.in-memory), as the SDK exposes it.
  async state() {
    const c = client();
    const S = "statestore";
    await step("start", () => c.start());
    await step("save", async () =>
      settled(
        await c.state.save(S, [
          { key: "order", value: { b: 1, a: "<&>" } },
          { key: "greeting", value: "hello" },
          { key: "count", value: 1.0 },
        ]),
      ),
    );
    await step("get_order", () => c.state.get(S, "order"));
    await step("get_greeting", () => c.state.get(S, "greeting"));
    await step("get_count", () => c.state.get(S, "count"));
    await step("get_missing", () => c.state.get(S, "missing"));
    const bulk = await step("bulk", () => c.state.getBulk(S, ["order", "missing", "greeting", "count"]));
    const etag = (items, key) => items.find((i) => i.key === key).etag;

    const firstWrite = { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE };
    await step("first_write_new", async () =>
      settled(await c.state.save(S, [{ key: "fresh", value: "first", options: firstWrite }])),
    );
    await step("first_write_conflict", async () =>
      settled(await c.state.save(S, [{ key: "order", value: "second", options: firstWrite }])),
    );
    await step("first_write_with_etag", async () =>
      settled(
        await c.state.save(S, [{ key: "count", value: 2, etag: etag(bulk, "count") ?? "", options: firstWrite }]),
      ),
    );
    await step("stale_etag_save", async () =>
      settled(await c.state.save(S, [{ key: "order", value: "third", etag: "not-the-etag" }])),
    );
    await step("get_after_conflicts", () => c.state.get(S, "order"));

    await step("transaction", () =>
      c.state.transaction(S, [
        { operation: "upsert", request: { key: "order", value: { v: 2 }, etag: etag(bulk, "order") } },
        { operation: "delete", request: { key: "greeting", etag: etag(bulk, "greeting") } },
      ]),
    );
    const after = await step("bulk_after_transaction", () => c.state.getBulk(S, ["order", "greeting"]));
    // The etag read before the first transaction is stale now: nothing of this one is applied.
    await step("transaction_stale", () =>
      c.state.transaction(S, [
        { operation: "upsert", request: { key: "untouched", value: 1 } },
        { operation: "upsert", request: { key: "order", value: { v: 3 }, etag: etag(bulk, "order") } },
      ]),
    );
    await step("bulk_after_stale", () => c.state.getBulk(S, ["order", "untouched"]));

    await step("delete_stale", async () => settled(await c.state.delete(S, "order", { etag: etag(bulk, "order") })));
    await step("delete", async () => settled(await c.state.delete(S, "order", { etag: etag(after, "order") })));
    await step("get_deleted", () => c.state.get(S, "order"));
    await step("delete_missing", async () => settled(await c.state.delete(S, "never-saved")));
    await step("unknown_store_get", () => c.state.get("nostore", "k"));
    await step("unknown_store_save", async () => settled(await c.state.save("nostore", [{ key: "k", value: 1 }])));
    await c.stop();
  },

  // The SDK started before its sidecar: start() polls until the sidecar answers.
  async wait() {
    const port = Number(process.env.DAPR_HTTP_PORT);
    const refused = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.on("connect", () => {
        s.destroy();
        resolve(false);
      });
      s.on("error", () => resolve(true));
    });
    // The test starts the sidecar once it reads this line.
    print({ step: "waiting", value: { refused } });
    const c = client();
    await step("start", () => c.start());
    print({ step: "logs", value: logs.lines });
    await step("healthy", () => c.health.isHealthy());
    await step("metadata", () => c.metadata.get());
    await c.stop();
  },

  // A sidecar that refuses the SDK's token never counts as started. The SDK polls 60 times;
  // its delay between polls (500 ms) is shortened so this takes about a second, not 30.
  async wrong_token() {
    require("@dapr/dapr/utils/Settings.util").Settings.daprSidecarPollingDelayMs = 10;
    const c = client();
    await step("start", () => c.start());
    await step("state_get", () => c.state.get("statestore", "k"));
    await c.stop();
  },
};

const name = process.argv[2];
if (!scenarios[name]) {
  process.stderr.write(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(", ")}\n`);
  process.exit(2);
}
scenarios[name]().catch((e) => {
  process.stderr.write(`scenario ${name} failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
