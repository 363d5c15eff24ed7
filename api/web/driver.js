// The driver app: today's route, the next stop large, one tap to report, and it works offline.
// The route is kept in localStorage; reports wait in a queue there until the API has taken them.
// Each report carries a client_id chosen here, so a report sent twice is counted once.
import {
  ApiError, ATTRIBUTION, REASONS, TILES, call, clock, fillColour, h, language, percent, setLanguage, t,
} from "./common.js";

const STORE = {
  token: "tomning.driver.token",
  routes: "tomning.driver.routes",
  queue: "tomning.driver.queue",
  sent: "tomning.driver.sent",
};
const app = document.getElementById("app");
const state = {
  token: localStorage.getItem(STORE.token),
  routes: read(STORE.routes, []),
  queue: read(STORE.queue, []),
  sent: read(STORE.sent, {}),
  choosing: null, // the bin whose skip reason is being chosen
  message: null,
  notice: null, // the route changed by dispatch since the driver last looked
  online: navigator.onLine,
};
let syncing = false;
let map = null;
let layers = null;

function read(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function keep() {
  localStorage.setItem(STORE.routes, JSON.stringify(state.routes));
  localStorage.setItem(STORE.queue, JSON.stringify(state.queue));
  localStorage.setItem(STORE.sent, JSON.stringify(state.sent));
}

function signOut() {
  for (const key of Object.values(STORE)) localStorage.removeItem(key);
  Object.assign(state, { token: null, routes: [], queue: [], sent: {} });
  render();
}

/** What is known of each bin: the server's reports, then those sent since, then those waiting. */
function reported(view) {
  const known = {};
  for (const outcome of view.outcomes) known[outcome.bin_id] = outcome;
  for (const [bin, body] of Object.entries(state.sent)) if (body.plan_id === view.plan_id && body.bin_id) known[bin] = body;
  for (const item of state.queue) if (item.plan_id === view.plan_id && !item.path) known[item.body.bin_id] = item.body;
  return known;
}

/** The breaks of this truck's day its driver has begun: the server's, then those sent or waiting here. */
function breaksBegun(view) {
  const begun = {};
  for (const b of view.breaks_taken || []) begun[b.break_id] = b.start;
  const prefix = breakKey(view, "");
  const mine = [...Object.entries(state.sent), ...state.queue.map((item) => [item.key, item.body])];
  for (const [key, body] of mine) if (key?.startsWith(prefix)) begun[body.break_id] ??= body.start;
  return begun;
}

function breakKey(view, id) {
  return `break:${view.day}:${view.route.vehicle}:${id}`;
}

function beginBreak(view, pause) {
  const body = { break_id: pause.id, start: new Date().toISOString(), client_id: crypto.randomUUID() };
  const path = `/v1/plans/${view.plan_id}/routes/${view.route.index}/breaks`;
  state.queue.push({ plan_id: view.plan_id, path, key: breakKey(view, pause.id), body });
  keep();
  render();
  sync();
}

function report(view, visit, status, reason = null) {
  const body = {
    bin_id: visit.id, status, reason, note: "", at: new Date().toISOString(), client_id: crypto.randomUUID(),
  };
  state.queue.push({ plan_id: view.plan_id, body });
  state.choosing = null;
  keep();
  render();
  sync();
}

async function sync() {
  if (syncing || !state.token) return;
  syncing = true;
  try {
    while (state.queue.length) {
      const item = state.queue[0];
      let taken = true;
      try {
        // a stop's outcome, or a break begun (`path`); queues kept from before breaks are all outcomes
        const path = item.path || `/v1/plans/${item.plan_id}/outcomes`;
        await call(path, { method: "POST", body: item.body, token: state.token });
      } catch (error) {
        if (!(error instanceof ApiError)) break; // no network: the queue waits, in order
        if (error.status === 401) {
          state.message = error.message;
          break;
        }
        state.message = `${item.body.bin_id || item.body.break_id}: ${error.message}`; // refused for good: say so, go on
        taken = false;
      }
      if (taken) state.sent[item.key || item.body.bin_id] = { ...item.body, plan_id: item.plan_id };
      state.queue.shift();
      keep();
    }
    state.online = true;
  } finally {
    syncing = false;
    render();
  }
}

async function refresh() {
  if (!state.token) return;
  try {
    const answer = await call("/v1/my/routes", { token: state.token });
    // a route dispatch re-planned (another plan for the same truck and day): say so, once, until read
    const before = new Map(state.routes.map((v) => [`${v.day}/${v.route.vehicle}`, v]));
    const bins = (view) => new Set(view.route.visits.filter((v) => v.kind === "bin").map((v) => v.id));
    for (const view of answer.data) {
      const old = before.get(`${view.day}/${view.route.vehicle}`);
      if (!old || old.plan_id === view.plan_id) continue;
      const [was, now] = [bins(old), bins(view)];
      const added = [...now].filter((b) => !was.has(b)).length;
      const gone = [...was].filter((b) => !now.has(b)).length;
      state.notice = `${t("routeChanged")} ${clockNow()}: +${added} / −${gone} ${t("stops")}`;
    }
    state.routes = answer.data;
    state.online = true;
    keep();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signOut();
    state.online = false;
  }
  render();
}

function navigation(visits) {
  // Google Maps takes few waypoints on phones: the next stop and the two after it
  const [first, ...rest] = visits.slice(0, 3).map((v) => `${v.location.lat},${v.location.lon}`);
  const last = rest.length ? rest[rest.length - 1] : first;
  const via = rest.length ? [first, ...rest.slice(0, -1)].join("|") : "";
  const google = `https://www.google.com/maps/dir/?api=1&travelmode=driving&destination=${last}`
    + (via ? `&waypoints=${encodeURIComponent(via)}` : "");
  const next = visits[0].location;
  const apple = `https://maps.apple.com/?daddr=${next.lat},${next.lon}&dirflg=d`;
  const waze = `https://waze.com/ul?ll=${next.lat},${next.lon}&navigate=yes`;
  // OsmAnd takes the whole rest of the route as GPX, with the truck profile
  const points = visits.map((v) => `<rtept lat="${v.location.lat}" lon="${v.location.lon}"><name>${v.id}</name></rtept>`);
  const gpx = `<?xml version="1.0"?><gpx version="1.1" creator="Tömning" xmlns="http://www.topografix.com/GPX/1/1"><rte>${points.join("")}</rte></gpx>`;
  const osmand = `osmand.api://navigate_gpx?force=true&profile=truck&data=${encodeURIComponent(gpx)}`;
  return h("nav", { class: "handoff", "aria-label": t("navigate") },
    h("a", { href: google, target: "_blank", rel: "noopener", class: "button nav" }, "Google Maps"),
    h("a", { href: apple, target: "_blank", rel: "noopener", class: "button nav" }, "Apple Maps"),
    h("a", { href: osmand, class: "button nav" }, "OsmAnd"),
    h("a", { href: waze, target: "_blank", rel: "noopener", class: "button nav" }, "Waze"),
  );
}

function nextCard(view, known) {
  const bins = view.route.visits.filter((v) => v.kind === "bin");
  const left = bins.filter((v) => !known[v.id]);
  if (!left.length) return h("section", { class: "card next done" }, h("p", { class: "big" }, t("allDone")));
  const visit = left[0];
  if (state.choosing === visit.id) {
    return h("section", { class: "card next", id: "reasons" },
      h("h2", {}, `${t("why")} ${visit.address || visit.id}`),
      h("div", { class: "reasons" },
        REASONS.map((reason) => h("button", {
          class: "button reason", "data-reason": reason, onclick: () => report(view, visit, "skipped", reason),
        }, t(reason)))),
      h("button", { class: "button secondary", onclick: () => { state.choosing = null; render(); } }, t("cancel")));
  }
  return h("section", { class: "card next", id: "next", "data-bin": visit.id },
    h("p", { class: "label" }, `${t("next")} · ${bins.length - left.length + 1}/${bins.length}`),
    h("h2", { class: "big" }, visit.address || visit.id),
    h("p", { class: "facts" },
      h("span", { class: `fraction ${visit.fraction}` }, t(visit.fraction)), " ",
      h("span", {}, visit.id), " · ", h("span", {}, `${t("fill")} ${percent(visit.predicted_fill)}`), " · ",
      h("span", {}, `${t("arrival")} ${clock(visit.arrival)}`)),
    h("div", { class: "actions" },
      h("button", { class: "button collected", id: "collected", onclick: () => report(view, visit, "collected") },
        `✓ ${t("collected")}`),
      h("button", { class: "button skip", id: "skip", onclick: () => { state.choosing = visit.id; render(); } },
        `✕ ${t("skip")}`)),
    navigation(left));
}

function pauseItem(view, b, begun) {
  const name = b.id === "lunch" ? "" : ` (${b.id})`;
  const since = begun[b.id];
  return h("li", { class: since ? "pause begun" : "pause", "data-break": b.id },
    `☕ ${t("pause")}${name} · ${clock(b.start)}–${clock(b.end)} `,
    since ? h("span", { class: "mark" }, `✓ ${t("breakBegun")} ${clock(since)}`)
      : h("button", { class: "button small secondary", onclick: () => beginBreak(view, b) }, t("beginBreak")));
}

function stopList(view, known) {
  // the driver's breaks among the stops, where the plan puts them; one tap tells dispatch it began
  const breaks = [...(view.route.breaks || [])].sort((a, b) => a.start.localeCompare(b.start));
  const begun = breaksBegun(view);
  const items = [];
  for (const v of view.route.visits) {
    while (breaks.length && Date.parse(breaks[0].start) < Date.parse(v.arrival)) {
      items.push(pauseItem(view, breaks.shift(), begun));
    }
    items.push(visitItem(v, known));
  }
  return h("ol", { class: "stops" }, [...items, ...breaks.map((b) => pauseItem(view, b, begun))]);
}

function visitItem(v, known) {
  if (v.kind === "facility") {
    return h("li", { class: "facility" }, `⇣ ${t("unload")} ${v.id} · ${clock(v.arrival)}`);
  }
  const outcome = known[v.id];
  const mark = !outcome ? "" : outcome.status === "collected" ? "✓" : `✕ ${t(outcome.reason)}`;
  return h("li", { class: outcome ? `bin ${outcome.status}` : "bin", "data-bin": v.id },
    h("span", { class: "when" }, clock(v.arrival)), " ",
    h("span", { class: "where" }, v.address || v.id), " ",
    h("span", { class: `fraction ${v.fraction}` }, t(v.fraction)), " ",
    h("span", { class: "mark" }, mark));
}

function drawMap(view, known) {
  const box = document.getElementById("map");
  if (!box || typeof L === "undefined") return;
  if (!map || map.getContainer() !== box) {
    map = L.map(box, { zoomControl: false });
    L.tileLayer(TILES, { maxZoom: 19, attribution: ATTRIBUTION }).addTo(map);
    layers = L.layerGroup().addTo(map);
  }
  layers.clearLayers();
  const line = view.route.visits.map((v) => [v.location.lat, v.location.lon]);
  L.polyline(line, { color: "#0b3d2e", weight: 4, opacity: 0.7 }).addTo(layers);
  const nextId = view.route.visits.find((v) => v.kind === "bin" && !known[v.id])?.id;
  for (const v of view.route.visits) {
    const isNext = v.id === nextId;
    const colour = v.kind === "facility" ? "#3949ab" : known[v.id] ? "#9e9e9e" : fillColour(v.predicted_fill);
    L.circleMarker([v.location.lat, v.location.lon], {
      radius: isNext ? 12 : 7, color: "#000", weight: isNext ? 3 : 1, fillColor: colour, fillOpacity: 0.9,
    }).bindTooltip(v.address || v.id).addTo(layers);
  }
  if (line.length) map.fitBounds(line, { padding: [24, 24] });
}

function header() {
  const pending = state.queue.length;
  const status = !state.online && pending ? `${t("offline")} · ${pending}`
    : pending ? `${pending} ${t("pending")}` : !state.online ? t("offline") : t("synced");
  return h("header", { class: "bar" },
    h("strong", {}, "Tömning"),
    h("span", { id: "sync", class: pending ? "badge waiting" : "badge", "data-pending": pending }, status),
    h("button", {
      class: "button small", id: "lang", onclick: () => { setLanguage(language() === "sv" ? "en" : "sv"); render(); },
    }, language() === "sv" ? "English" : "Svenska"),
    h("button", { class: "button small secondary", onclick: signOut }, t("signOut")));
}

function signInForm() {
  const form = h("form", { class: "card signin", id: "signin" },
    h("h1", {}, "Tömning"),
    state.message ? h("p", { class: "error" }, state.message) : null,
    h("label", {}, t("tenant"), h("input", { name: "tenant", required: true, autocomplete: "organization" })),
    h("label", {}, t("username"), h("input", { name: "username", required: true, autocomplete: "username" })),
    h("label", {}, t("password"),
      h("input", { name: "password", type: "password", required: true, autocomplete: "current-password" })),
    h("button", { class: "button collected", type: "submit" }, t("signIn")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      const answer = await call("/v1/auth/token", { method: "POST", body: data });
      signedIn(answer.data.token);
    } catch (error) {
      state.message = error instanceof ApiError && error.status === 429 && error.retryAfter
        ? `${t("paused")} ${Math.ceil(error.retryAfter / 60)} ${t("minutes")}.`
        : t("wrong");
      render();
    }
  });
  return form;
}

function clockNow() {
  return new Date().toTimeString().slice(0, 5); // the phone's own time of day
}

function signedIn(token) {
  state.token = token;
  state.message = null;
  localStorage.setItem(STORE.token, token);
  refresh().then(sync);
}

function render() {
  document.documentElement.lang = language();
  if (!state.token) {
    app.replaceChildren(signInForm());
    map = null;
    return;
  }
  const views = state.routes;
  const body = [header()];
  if (state.message) body.push(h("p", { class: "error", role: "alert" }, state.message));
  if (state.notice) {
    body.push(h("p", { class: "card notice", id: "notice", role: "status" }, state.notice, " ",
      h("button", { class: "button small", onclick: () => { state.notice = null; render(); } }, t("ok"))));
  }
  if (!views.length) body.push(h("p", { class: "card big" }, t("noRoute")));
  for (const view of views) {
    const known = reported(view);
    body.push(nextCard(view, known), h("div", { id: "map", class: "map" }), stopList(view, known));
  }
  app.replaceChildren(...body);
  if (views.length) drawMap(views[0], reported(views[0]));
}

async function start() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/driver-sw.js", { scope: "/driver" }).catch(() => {});
  }
  const code = new URLSearchParams(location.hash.slice(1)).get("code");
  if (code) {
    history.replaceState(null, "", "/driver");
    try {
      const answer = await call("/v1/auth/handover", { method: "POST", body: { code } });
      for (const key of [STORE.routes, STORE.sent]) localStorage.removeItem(key);
      state.sent = {};
      signedIn(answer.data.token);
    } catch {
      state.message = t("linkInvalid");
    }
  }
  render();
  await refresh();
  await sync();
  window.addEventListener("online", () => { state.online = true; sync().then(refresh); });
  window.addEventListener("offline", () => { state.online = false; render(); });
  setInterval(() => { sync().then(refresh); }, 20_000);
}

start();
