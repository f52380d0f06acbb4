// Runs docs/snippets/spa_oidc_client_ts.js under Node as a browser would: window's storage and
// location are stand-ins, and the test plays the browser's part between the two redirects — it
// reads the authorization URL printed here, logs in on authgate's page, and answers with the
// callback URL the browser would have landed on.
//
//     node drive.mjs SAMPLE.mjs   (stdin: the callback URL; stdout: one JSON line per step)
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

class MemoryStorage {
  #items = new Map();
  get length() { return this.#items.size; }
  key(index) { return [...this.#items.keys()][index] ?? null; }
  getItem(key) { return this.#items.has(key) ? this.#items.get(key) : null; }
  setItem(key, value) { this.#items.set(key, String(value)); }
  removeItem(key) { this.#items.delete(key); }
  clear() { this.#items.clear(); }
}

const navigations = [];
globalThis.window = {
  localStorage: new MemoryStorage(),
  sessionStorage: new MemoryStorage(),
  location: {
    href: "http://127.0.0.1:5000/",
    assign: (url) => navigations.push(url),
    replace: (url) => navigations.push(url),
  },
  addEventListener: () => {},
  removeEventListener: () => {},
};
window.self = window.top = window;
globalThis.localStorage = window.localStorage;
globalThis.sessionStorage = window.sessionStorage;

const sample = await import(pathToFileURL(process.argv[2]).href);
sample.logIn().catch((error) => { console.error(String(error)); process.exit(1); });  // resolves only on a page load
while (navigations.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
console.log(JSON.stringify({ authorize: navigations[0] }));

const input = createInterface({ input: process.stdin });
for await (const line of input) {
  window.location.href = line.trim();
  break;
}
const user = await sample.finishLogIn();
console.log(JSON.stringify({ access_token: user.access_token, id_token: user.id_token, sub: user.profile.sub }));
process.exit(0);
