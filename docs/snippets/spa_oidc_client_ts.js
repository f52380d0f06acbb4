// npm install oidc-client-ts — then, in the single-page app:
import { UserManager, WebStorageStateStore } from "oidc-client-ts";

export const userManager = new UserManager({
  authority: "http://127.0.0.1:8000",                 // discovery: /.well-known/openid-configuration
  client_id: "coffee-spa",                            // a public client: no secret in the browser
  redirect_uri: "http://127.0.0.1:5000/callback",     // registered exactly in the realm file
  post_logout_redirect_uri: "http://127.0.0.1:5000/",
  response_type: "code",                              // authorization code + PKCE (S256), always
  scope: "openid profile get:drinks get:drinks-detail",
  extraQueryParams: { audience: "https://coffee.example/api" },
  userStore: new WebStorageStateStore({ store: window.sessionStorage }),
});

export const logIn = () => userManager.signinRedirect();            // to authgate's login page
export const finishLogIn = () => userManager.signinRedirectCallback(); // on /callback
export const logOut = () => userManager.signoutRedirect();

export async function callApi(path) {
  const user = await userManager.getUser();
  return fetch(`http://127.0.0.1:5001${path}`, {
    headers: { Authorization: `Bearer ${user.access_token}` },
  });
}
