// oidc-client-ts 3.5.0 (dist/browser/oidc-client-ts.min.js, which defines the global `oidc`)
const BROKER = "https://tokens.example.com";
const auth = new oidc.UserManager({
  authority: "https://login.example.com",          // discovery: the authorization endpoint and the rest…
  metadataSeed: {                                   // …except where tokens are made and revoked: the broker
    token_endpoint: `${BROKER}/oauth2/token`,
    revocation_endpoint: `${BROKER}/oauth2/revoke`,
  },
  client_id: "clover-web",                          // no client secret: the broker has the upstream's
  redirect_uri: "https://app.example/callback",
  scope: "openid offline_access",                   // offline_access: without it no refresh token, no handle
  revokeTokenTypes: ["refresh_token"],              // the handle; the access token is the upstream's
});

// Sign-in: oidc-client-ts makes state and the PKCE pair; the person logs in at the upstream.
const login = () => auth.signinRedirect();

// Every page load: at redirect_uri the code and code_verifier go to the broker, and the user (the broker's handle as
// its refresh_token) is stored in sessionStorage; elsewhere, the stored user or null.
const signedIn = location.pathname === "/callback"
  ? auth.signinRedirectCallback().then(user => { history.replaceState(null, "", "/"); return user; })
  : auth.getUser();

// With a refresh_token, signinSilent() is a refresh grant at the broker (no iframe), and the new handle in the answer
// replaces the old one. automaticSilentRenew (on by default) calls it shortly before the access token expires.
async function refresh() {
  try {
    return await auth.signinSilent();
  } catch (e) {
    if (e.error !== "invalid_grant") throw e;      // a transient failure: the session is still there
    await auth.removeUser();                        // the session ended: sign in again
    return null;
  }
}

async function api(url) {
  const user = await auth.getUser();
  return fetch(url, { headers: { Authorization: `Bearer ${user.access_token}` } });
}

// Logout: RFC 7009 at the broker, which ends the session and revokes the upstream's refresh token.
const logout = () => auth.revokeTokens().then(() => auth.removeUser());
