// signin.js: the sign-in page. A one-time link that no longer works lands
// here with ?code=; a browser already signed in goes on to the dashboard.
import { session, signIn } from "./data.js";

const msg = document.getElementById("message");

function say(text) {
  msg.textContent = text;
  msg.hidden = false;
}

async function main() {
  try {
    const res = await fetch("/session", { credentials: "same-origin" });
    if (res.ok) {
      location.replace("/");
      return;
    }
  } catch (_) { /* not signed in */ }
  if (new URLSearchParams(location.search).has("code")) {
    say("This sign-in link has expired or was already used. Restart doppel serve for a new link, or paste a token.");
  }
  document.getElementById("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = document.getElementById("token").value.trim();
    try {
      await signIn(token);
      await session();
      location.replace("/");
    } catch (e) {
      say(e.message);
    }
  });
}

main();
