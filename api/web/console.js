// The dispatcher's console: every bin on a live map by fill, alerts, silent sensors, and the day's
// plan with each truck's route drawn: plan, approve, dispatch, re-plan, hand a route to a driver.
import { ApiError, ATTRIBUTION, TILES, call, clock, fillColour, h, language, percent, setLanguage, t } from "./common.js";

const ROUTE_COLOURS = ["#1f4bd8", "#d81b60", "#00897b", "#6d4c41", "#8e24aa", "#f4511e", "#3949ab", "#43a047"];
const panel = document.getElementById("panel");
const bar = document.getElementById("bar");
const state = {
  token: sessionStorage.getItem("tomning.console.token"),
  tenant: null, bins: [], etag: null, alerts: [], kpis: null, plan: null, day: null, dayOff: null,
  dayOffFor: null, qr: null, message: null, trucks: [], outcomes: [],
  // per day: the dispatcher's { include, exclude, vehicles_off } for the next plan or re-plan, kept in
  // the browser until then (a reload does not lose them)
  choices: JSON.parse(localStorage.getItem("tomning.console.choices") || "{}"),
};
let map = null;
let binLayer = null;
let routeLayer = null;
let fitted = false;

function localDate(offsetDays, zone) {
  const when = new Date(Date.now() + offsetDays * 86_400_000);
  return new Intl.DateTimeFormat("sv-SE", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(when);
}

async function api(path, options = {}) {
  try {
    return await call(path, { ...options, token: state.token });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOut();
    throw error;
  }
}

function signOut() {
  sessionStorage.removeItem("tomning.console.token");
  localStorage.removeItem("tomning.console.choices"); // the next to sign in may be another municipality's
  state.choices = {};
  state.token = null;
  render();
}

async function nextWorkingDay() {
  try {
    return (await api("/v1/calendar?days=1")).data.next_working_day;
  } catch {
    return localDate(1, state.tenant.timezone); // no fleet yet: tomorrow
  }
}

async function dayOff(day) {
  const before = new Date(Date.parse(`${day}T12:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  try {
    return (await api(`/v1/calendar?after=${before}&days=1&lang=${language()}`)).data.days[0].off;
  } catch {
    return null;
  }
}

async function load() {
  if (!state.tenant) state.tenant = (await api("/v1/tenant")).data;
  state.day = state.day || await nextWorkingDay();
  const asked = `${state.day}/${language()}`; // the calendar changes with the day asked for, not every 15 s
  if (state.dayOffFor !== asked) {
    state.dayOff = await dayOff(state.day);
    state.dayOffFor = asked;
  }
  const answer = await api("/v1/state", { headers: state.etag ? { "If-None-Match": state.etag } : {} });
  if (answer.status !== 304) {
    state.bins = answer.data;
    state.etag = answer.etag;
  }
  state.alerts = (await api("/v1/alerts?status=open&limit=50")).data.items;
  state.kpis = (await api("/v1/kpis/daily")).data;
  const plans = (await api(`/v1/plans?day=${state.day}`)).data.items;
  state.plan = plans.find((p) => p.status !== "superseded") || null;
  // the drivers' reports on the plan out on the road: each route's progress
  state.outcomes = state.plan?.status === "dispatched" ? (await api(`/v1/plans/${state.plan.id}/outcomes`)).data : [];
  try {
    state.trucks = (await api("/v1/fleet")).data.vehicles.map((v) => v.id);
  } catch {
    state.trucks = []; // no fleet yet: planning says so
  }
  if (!state.choices[state.day] && state.plan?.choices) state.choices[state.day] = copyChoices(state.plan.choices);
  keepOnlyKnown();
}

/** Drop choices naming a bin or truck gone since (deleted from another desk): the API refuses them by name. */
function keepOnlyKnown() {
  const bins = new Set(state.bins.map((b) => b.id));
  const trucks = new Set(state.trucks);
  for (const c of Object.values(state.choices)) {
    for (const kind of ["include", "exclude"]) c[kind] = c[kind].filter((id) => bins.has(id));
    if (trucks.size) c.vehicles_off = c.vehicles_off.filter((id) => trucks.has(id));
  }
  localStorage.setItem("tomning.console.choices", JSON.stringify(state.choices));
}

function copyChoices(c) {
  return { include: [...(c?.include || [])], exclude: [...(c?.exclude || [])], vehicles_off: [...(c?.vehicles_off || [])] };
}

function choices() {
  state.choices[state.day] ??= copyChoices(null);
  return state.choices[state.day];
}

/** Put `id` in the day's list `kind` (include, exclude, vehicles_off), or take it out; a bin is in one list at most. */
function toggle(kind, id) {
  const c = choices();
  const had = c[kind].includes(id);
  if (kind !== "vehicles_off") for (const k of ["include", "exclude"]) c[k] = c[k].filter((x) => x !== id);
  else c[kind] = c[kind].filter((x) => x !== id);
  if (!had) c[kind].push(id);
  localStorage.setItem("tomning.console.choices", JSON.stringify(state.choices));
  render();
}

/** The bins the plan does not collect and why; optional ones not worth their detour only counted. */
function leftOutList(plan) {
  const optional = plan.left_out.filter((l) => l.code === "not_worth_it");
  const listed = plan.left_out.filter((l) => l.code !== "not_worth_it");
  return h("details", { class: "card left-out", id: "left-out", open: listed.some((l) => l.code === "over_capacity") },
    h("summary", {}, `${plan.left_out.length} ${t("leftOut")}`),
    h("ul", {}, listed.map((l) => h("li", { "data-bin": l.bin_id, "data-code": l.code },
      h("b", {}, l.bin_id), ` · ${l.code ? t(`why_${l.code}`) : l.reason}`))),
    optional.length ? h("p", {}, `${optional.length} ${t("why_not_worth_it")}`) : null);
}

function choiceCard() {
  const c = choices();
  const trucks = state.trucks.map((id) => h("label", { class: "truck" },
    h("input", { type: "checkbox", checked: !c.vehicles_off.includes(id), "data-truck": id, onchange: () => toggle("vehicles_off", id) }),
    ` ${id}`));
  const listed = (kind) => c[kind].length ? h("p", { id: `choice-${kind}` }, `${t(kind)}: ${c[kind].join(", ")}`) : null;
  return h("div", { class: "card choices", id: "choices" },
    h("p", {}, h("b", {}, t("inService")), " ", ...trucks),
    listed("include"), listed("exclude"),
    h("p", { class: "hint" }, t("choiceHint")));
}

async function act(work) {
  try {
    await work();
    state.message = null;
    await load();
  } catch (error) {
    state.message = error.message;
  }
  render();
}

function figures() {
  const over = state.bins.filter((b) => b.fillingLevel !== null && b.fillingLevel >= b.binFullnessThreshold);
  const box = (label, value, id) => h("div", { class: "figure", id }, h("b", {}, value), label);
  return h("div", {},
    h("div", { class: "figures" },
      box(t("bins"), state.bins.length, "fig-bins"),
      box(t("overThreshold"), over.length, "fig-over"),
      box(t("alerts"), state.alerts.length, "fig-alerts"),
      box(t("silent"), kpi("devices_silent"), "fig-silent")),
    h("div", { class: "figures today" },
      box(t("collectedToday"), kpi("emptyings"), "fig-collected"),
      box(t("kmToday"), kpi("km"), "fig-km"),
      box(t("overflowHours"), kpi("overflow_bin_hours"), "fig-overflow")));
}

function kpi(name) { // today's figures (GET /v1/kpis/daily), as the Collection dashboard draws them
  return state.kpis ? state.kpis[name].toLocaleString(language() === "sv" ? "sv-SE" : "en-GB") : "–";
}

function alertList() {
  if (!state.alerts.length) return h("p", { class: "card" }, t("noAlerts"));
  return h("ul", { class: "alerts", id: "alerts" }, state.alerts.map((a) => h("li", { "data-alert": a.id },
    h("span", { class: "what" }, `${t(a.event.kind)} · ${a.event.bin_id || a.event.device_id || ""}`),
    a.status === "open"
      ? h("button", { class: "button small secondary", onclick: () => act(() => api(`/v1/alerts/${a.id}/acknowledge`, { method: "POST" })) }, t("acknowledge"))
      : null,
    h("button", { class: "button small secondary", onclick: () => act(() => api(`/v1/alerts/${a.id}/resolve`, { method: "POST" })) }, t("resolve")))));
}

function planSection() {
  const plan = state.plan;
  const dayInput = h("input", { type: "date", value: state.day, id: "day", "aria-label": t("plan") });
  dayInput.addEventListener("change", () => { state.day = dayInput.value; act(async () => {}); });
  const buttons = [h("button", { class: "button", id: "make-plan", onclick: () => act(() => api("/v1/plans", { method: "POST", body: { day: state.day, ...choices() } })) }, t("planDay"))];
  if (plan?.status === "draft") buttons.push(h("button", { class: "button", id: "approve", onclick: () => act(() => api(`/v1/plans/${plan.id}/approve`, { method: "POST" })) }, t("approve")));
  if (plan?.status === "approved") buttons.push(h("button", { class: "button", id: "dispatch", onclick: () => act(() => api(`/v1/plans/${plan.id}/dispatch`, { method: "POST" })) }, t("dispatch")));
  if (plan) buttons.push(h("button", { class: "button secondary", id: "replan", onclick: () => act(() => api(`/v1/plans/${plan.id}/replan`, { method: "POST", body: { ...choices() } })) }, t("replan")));
  const section = [h("h2", {}, `${t("plan")} `, dayInput)];
  if (state.dayOff) section.push(h("p", { class: "card", id: "day-off" }, `${t("noCollection")} (${state.dayOff})`));
  section.push(choiceCard(), h("div", { class: "planbar" }, buttons));
  if (!plan) return [...section, h("p", { class: "card" }, t("noPlan"))];
  section.push(h("p", { class: "card", id: "plan-status" }, `#${plan.id} · ${t(plan.status)} · ${plan.routes.length} ${t("routes").toLowerCase()} · `
    + `${(plan.routes.reduce((s, r) => s + r.distance_m, 0) / 1000).toFixed(1)} ${t("km")} · ${plan.left_out.length} ${t("leftOut")}`));
  if (plan.left_out.length) section.push(leftOutList(plan));
  section.push(h("ul", { class: "routes", id: "routes" }, plan.routes.map((r, n) => h("li", { "data-route": r.index },
    h("span", { class: "swatch", style: `background:${ROUTE_COLOURS[n % ROUTE_COLOURS.length]}` }),
    h("b", {}, r.vehicle), r.driver ? ` (${r.driver})` : "",
    ` · ${r.visits.filter((v) => v.kind === "bin").length} ${t("stops")} · ${(r.distance_m / 1000).toFixed(1)} ${t("km")} · ${(r.duration_s / 3600).toFixed(1)} ${t("hours")}`,
    ...(r.breaks || []).map((b) => ` · ☕ ${clock(b.start)}–${clock(b.end)}`),
    plan.status === "dispatched" ? progress(r) : null,
    plan.status === "dispatched" && r.driver
      ? h("button", { class: "button small secondary", onclick: () => act(async () => { state.qr = (await api(`/v1/plans/${plan.id}/routes/${r.index}/handover`, { method: "POST" })).data; }) }, t("handover"))
      : null))));
  if (state.qr) {
    section.push(h("div", { class: "qr card", id: "qr" },
      h("img", { alt: "QR", src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(state.qr.qr_svg)}` }),
      h("p", {}, h("a", { href: state.qr.url }, state.qr.url.split("#")[0]))));
  }
  return section;
}

/** An instant as the tenant's local clock shows it, in the console's language. */
function tenantTime(iso, parts) {
  return new Intl.DateTimeFormat(language() === "sv" ? "sv-SE" : "en-GB", { timeZone: state.tenant.timezone, ...parts })
    .format(new Date(iso));
}

/** How far a dispatched route has come: bins collected and skipped of its stops, and the last report's time. */
function progress(route) {
  const stops = new Set(route.visits.filter((v) => v.kind === "bin").map((v) => v.id));
  const mine = state.outcomes.filter((o) => stops.has(o.bin_id));
  const collected = mine.filter((o) => o.status === "collected").length;
  const skipped = mine.filter((o) => o.status === "skipped").length;
  const last = mine.map((o) => o.at).sort((a, b) => Date.parse(a) - Date.parse(b)).pop();
  const at = last && tenantTime(last, { hour: "2-digit", minute: "2-digit" });
  return h("span", { class: "progress", "data-collected": collected, "data-skipped": skipped },
    ` · ✓ ${collected}/${stops.size}`, skipped ? ` · ✕ ${skipped}` : "", at ? ` · ${t("lastReport")} ${at}` : "");
}

function binPopup(b) {
  const c = choices();
  const button = (kind, label) => h("button", {
    class: `button small ${c[kind].includes(b.id) ? "" : "secondary"}`, "data-choice": kind,
    onclick: () => { toggle(kind, b.id); map.closePopup(); },
  }, c[kind].includes(b.id) ? `✓ ${label}` : label);
  const chart = h("div", { class: "fill-chart", "aria-label": t("fillChart") });
  fillChart(chart, b); // drawn when the readings and the forecast arrive; the space is kept meanwhile
  return h("div", { class: "bin-popup", "data-bin": b.id },
    h("p", {}, h("b", {}, b.id), ` · ${percent(b.fillingLevel)}`),
    chart,
    button("include", t("includeBin")), " ", button("exclude", t("excludeBin")));
}

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** The bin's last week of hourly fill, its threshold, and where its forecast crosses it (a straight line at
 * the forecast's rate, with the band from its slowest to its fastest likely rate). */
async function fillChart(into, b) {
  const [past, forecast] = await Promise.all([
    api(`/v1/bins/${encodeURIComponent(b.id)}/readings?interval=1h`).then((r) => r.data, () => []),
    api(`/v1/bins/${encodeURIComponent(b.id)}/forecast`).then((r) => r.data, () => null),
  ]);
  const now = forecast ? Date.parse(forecast.made_at) : Date.now(); // the server's clock, not the desk's
  if (!past.length && !forecast) {
    into.append(h("p", { class: "forecast-text" }, t("noReadings")));
    return;
  }
  const [width, height, pad] = [260, 90, 4];
  const from = now - 7 * 86_400_000;
  const until = now + 3 * 86_400_000;
  const x = (ms) => pad + ((ms - from) / (until - from)) * (width - 2 * pad);
  const y = (level) => height - pad - Math.max(0, Math.min(1.05, level)) * (height - 2 * pad);
  const threshold = forecast?.threshold ?? b.binFullnessThreshold ?? 0.8;
  const svg = s("svg", { class: "fill-chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" },
    s("title", {}, t("fillChart")),
    s("rect", { x: 0, y: 0, width, height, fill: "#f6f8fa" }),
    s("line", { class: "now", x1: x(now), x2: x(now), y1: pad, y2: height - pad, stroke: "#999" }),
    s("line", { class: "threshold", x1: pad, x2: width - pad, y1: y(threshold), y2: y(threshold),
      stroke: "#c0001a", "stroke-dasharray": "4 3" }));
  const points = past.map((p) => `${x(Date.parse(p.ts)).toFixed(1)},${y(p.fillingLevel).toFixed(1)}`);
  if (points.length) {
    svg.append(s("polyline", { class: "past", points: points.join(" "), fill: "none", stroke: "#0b5cad", "stroke-width": 2 }));
  }
  let text = t("notFullSoon");
  if (forecast) {
    const seen = Date.parse(forecast.observed_at);
    const at = (rate, ms) => forecast.fillingLevel + (rate * (ms - seen)) / 86_400_000;
    const [slow, fast] = forecast.rate_band_per_day;
    svg.append(
      s("polygon", { class: "band", fill: "#0b5cad", opacity: 0.15, points: [
        [seen, forecast.fillingLevel], [until, at(fast, until)], [until, at(slow, until)],
      ].map(([ms, level]) => `${x(ms).toFixed(1)},${y(level).toFixed(1)}`).join(" ") }),
      s("line", { class: "ahead", x1: x(seen), y1: y(forecast.fillingLevel), x2: x(until),
        y2: y(at(forecast.rate_per_day, until)), stroke: "#0b5cad", "stroke-dasharray": "2 2" }));
    if (forecast.full_at) {
      const when = (iso) => tenantTime(iso, { weekday: "short", hour: "2-digit", minute: "2-digit" });
      const [early, late] = [forecast.full_earliest, forecast.full_latest].map((iso) => iso && when(iso));
      const band = early && late && early !== late ? ` (${early}–${late})` : "";
      text = `${t("fullAround")} ${when(forecast.full_at)}${band}`;
    }
  }
  into.append(svg, h("p", { class: "forecast-text" }, text));
}

function drawMap() {
  if (typeof L === "undefined") return;
  if (!map) {
    map = L.map("map");
    L.tileLayer(TILES, { maxZoom: 19, attribution: ATTRIBUTION }).addTo(map);
    binLayer = L.layerGroup().addTo(map);
    routeLayer = L.layerGroup().addTo(map);
    const legend = L.control({ position: "bottomright" });
    legend.onAdd = () => h("div", { class: "legend" }, [
      ["#1a7f37", "< 50 %"], ["#b36b00", "≥ 50 %"], ["#c0001a", t("overThreshold")], ["#7a7a7a", t("legendNone")],
    ].map(([colour, label]) => h("div", {}, h("span", { style: `color:${colour}` }, "● "), label)));
    legend.addTo(map);
  }
  // the routes first, then the bins over them (each one can be clicked), a skipped bin last, over its
  // station's other fractions: ringed, with the reason, as it still waits to be emptied
  routeLayer.clearLayers();
  (state.plan?.routes || []).forEach((r, n) => {
    L.polyline(r.visits.map((v) => [v.location.lat, v.location.lon]), {
      color: ROUTE_COLOURS[n % ROUTE_COLOURS.length], weight: 4, opacity: 0.85, className: "route-line",
    }).bindTooltip(`${r.vehicle}: ${(r.distance_m / 1000).toFixed(1)} km`).addTo(routeLayer);
  });
  binLayer.clearLayers();
  const skipped = new Map(state.outcomes.filter((o) => o.status === "skipped").map((o) => [o.bin_id, o.reason]));
  for (const b of [...state.bins].sort((p, q) => skipped.has(p.id) - skipped.has(q.id))) {
    const why = skipped.get(b.id);
    L.circleMarker([b.lat, b.lon], {
      radius: why ? 8 : 6, weight: why ? 4 : 1, color: why ? "#6a1b9a" : "#000", className: why ? "skipped" : "",
      fillColor: fillColour(b.fillingLevel, b.binFullnessThreshold), fillOpacity: 0.9,
    }).bindTooltip(`${b.id}: ${percent(b.fillingLevel)}${why ? ` · ✕ ${t(why)}` : ""}`)
      .bindPopup(() => binPopup(b)).addTo(binLayer);
  }
  if (!fitted && state.bins.length) {
    map.fitBounds(state.bins.map((b) => [b.lat, b.lon]), { padding: [20, 20] });
    fitted = true;
  }
}

function signInForm() {
  const form = h("form", { class: "card signin", id: "signin" },
    h("h1", {}, "Tömning"),
    state.message ? h("p", { class: "error" }, state.message) : null,
    h("label", {}, t("key"), h("input", { name: "key", autocomplete: "off" })),
    h("label", {}, t("tenant"), h("input", { name: "tenant" })),
    h("label", {}, t("username"), h("input", { name: "username", autocomplete: "username" })),
    h("label", {}, t("password"), h("input", { name: "password", type: "password", autocomplete: "current-password" })),
    h("button", { class: "button", type: "submit" }, t("signIn")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      state.token = data.key
        || (await call("/v1/auth/token", { method: "POST", body: { tenant: data.tenant, username: data.username, password: data.password } })).data.token;
      sessionStorage.setItem("tomning.console.token", state.token);
      state.message = null;
      await act(async () => {});
    } catch {
      state.message = t("wrong");
      render();
    }
  });
  return form;
}

function render() {
  document.documentElement.lang = language();
  bar.replaceChildren(
    h("strong", {}, `Tömning · ${state.tenant?.name || ""}`),
    h("button", { class: "button small", onclick: () => { setLanguage(language() === "sv" ? "en" : "sv"); render(); } },
      language() === "sv" ? "English" : "Svenska"),
    state.token ? h("button", { class: "button small secondary", onclick: signOut }, t("signOut")) : null);
  if (!state.token) {
    panel.replaceChildren(signInForm());
    return;
  }
  panel.replaceChildren(
    state.message ? h("p", { class: "error", role: "alert" }, state.message) : "",
    figures(), h("h2", {}, t("alerts")), alertList(), ...planSection());
  drawMap();
}

render();
if (state.token) act(async () => {});
setInterval(() => { if (state.token) act(async () => {}); }, 15_000);
