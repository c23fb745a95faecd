// The lobby's TV: the pagers just called, large, newest first; never a
// name, and nothing here can send a command. The link's token comes in the
// URL's fragment (never sent to the server), is kept, and is shown to
// /api/lobby/calls in a header. Polled twice a second, so a page shows within
// a second, a restarted stand or a TV woken from sleep catches up at once.
const KEY = "coaster-lobby-token";
if (location.hash.length > 1) {
  localStorage.setItem(KEY, location.hash.slice(1));
  history.replaceState(null, "", location.pathname);
}
const calls = document.getElementById("calls"), note = document.getElementById("note");
let shown = "";

async function poll() {
  try {
    const r = await fetch("/api/lobby/calls", { headers: { Authorization: "Bearer " + (localStorage.getItem(KEY) || "") } });
    const body = await r.json();
    if (!r.ok) {
      calls.replaceChildren();
      shown = "";
      note.textContent = body.message;
      return;
    }
    const numbers = body.calls.map((c) => c.number);
    note.textContent = numbers.length ? "" : "Your pager will flash when your table is ready.";
    if (numbers.join() != shown) {
      shown = numbers.join();
      calls.replaceChildren(...numbers.map((n) => Object.assign(document.createElement("li"), { textContent: n })));
    }
  } catch {
    note.textContent = "Reconnecting to the stand…";
  } finally {
    setTimeout(poll, document.hidden ? 2000 : 500);
  }
}
document.addEventListener("visibilitychange", () => !document.hidden && poll());
poll();
