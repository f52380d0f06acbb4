// The coffee shop single page: logs in through authgate, shows the drinks, and offers only the
// buttons the access token's `permissions` claim allows. The API still checks every call.
import { OidcClient } from "./oidc.js";

const $ = (id) => document.getElementById(id);
const config = await (await fetch("/config.json")).json();
const oidc = new OidcClient({
  issuer: config.issuer, clientId: config.client_id, audience: config.audience,
  redirectUri: `${window.location.origin}/callback`, postLogoutRedirectUri: `${window.location.origin}/`,
  scope: "openid profile email get:drinks get:drinks-detail post:drinks patch:drinks delete:drinks",
});
let refreshTimer = null;
let refreshCount = 0;

function say(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

const can = (permission) => oidc.permissions.includes(permission);

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (oidc.tokens) headers.Authorization = `Bearer ${oidc.tokens.accessToken}`;
  const response = await fetch(`${config.api}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const reason = data.error_description || data.message || data.error || response.statusText;
    throw new Error(`${method} ${path} refused: ${response.status} ${reason}`);
  }
  return data;
}

function drinkItem(drink) {
  const item = document.createElement("li");
  item.className = "drink";
  item.dataset.drinkId = drink.id;
  const text = document.createElement("div");
  const title = document.createElement("h3");
  title.textContent = drink.title;
  const recipe = document.createElement("div");
  recipe.className = "recipe";
  for (const part of drink.recipe) {
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = part.color;
    swatch.title = part.name ? `${part.name} × ${part.parts}` : `${part.parts} part(s)`;
    recipe.append(swatch, part.name ? ` ${part.name} ` : "");
  }
  text.append(title, recipe);
  const actions = document.createElement("div");
  actions.className = "actions";
  if (can("patch:drinks")) actions.append(button("Rename", "quiet", () => rename(drink)));
  if (can("delete:drinks")) actions.append(button("Delete", "danger", () => remove(drink)));
  item.append(text, actions);
  return item;
}

function button(label, style, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = style;
  element.textContent = label;
  element.addEventListener("click", () => onClick().catch((error) => say(error.message, true)));
  return element;
}

async function loadDrinks() {
  const detailed = can("get:drinks-detail");
  const data = await api("GET", detailed ? "/drinks-detail" : "/drinks");
  $("drinks").replaceChildren(...data.drinks.map(drinkItem));
}

async function rename(drink) {
  const title = window.prompt("New title", drink.title);
  if (!title) return;
  await api("PATCH", `/drinks/${drink.id}`, { title });
  say(`Renamed to ${title}.`);
  await loadDrinks();
}

async function remove(drink) {
  await api("DELETE", `/drinks/${drink.id}`);
  say(`Deleted ${drink.title}.`);
  await loadDrinks();
}

function render() {
  const signedIn = Boolean(oidc.tokens);
  $("login").hidden = signedIn;
  $("logout").hidden = !signedIn;
  $("who").hidden = !signedIn;
  $("account").hidden = !signedIn;
  $("new-drink").hidden = !can("post:drinks");
  if (!can("post:drinks")) $("drink-form").hidden = true;
  if (signedIn) {
    const claims = oidc.tokens.claims;
    $("who").textContent = `Signed in as ${claims.name || claims.preferred_username || claims.sub}`;
    $("permissions").textContent = oidc.permissions.join(", ") || "none";
    $("expires").textContent = new Date(oidc.tokens.expiresAt).toLocaleTimeString();
    $("refresh-count").textContent = String(refreshCount);
  }
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!oidc.tokens?.refreshToken) return;
  const delay = Math.max(5000, oidc.tokens.expiresAt - Date.now() - 60000);
  refreshTimer = setTimeout(() => refreshNow().catch((error) => say(error.message, true)), delay);
}

async function refreshNow() {
  await oidc.refresh(); // rotation: the old refresh token is spent, the new one kept in memory
  refreshCount += 1;
  render();
  scheduleRefresh();
  say("Tokens refreshed.");
}

$("login").addEventListener("click", () => oidc.login().catch((error) => say(error.message, true)));
$("logout").addEventListener("click", () => oidc.logout().catch((error) => say(error.message, true)));
$("refresh").addEventListener("click", () => refreshNow().catch((error) => say(error.message, true)));
$("new-drink").addEventListener("click", () => { $("drink-form").hidden = false; $("drink-title").focus(); });
$("force-post").addEventListener("click", () =>
  api("POST", "/drinks", { title: `Forbidden brew ${Date.now()}`, recipe: { name: "water", color: "blue", parts: 1 } })
    .then(() => { say("The API accepted the drink."); return loadDrinks(); })
    .catch((error) => say(error.message, true)));
$("drink-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("POST", "/drinks", {
      title: $("drink-title").value, recipe: { name: $("drink-ingredient").value, color: $("drink-color").value, parts: 1 },
    });
    $("drink-form").reset();
    $("drink-form").hidden = true;
    say("Drink added.");
    await loadDrinks();
  } catch (error) {
    say(error.message, true);
  }
});

try {
  if (window.location.pathname === "/callback") {
    await oidc.handleCallback();
    window.history.replaceState(null, "", "/");
    say("Signed in.");
    scheduleRefresh();
  }
} catch (error) {
  window.history.replaceState(null, "", "/");
  say(`Sign-in failed: ${error.message}`, true);
}
render();
await loadDrinks().catch((error) => say(error.message, true));
document.body.dataset.ready = "true";
