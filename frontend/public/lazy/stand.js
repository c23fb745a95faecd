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

// ---- Analytics -------------------------------------------------------------

const tz = () => -new Date().getTimezoneOffset();
const minutes = (s) => (s == null ? "—" : `${Math.round(s / 60)} min`);
const percent = (part, whole) => (whole ? `${Math.round((100 * part) / whole)} %` : "—");
const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
};

/**
 * A bar chart a person reads at a glance: `series` of [name, class, values],
 * `labels` under the bars, a y axis in `unit`; the same numbers in a table
 * beside it for screen readers.
 */
function chart(title, unit, labels, series, testid) {
  const W = 640, H = 240, left = 44, bottom = 28, top = 10;
  const max = Math.max(1, ...series.flatMap(([, , values]) => values.map((v) => v ?? 0)));
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  const tick = [1, 2, 5, 10].map((m) => m * step).find((t) => max / t <= 5);
  const ceiling = Math.ceil(max / tick) * tick;
  const y = (v) => top + (H - top - bottom) * (1 - v / ceiling);
  const band = (W - left) / labels.length;
  const bar = (band * 0.8) / series.length;
  const graph = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title}, in ${unit}` });
  for (let v = 0; v <= ceiling; v += tick) {
    graph.append(svg("line", { x1: left, x2: W, y1: y(v), y2: y(v), class: "grid" }));
    graph.append(svg("text", { x: left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, String(v)));
  }
  const every = Math.ceil(labels.length / 12);
  labels.forEach((label, i) => {
    series.forEach(([name, cls, values], s) => {
      const v = values[i] ?? 0;
      const rect = svg("rect", { x: left + i * band + band * 0.1 + s * bar, y: y(v), width: Math.max(bar - 1, 1), height: y(0) - y(v), class: cls });
      rect.append(svg("title", {}, `${label}: ${name} ${v} ${unit}`));
      graph.append(rect);
    });
    if (i % every == 0) graph.append(svg("text", { x: left + i * band + band / 2, y: H - 8, class: "axis", "text-anchor": "middle" }, label));
  });
  const legend = el("p", { className: "legend" }, ...series.map(([name, cls]) => el("span", { className: `legend-key ${cls}`, textContent: name })), el("span", { textContent: ` (${unit})` }));
  const numbers = table(["", ...series.map(([name]) => name)], labels.map((label, i) => el("tr", {}, el("th", { textContent: label }), ...series.map(([, , values]) => el("td", { textContent: values[i] ?? "—" })))), `${testid}-numbers`);
  numbers.className = "table chart-numbers";
  const figure = el("figure", { className: "chart" }, el("h3", { textContent: title }), graph, legend, el("details", {}, el("summary", { textContent: "The numbers" }), numbers));
  figure.dataset.testid = testid;
  return figure;
}

function analytics(root) {
  const status = el("p", { className: "stand-status", role: "status" });
  const body = el("div");
  let span = 30;
  const { fields, query } = range(() => load());
  const presets = [
    ["Today", 1],
    ["Last 7 days", 7],
    ["Last 30 days", 30],
  ].map(([label, days]) => {
    const b = el("button", { className: "btn", textContent: label });
    b.dataset.testid = `analytics-${days}`;
    b.onclick = () => {
      span = days;
      const to = day(Date.now()), from = day(Date.now() - (days - 1) * DAY);
      fields.querySelectorAll("input")[0].value = from;
      fields.querySelectorAll("input")[1].value = to;
      load();
    };
    return b;
  });
  const load = async () => {
    try {
      const a = await (await get(`/api/stand/analytics?${query()}&tz_offset_min=${tz()}`)).json();
      status.textContent = "";
      const s = a.summary, p = a.previous;
      const change = (now, before) => (before ? `${now >= before ? "+" : "−"}${Math.abs(Math.round((100 * (now - before)) / before))} % on the period before` : "nothing the period before");
      const card = (label, value, detail, testid) => {
        const c = el("div", { className: "card" }, el("span", { className: "card-label", textContent: label }), el("strong", { textContent: value }), el("span", { className: "card-detail", textContent: detail }));
        c.dataset.testid = testid;
        return c;
      };
      const hours = a.by_hour.filter((h) => h.arrivals > 0 || (h.hour >= 11 && h.hour <= 23));
      body.replaceChildren(
        el("div", { className: "cards" },
          card("Parties", String(s.arrivals), change(s.arrivals, p.arrivals), "figure-parties"),
          card("Seated", String(s.served), change(s.served, p.served), "figure-served"),
          card("Wait to page", minutes(s.wait_to_page.median_s), `median; 90 % within ${minutes(s.wait_to_page.p90_s)}`, "figure-wait"),
          card("Wait to seat", minutes(s.wait_to_seat.median_s), `median; 90 % within ${minutes(s.wait_to_seat.p90_s)}`, "figure-seat"),
          card("Paged within goal", percent(s.within_goal, s.within_goal + s.late), `${s.late} late`, "figure-goal"),
          card("Walked away", String(s.walk_aways), "removed without a page", "figure-walkaways"),
          card("Busiest hours", a.busiest_hours.map((h) => `${pad(h)}h`).join(" · ") || "—", "most arrivals", "figure-busiest"),
        ),
        chart("Parties by hour of day", "parties", hours.map((h) => `${pad(h.hour)}h`), [["arrived", "s-arrived", hours.map((h) => h.arrivals)], ["seated", "s-served", hours.map((h) => h.served)]], "chart-hours"),
        chart("Parties by day", "parties", a.by_day.map((d) => d.day.slice(5)), [["arrived", "s-arrived", a.by_day.map((d) => d.arrivals)], ["seated", "s-served", a.by_day.map((d) => d.served)]], "chart-days"),
        chart("Wait to page by hour", "minutes", hours.map((h) => `${pad(h.hour)}h`), [["median", "s-median", hours.map((h) => h.wait_to_page.median_s == null ? null : Math.round(h.wait_to_page.median_s / 60))], ["90th percentile", "s-p90", hours.map((h) => h.wait_to_page.p90_s == null ? null : Math.round(h.wait_to_page.p90_s / 60))]], "chart-wait-hours"),
        chart("Waits by party size", "minutes", a.by_size.map((g) => g.sizes), [["to page, median", "s-median", a.by_size.map((g) => g.wait_to_page.median_s == null ? null : Math.round(g.wait_to_page.median_s / 60))], ["to page, 90th", "s-p90", a.by_size.map((g) => g.wait_to_page.p90_s == null ? null : Math.round(g.wait_to_page.p90_s / 60))], ["to seat, median", "s-seat", a.by_size.map((g) => g.wait_to_seat.median_s == null ? null : Math.round(g.wait_to_seat.median_s / 60))]], "chart-sizes"),
      );
    } catch (e) {
      status.textContent = e.message;
    }
  };
  root.replaceChildren(el("div", { className: "stand-controls" }, ...presets, fields), status, body);
  presets[2].click();
}

// ---- The quote, in the add-party dialog --------------------------------------

function quote(root) {
  const dialog = root.closest("[data-testid=add-dialog]");
  const sizeOf = () => Number(dialog?.querySelector("[data-testid=size-value]")?.textContent.match(/\d+/)?.[0] || 2);
  const use = el("button", { className: "btn" });
  use.dataset.testid = "quote-use";
  const line = el("span", { className: "quote-text" });
  line.dataset.testid = "quote";
  const load = async () => {
    try {
      const q = await (await get(`/api/stand/quote?size=${sizeOf()}&tz_offset_min=${tz()}`)).json();
      if (q.minutes == null) {
        line.textContent = "No quote yet: too few parties like this one. The goal is the transmitter's default.";
        line.title = q.how;
        use.hidden = true;
        return;
      }
      // The goal pick nearest the quote (picks run in five minutes to 30).
      const picks = [...dialog.querySelectorAll("[data-testid^=goal-]")];
      const pick = picks.reduce((best, b) => {
        const d = (b) => Math.abs(Number(b.dataset.testid.slice(5)) - q.minutes * 60);
        return !best || d(b) < d(best) ? b : best;
      }, null);
      line.textContent = `Quote ~${q.minutes} min`;
      line.title = `From ${q.how}.`;
      use.textContent = `Use as the goal (from ${q.based_on} parties)`;
      use.hidden = !pick;
      use.onclick = () => pick.click();
    } catch (e) {
      line.textContent = "";
      use.hidden = true;
    }
  };
  const size = dialog?.querySelector("[data-testid=size-value]");
  if (size) new MutationObserver(load).observe(size, { childList: true, characterData: true, subtree: true });
  root.replaceChildren(el("div", { className: "quote" }, line, use));
  load();
}

// ---- Lobby links, in Settings ---------------------------------------------------

function lobby(root) {
  const status = el("p", { className: "stand-status", role: "status" });
  const list = el("ul", { className: "tablets" });
  list.dataset.testid = "lobby-links";
  const made = el("p", { className: "lobby-made" });
  made.dataset.testid = "lobby-made";
  const call = async (method, path = "") => {
    try {
      const r = await fetch(`/api/lobby/links${path}`, { method, headers: { Authorization: "Bearer " + (localStorage.getItem(KEY) || "") } });
      const body = await r.json();
      if (!r.ok) throw new Error(body.message);
      if (body.made) {
        const url = `${location.origin}/lobby#${body.made.token}`;
        const link = el("a", { href: url, textContent: url, target: "_blank", rel: "noopener" });
        link.dataset.testid = "lobby-url";
        made.replaceChildren("Open this on the lobby's TV (shown once): ", link);
      }
      list.replaceChildren(
        ...body.links.map((l) => {
          const revoke = el("button", { className: "btn", textContent: "Revoke", onclick: () => call("DELETE", `/${l.id}`) });
          revoke.dataset.testid = "lobby-revoke";
          return el("li", {}, `Lobby link ${l.id}, made ${day(l.created_ms)} `, revoke);
        }),
        body.links.length ? "" : "No lobby link yet.",
      );
      status.textContent = "";
    } catch (e) {
      status.textContent = e.message;
    }
  };
  const create = el("button", { className: "btn", textContent: "New lobby link", onclick: () => call("POST") });
  create.dataset.testid = "lobby-create";
  root.replaceChildren(el("p", { textContent: "A TV by the door shows the pagers just called, never names, and can change nothing." }), create, made, status, list);
  call("GET");
}

// ---- End of night, in Statistics ---------------------------------------------

/** Sends one command on a socket of its own and resolves with its verdict. */
const command = (cmd) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.protocol == "https:" ? "wss" : "ws"}://${location.host}/ws`);
    const op = `night-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "auth", token: localStorage.getItem(KEY) || "", name: localStorage.getItem(NAME_KEY) || undefined }));
      ws.send(JSON.stringify({ op, command: cmd }));
    };
    ws.onmessage = ({ data }) => {
      const msg = JSON.parse(data);
      if (msg.type == "reply" && msg.op == op) {
        ws.close();
        resolve(msg.verdict);
      }
    };
    ws.onerror = () => reject(new Error("Can't reach the stand's server."));
  });

function night(root) {
  const status = el("p", { className: "stand-status", role: "status" });
  const open = el("button", { className: "btn btn-danger-quiet", textContent: "End of night…" });
  open.dataset.testid = "night-open";
  const sheet = el("div", { className: "night" });
  open.onclick = async () => {
    try {
      const { analytics: a, on_board } = await (await get(`/api/stand/night?tz_offset_min=${tz()}`)).json();
      const s = a.summary;
      const summary = el(
        "dl", { className: "night-summary" },
        ...[
          ["Parties tonight", s.arrivals],
          ["Seated", s.served],
          ["Wait to page", `${minutes(s.wait_to_page.median_s)} median, ${minutes(s.wait_to_page.p90_s)} for 90 %`],
          ["Paged late", s.late],
          ["Walked away", s.walk_aways],
          ["Busiest hour", a.busiest_hours.length ? `${pad(a.busiest_hours[0])}:00` : "—"],
        ].flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: String(v) })]),
      );
      summary.dataset.testid = "night-summary";
      const clear = el("button", { className: "btn btn-danger", textContent: on_board ? `Clear the ${on_board} parties still on the board` : "Nothing on the board to clear" });
      clear.dataset.testid = "night-clear";
      clear.disabled = !on_board;
      clear.onclick = async () => {
        clear.disabled = true;
        const verdict = await command({ type: "clear_all_sessions" }).catch((e) => ({ outcome: "error", message: e.message }));
        status.textContent = verdict.outcome == "acknowledged" ? "The board is clear. Good night." : `Not cleared: ${verdict.message}`;
        status.dataset.testid = "night-result";
      };
      const cancel = el("button", { className: "btn", textContent: "Cancel", onclick: () => sheet.replaceChildren() });
      sheet.replaceChildren(el("h3", { textContent: "Tonight" }), summary, el("div", { className: "stand-controls" }, clear, cancel));
    } catch (e) {
      status.textContent = e.message;
    }
  };
  root.replaceChildren(open, sheet, status);
}

export function open(kind, root) {
  ({ history, activity, name, analytics, quote, lobby, night })[kind]?.(root);
}
