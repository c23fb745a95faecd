// The stand's own History and Activity views, and this tablet's name: plain
// JS, loaded by index.html only when one of them opens, so the board's first
// load carries none of it. Reads /api/stand/… with the tablet's token in a
// header (never in a URL, which logs keep).

const KEY = "coaster-token";
export const NAME_KEY = "coaster-tablet-name";
const DAY = 864e5;

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
const pad = (n) => String(n).padStart(2, "0");
// The tablet's own clock and zone, as the rest of the app shows times.
const clock = (ms) => {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
const day = (ms) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
};
const wait = (s) => (s == null ? "—" : s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${pad(s % 60)} s`);
const OUTCOMES = { waiting: "Waiting", seated: "Seated", removed: "Removed" };
const VERDICTS = { acknowledged: "Done", rejected: "Refused by the transmitter", invalid: "Not sent", unreachable: "Not confirmed" };
const COMMANDS = {
  create_session: "Add", update_session: "Edit", page_session: "Page", clear_session: "Seat",
  remove_session: "Remove", clear_all_sessions: "Clear all", standalone_page: "Page a pager",
  get_history: "Read history", clear_history: "Clear history", get_statistics: "Read statistics",
  clear_statistics: "Reset statistics", get_settings: "Read settings", update_settings: "Change settings",
};

/** Local midnight of a `YYYY-MM-DD` field, in ms. */
const midnight = (text) => {
  const [y, m, d] = text.split("-").map(Number);
  return new Date(y, m - 1, d).getTime();
};

async function get(path) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + (localStorage.getItem(KEY) || "") } });
  if (!r.ok) {
    let message = `The stand answered ${r.status}.`;
    try {
      message = (await r.json()).message;
    } catch {}
    throw new Error(message);
  }
  return r;
}

/** A from/to pair of day fields (today by default) and a query string for them. */
function range(onChange) {
  const today = day(Date.now());
  const from = el("input", { type: "date", value: today, className: "field", onchange: onChange });
  const to = el("input", { type: "date", value: today, className: "field", onchange: onChange });
  from.dataset.testid = "stand-from";
  to.dataset.testid = "stand-to";
  const query = () => {
    const start = midnight(from.value || today);
    const end = midnight(to.value || from.value || today) + DAY;
    return `from_ms=${start}&to_ms=${Math.max(end, start + DAY)}`;
  };
  const fields = el("span", { className: "stand-range" }, el("label", {}, "From ", from), el("label", {}, "to ", to));
  return { fields, query };
}

function exportButton(label, kind, query, status) {
  const button = el("button", { className: "btn", textContent: label });
  button.dataset.testid = `export-${kind}`;
  button.onclick = async () => {
    try {
      const r = await get(`/api/stand/export.csv?kind=${kind}&${query()}`);
      const name = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "")?.[1] || `coaster-${kind}.csv`;
      const a = el("a", { href: URL.createObjectURL(await r.blob()), download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    } catch (e) {
      status.textContent = e.message;
    }
  };
  return button;
}

function table(headings, rows, testid) {
  const t = el("table", { className: "table" }, el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", { textContent: h })))), el("tbody", {}, ...rows));
  t.dataset.testid = testid;
  return t;
}

function history(root) {
  const status = el("p", { className: "stand-status", role: "status" });
  status.dataset.testid = "stand-status";
  const list = el("div");
  const search = el("input", { type: "search", className: "field", placeholder: "Name or pager" });
  search.dataset.testid = "stand-search";
  let timer;
  search.oninput = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  };
  const { fields, query } = range(() => load());
  const load = async () => {
    try {
      const q = search.value.trim() ? `&q=${encodeURIComponent(search.value.trim())}` : "";
      const page = await (await get(`/api/stand/parties?${query()}${q}`)).json();
      status.textContent = page.not_recording ? `Not recording: ${page.not_recording}` : "";
      list.replaceChildren(
        page.rows.length
          ? table(["Pager", "Name", "Size", "Arrived", "To page", "To seat", "Left", "Pages", "Who"], page.rows.map(party), "stand-parties")
          : el("p", { className: "empty", textContent: "No parties in this range." }),
      );
    } catch (e) {
      status.textContent = e.message;
    }
  };
  const party = (p) => {
    const who = p.events
      .filter((e) => e.by)
      .map((e) => `${e.kind} by ${e.by}`)
      .join(", ");
    const pages = p.events.filter((e) => e.kind == "paged").map((e) => e.mode || "page");
    const late = p.learned_late ? el("span", { className: "badge badge-late", textContent: "learned late", title: "Coaster learned this from the transmitter afterwards" }) : null;
    const tr = el(
      "tr", {},
      el("td", { className: "num-cell", textContent: p.number }),
      el("td", {}, p.label || "", late),
      el("td", { textContent: p.party_size ?? "—" }),
      el("td", { textContent: clock(p.created_ms) }),
      el("td", { textContent: wait(p.wait_to_page_s) }),
      el("td", { textContent: wait(p.wait_to_seat_s) }),
      el("td", { textContent: OUTCOMES[p.outcome] || p.outcome }),
      el("td", { textContent: pages.length ? `${pages.length} (${pages.join(", ")})` : "0" }),
      el("td", { textContent: who || "on the transmitter" }),
    );
    tr.dataset.testid = `stand-party-${p.number}`;
    return tr;
  };
  root.replaceChildren(
    el("div", { className: "stand-controls" }, fields, search, exportButton("Export CSV", "parties", query, status)),
    status,
    list,
  );
  load();
}

function activity(root) {
  const status = el("p", { className: "stand-status", role: "status" });
  status.dataset.testid = "stand-status";
  const list = el("div");
  const tablet = el("select", { className: "field", onchange: () => load() }, el("option", { value: "", textContent: "Every tablet" }));
  tablet.dataset.testid = "activity-tablet";
  const outcome = el(
    "select", { className: "field", onchange: () => load() },
    el("option", { value: "", textContent: "Every outcome" }),
    ...Object.entries(VERDICTS).map(([value, textContent]) => el("option", { value, textContent })),
  );
  outcome.dataset.testid = "activity-outcome";
  const { fields, query } = range(() => load());
  const load = async () => {
    try {
      const filters = (tablet.value ? `&tablet=${encodeURIComponent(tablet.value)}` : "") + (outcome.value ? `&outcome=${outcome.value}` : "");
      const page = await (await get(`/api/stand/activity?${query()}${filters}`)).json();
      status.textContent = page.not_recording ? `Not recording: ${page.not_recording}` : "";
      const chosen = tablet.value;
      tablet.replaceChildren(tablet.options[0], ...page.tablets.map((name) => el("option", { value: name, textContent: name })));
      tablet.value = chosen;
      list.replaceChildren(
        page.rows.length
          ? table(["Time", "Tablet", "Did", "Pager", "Outcome", "Took", ""], page.rows.map(line), "activity-table")
          : el("p", { className: "empty", textContent: "Nothing done from a tablet in this range." }),
      );
    } catch (e) {
      status.textContent = e.message;
    }
  };
  const line = (a) => {
    const d = new Date(a.at_ms);
    const tr = el(
      "tr", { className: `outcome-${a.outcome}` },
      el("td", { textContent: `${clock(a.at_ms)}:${pad(d.getSeconds())}` }),
      el("td", { textContent: a.tablet_name, title: `${a.address}${a.tablet_id ? " · " + a.tablet_id : ""}` }),
      el("td", { textContent: COMMANDS[a.command] || a.command }),
      el("td", { className: "num-cell", textContent: a.pager ?? "" }),
      el("td", { textContent: VERDICTS[a.outcome] || a.outcome, title: a.message || "" }),
      el("td", { textContent: a.duration_ms < 1000 ? `${a.duration_ms} ms` : `${(a.duration_ms / 1000).toFixed(1)} s` }),
      el("td", { textContent: a.attempts > 1 ? `sent ${a.attempts}×` : "" }),
    );
    tr.dataset.testid = "activity-row";
    return tr;
  };
  root.replaceChildren(
    el("div", { className: "stand-controls" }, fields, tablet, outcome, exportButton("Export CSV", "activity", query, status)),
    status,
    list,
  );
  load();
}

/** Settings' "This tablet's name": kept on the tablet, told to the stand. */
function name(root) {
  const input = el("input", { className: "field", maxLength: 40, value: localStorage.getItem(NAME_KEY) || "", placeholder: "e.g. Front door" });
  input.dataset.testid = "tablet-name";
  const saved = el("span", { className: "stand-status", role: "status" });
  const save = el("button", { className: "btn", textContent: "Save" });
  save.dataset.testid = "tablet-name-save";
  save.onclick = () => {
    const value = input.value.trim();
    if (!value) return (saved.textContent = "Give this tablet a name.");
    localStorage.setItem(NAME_KEY, value);
    window.coasterCurrent?.send(JSON.stringify({ type: "set_name", name: value }));
    saved.textContent = "Saved: the activity log names this tablet so.";
  };
  root.replaceChildren(el("label", { className: "stand-controls" }, "This tablet's name ", input, save), saved);
}

export function open(kind, root) {
  ({ history, activity, name })[kind]?.(root);
}
