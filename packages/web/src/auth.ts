/**
 * Sign-in on AWS: Cognito's hosted UI with the authorization code flow and PKCE (S256). The
 * page keeps the tokens in sessionStorage (gone with the tab) and sends the access token to
 * the API, whose JWT authorizer checks it. Locally (`pnpm start --serve`) there is no sign-in:
 * the build has no Cognito domain, and the server listens on loopback only.
 */
import { KPI_READ } from "@trip-pipeline/core/dashboard/spec";

export interface AuthConfig {
  /** https://<prefix>.auth.<region>.amazoncognito.com */
  domain: string;
  clientId: string;
}

const TOKEN = "trip-kpis.token";
const PENDING = "trip-kpis.pending-sign-in";

interface StoredToken {
  accessToken: string;
  expiresAt: number;
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function randomText(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function redirectUri(): string {
  return `${location.origin}/`;
}

/** The access token, signing in first when there is none: the page navigates away then, and this never resolves. */
export async function accessToken(config: AuthConfig): Promise<string> {
  const stored = sessionStorage.getItem(TOKEN);
  if (stored) {
    const token = JSON.parse(stored) as StoredToken;
    if (token.expiresAt > Date.now() + 30_000) return token.accessToken;
  }
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const pending = sessionStorage.getItem(PENDING);
  if (code && pending) {
    const { verifier, state, view } = JSON.parse(pending) as { verifier: string; state: string; view: string };
    sessionStorage.removeItem(PENDING);
    if (params.get("state") !== state)
      throw new Error("The sign-in answer does not belong to this tab; reload to sign in again.");
    const response = await fetch(`${config.domain}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: config.clientId,
        code,
        redirect_uri: redirectUri(),
        code_verifier: verifier,
      }),
    });
    if (!response.ok)
      throw new Error(`Sign-in failed (the token endpoint answered ${response.status}); reload to try again.`);
    const body = (await response.json()) as { access_token: string; expires_in: number };
    sessionStorage.setItem(
      TOKEN,
      JSON.stringify({
        accessToken: body.access_token,
        expiresAt: Date.now() + body.expires_in * 1000,
      } satisfies StoredToken),
    );
    // Back to the view the user asked for, without the one-time code in the address.
    history.replaceState(null, "", `/${view}`);
    return body.access_token;
  }
  await signIn(config);
  return new Promise<string>(() => {});
}

async function signIn(config: AuthConfig): Promise<void> {
  const verifier = randomText(48);
  const challenge = base64Url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  const state = randomText(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, view: location.search }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: `openid email ${KPI_READ}`,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(`${config.domain}/oauth2/authorize?${query}`);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN);
}

export function signOut(config: AuthConfig): void {
  forgetToken();
  location.assign(
    `${config.domain}/logout?${new URLSearchParams({ client_id: config.clientId, logout_uri: redirectUri() })}`,
  );
}
