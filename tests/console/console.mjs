// The console in a real browser (tests/tests/console_browser.rs runs this): Debian's chromium
// driven by playwright-core, pages checked with axe-core. Configuration from the environment:
//   E2E_MODULES   folder holding node_modules (target/tools/console-e2e)
//   CHROMIUM      the browser (/usr/bin/chromium)
//   BASE          keel's public port, http://127.0.0.1:<port>
//   SHOTS         where screenshots go
//   ADMIN_PW      the super-admin's password; PLAIN_USER, PLAIN_PW, PLAIN_TENANT a plain user
//   POLL_MS       the console's polling period
// It talks to the test on stdout/stdin: "NEED <what>" asks the test to act, which answers "ok".
// Every step prints "STEP <name>"; any failure exits non-zero with what was wrong.
import { createRequire } from "node:module";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const require = createRequire(join(env("E2E_MODULES"), "noop.js"));
const { chromium } = require("playwright-core");
const AXE = require.resolve("axe-core/axe.min.js");
const BASE = env("BASE");
const SHOTS = env("SHOTS");
const POLL_MS = Number(env("POLL_MS"));
mkdirSync(SHOTS, { recursive: true });

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function need(what) {
  console.log(`NEED ${what}`);
  const { value, done } = await lines.next();
  if (done || value.trim() !== "ok") throw new Error(`the test did not do: ${what} (${value})`);
}
const step = (name) => console.log(`STEP ${name}`);
function check(cond, what) {
  if (!cond) throw new Error(what);
}

/** axe on the page as it is: no serious or critical violation. */
async function accessible(page, name) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const minor = result.violations.filter((v) => !bad.includes(v)).map((v) => `${v.id}(${v.impact})`);
  console.log(`AXE ${name}: ${bad.length} serious/critical, minor: ${minor.join(", ") || "none"}`);
  check(
    bad.length === 0,
    `accessibility of ${name}: ` +
      bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`).join(" | "),
  );
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

async function login(page, user, pw, tenant) {
  await page.goto(`${BASE}/console/`);
  // The form is drawn (and focused) once the console knows nobody is logged in.
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === "username");
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password", { exact: true }).fill(pw);
  await page.getByLabel(/^Tenant/).fill(tenant || "");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("#who").filter({ hasText: user }).waitFor();
}

const profile = mkdtempSync(join(tmpdir(), "keel-console-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env("CHROMIUM"),
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 800 },
  // axe is injected as a script: the console's own policy would (rightly) refuse it.
  bypassCSP: true,
});
let failed = null;
try {
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  step("login page");
  await page.goto(`${BASE}/console/`);
  await page.getByRole("heading", { name: "Log in to Keel" }).waitFor();
  check((await page.evaluate(() => document.activeElement.id)) === "username", "the login form has the focus");
  const order = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.textContent));
  }
  check(order.join(",") === "password,tenant,Log in", `the form is reachable by Tab in order: ${order}`);
  const first = await page.evaluate(() => document.querySelector("a[href], button, input").textContent);
  check(first === "Skip to content", `the first focusable element is the skip link: ${first}`);
  await accessible(page, "login");
  await shot(page, "01-login");

  step("wrong password is a sentence");
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password", { exact: true }).fill("not-the-password");
  await page.getByRole("button", { name: "Log in" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  const said = await alert.textContent();
  check(/password/i.test(said) && /[.!?]$/.test(said.trim()), `the refusal is a sentence about the password: ${said}`);
  await shot(page, "02-login-refused");

  step("admin sees the plugins and their status");
  await login(page, "admin", env("ADMIN_PW"));
  const notesRow = page.locator('tr[data-plugin="notes-ui"]');
  await notesRow.waitFor();
  check((await notesRow.locator(".status").textContent()) === "ACTIVE", "notes-ui is ACTIVE");
  const echoRow = page.locator('tr[data-plugin="echo"]');
  check((await echoRow.locator(".status").textContent()) === "ACTIVE", "echo is ACTIVE");
  for (const name of ["Users", "Roles", "Tenants"]) {
    check(await page.getByRole("link", { name, exact: true }).isVisible(), `admin sees ${name}`);
  }
  check(await page.getByRole("heading", { name: "Register a plugin" }).isVisible(), "admin may register plugins");
  await accessible(page, "plugins");
  await shot(page, "03-plugins");
  await page.setViewportSize({ width: 400, height: 800 });
  await shot(page, "04-plugins-narrow");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `no horizontal scroll of the page on a narrow window (${overflow}px)`);
  await page.setViewportSize({ width: 1280, height: 800 });

  step("the top bar has notes-ui's type-1 entry");
  await page.getByText("Extensions").click();
  check(await page.getByRole("link", { name: "Notes home" }).isVisible(), "Notes home in the top bar");
  await page.getByText("Extensions").click();

  step("notes-ui's tab shows the user its back end got from the ticket");
  await page.getByRole("link", { name: "notes-ui", exact: true }).click();
  const tab = page.getByRole("tab", { name: "Notes" });
  await tab.waitFor();
  const frameEl = page.locator("iframe.extension");
  const src = await frameEl.getAttribute("src");
  check(src === "/plugins/notes-ui/tab?treeid=notes-ui", `the tab's iframe gets treeid: ${src}`);
  const frame = page.frameLocator("iframe.extension");
  const shown = await frame.locator("#username").textContent();
  check(shown === "admin", `the extension shows the user: ${shown}`);
  check((await frame.locator("#treeid").textContent()) === "notes-ui", "the extension got the treeid");
  await accessible(page, "plugin page");
  await shot(page, "05-plugin-notes-tab");

  step("the operations page has notes-ui's type-3 tab");
  await page.getByRole("link", { name: "Operations", exact: true }).click();
  await page.getByRole("tab", { name: "Notes operations" }).waitFor();
  check((await page.locator("iframe.extension").getAttribute("src")) === "/plugins/notes-ui/ops", "the operations tab's iframe");
  check((await page.frameLocator("iframe.extension").locator("#username").textContent()) === "admin", "the operations tab knows the user");
  await accessible(page, "operations");
  await shot(page, "06-operations");

  step("the type-1 entry opens inside the console");
  await page.getByText("Extensions").click();
  await page.getByRole("link", { name: "Notes home" }).click();
  await page.getByRole("heading", { name: "Notes home" }).waitFor();
  check((await page.frameLocator("iframe.extension").locator("#username").textContent()) === "admin", "Notes home knows the user");

  step("users page");
  await page.getByRole("link", { name: "Users", exact: true }).click();
  await page.getByRole("heading", { name: "Users" }).waitFor();
  await page.locator("table").waitFor();
  await accessible(page, "users");
  await shot(page, "07-users");

  step("a stopped plugin shows as unreachable within one poll");
  await page.getByRole("link", { name: "Plugins", exact: true }).click();
  await echoRow.waitFor();
  await need("stop echo");
  const since = Date.now();
  await echoRow.locator(".status", { hasText: "UNREACHABLE" }).waitFor({ timeout: POLL_MS + 2000 });
  console.log(`UNREACHABLE shown ${Date.now() - since} ms after the registry said so`);
  await shot(page, "08-unreachable");

  step("a platform admin unregisters a plugin from the console");
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Unregister echo" }).click();
  await echoRow.waitFor({ state: "detached" });

  step("logout, after which the old session reaches nothing");
  const old = (await context.cookies()).filter((c) => c.name.startsWith("keel_"));
  check(old.some((c) => c.name === "keel_session" && c.httpOnly && c.sameSite === "Lax"), "keel_session is HttpOnly, SameSite=Lax");
  check(!(await page.evaluate(() => document.cookie)).includes("keel_session"), "the page's script cannot read keel_session");
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("heading", { name: "Log in to Keel" }).waitFor();
  check(!(await context.cookies()).some((c) => c.name === "keel_session"), "the cookie is cleared");
  await context.addCookies(old); // a copy kept by someone: revoked all the same
  const replay = await page.request.get(`${BASE}/plugins/notes-ui/api/me`);
  check(replay.status() === 401, `the revoked session reaches no extension (${replay.status()})`);
  await context.clearCookies();

  step("a plain user does not see admin pages");
  await login(page, env("PLAIN_USER"), env("PLAIN_PW"), env("PLAIN_TENANT"));
  // What the plugins page shows a person depends on their roles' grants: the table, or the
  // registry's refusal as a sentence; never the admin parts.
  await page.locator("tr[data-plugin], #plugins-error .error").first().waitFor();
  for (const name of ["Users", "Roles", "Tenants"]) {
    check((await page.getByRole("link", { name, exact: true }).count()) === 0, `a plain user has no ${name} link`);
  }
  check((await page.getByRole("heading", { name: "Register a plugin" }).count()) === 0, "no register form");
  check((await page.getByRole("button", { name: /^Unregister/ }).count()) === 0, "no unregister buttons");
  await accessible(page, "plugins (plain user)");
  await shot(page, "09-plain-user");
  await page.goto(`${BASE}/console/#/users`);
  await page.getByRole("heading", { name: "Not allowed" }).waitFor();
  await shot(page, "10-plain-user-refused");

  check(errors.length === 0, `no script errors: ${errors.join("; ")}`);
  step("done");
} catch (e) {
  failed = e;
  try {
    const page = context.pages()[0];
    if (page) await page.screenshot({ path: join(SHOTS, "failure.png"), fullPage: true });
  } catch (_) {
    // the failure itself is what matters
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
if (failed) {
  console.error(`FAILED: ${failed.stack || failed}`);
  process.exit(1);
}
process.exit(0);
