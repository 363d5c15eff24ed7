// Shared by the driver app and the console: words in Swedish and English, and calls to the API.

const WORDS = {
  sv: {
    signIn: "Logga in", tenant: "Kommun", username: "Användare", password: "Lösenord", key: "API-nyckel",
    signOut: "Logga ut", next: "Nästa", collected: "Tömd", skip: "Hoppa över", why: "Varför?",
    cancel: "Avbryt", done: "Klart", allDone: "Alla kärl på rutten är klara.", noRoute: "Ingen rutt i dag.",
    offline: "Offline – sparas och skickas sen", pending: "väntar på att skickas", synced: "Allt skickat",
    stops: "stopp", unload: "Tippa vid", pause: "Rast", beginBreak: "Börja rasten", breakBegun: "började", fill: "Fyllnad", arrival: "Ankomst", navigate: "Navigera",
    not_out: "Ej utställt", no_access: "Ingen åtkomst", blocked: "Blockerat", contamination: "Felsorterat",
    damaged: "Skadat", overloaded: "Överfullt", safety: "Säkerhet", other: "Annat",
    skipped: "Hoppade över", linkInvalid: "Länken fungerar inte längre. Be trafikledningen om en ny.",
    bins: "Kärl", overThreshold: "Över gräns", alerts: "Larm", silent: "Tysta givare",
    collectedToday: "Tömda i dag", kmToday: "Km i dag (plan)", overflowHours: "Överfulla kärltimmar i dag",
    plan: "Plan", planDay: "Planera", approve: "Godkänn", dispatch: "Skicka ut", replan: "Planera om",
    why_over_capacity: "behövs, men mer än bilarna hinner i dag: en bil till eller längre pass",
    why_not_worth_it: "valfria, inte värda omvägen i dag", why_dispatcher: "utesluten av trafikledningen i dag",
    why_no_vehicle: "ingen bil tar den fraktionen", why_reported: "rapporterad på planen som ersattes",
    inService: "Bilar i tjänst:", include: "Töms oavsett fyllnad", exclude: "Töms inte i dag",
    includeBin: "Töm i dag", excludeBin: "Töm inte i dag",
    choiceHint: "Klicka på ett kärl på kartan för att ta med eller utesluta det; gäller nästa planering.",
    handover: "QR till förare", routes: "Rutter", km: "km", hours: "h", noPlan: "Ingen plan för dagen.",
    noCollection: "Bilarna kör inte den dagen",
    acknowledge: "Kvittera", resolve: "Åtgärdat", noAlerts: "Inga öppna larm.", status: "Status",
    draft: "utkast", approved: "godkänd", dispatched: "utskickad", superseded: "ersatt",
    full: "Fullt", fire_risk: "Brandrisk", tilted: "Vält", low_battery: "Lågt batteri", emptied: "Tömt",
    legendNone: "ingen mätning", leftOut: "utanför planen", wrong: "Fel användare eller lösenord",
    residual: "rest", food: "mat", paper: "papper", plastic: "plast", glass: "glas", metal: "metall",
    newspaper: "tidningar", textile: "textil",
    paused: "För många fel lösenord. Försök igen om", minutes: "min",
    routeChanged: "Trafikledningen har ändrat rutten", ok: "OK",
    fullAround: "Full cirka", notFullSoon: "Inte full inom två veckor", noReadings: "Inga mätningar på två veckor",
    fillChart: "Fyllnad senaste veckan och prognos", lastReport: "senast rapport",
  },
  en: {
    signIn: "Sign in", tenant: "Municipality", username: "Username", password: "Password", key: "API key",
    signOut: "Sign out", next: "Next", collected: "Collected", skip: "Skip", why: "Why?",
    cancel: "Cancel", done: "Done", allDone: "Every bin on the route is done.", noRoute: "No route today.",
    offline: "Offline – saved, sent later", pending: "waiting to be sent", synced: "All sent",
    stops: "stops", unload: "Unload at", pause: "Break", beginBreak: "Start break", breakBegun: "began", fill: "Fill", arrival: "Arrival", navigate: "Navigate",
    not_out: "Not put out", no_access: "No access", blocked: "Blocked", contamination: "Contaminated",
    damaged: "Damaged", overloaded: "Overloaded", safety: "Safety", other: "Other",
    skipped: "Skipped", linkInvalid: "This link no longer works. Ask dispatch for a new one.",
    bins: "Bins", overThreshold: "Over threshold", alerts: "Alerts", silent: "Silent sensors",
    collectedToday: "Collected today", kmToday: "Km today (planned)", overflowHours: "Overflow bin-hours today",
    plan: "Plan", planDay: "Plan", approve: "Approve", dispatch: "Dispatch", replan: "Re-plan",
    why_over_capacity: "due, but more than the trucks can do today: a truck more or a longer shift",
    why_not_worth_it: "optional, not worth their detour today", why_dispatcher: "left out by dispatch today",
    why_no_vehicle: "no truck takes its fraction", why_reported: "reported on the plan replaced",
    inService: "Trucks in service:", include: "Collected whatever its fill", exclude: "Not collected today",
    includeBin: "Collect today", excludeBin: "Not today",
    choiceHint: "Click a bin on the map to include or exclude it; applies to the next plan.",
    handover: "QR for driver", routes: "Routes", km: "km", hours: "h", noPlan: "No plan for the day.",
    noCollection: "The trucks do not run that day",
    acknowledge: "Acknowledge", resolve: "Resolve", noAlerts: "No open alerts.", status: "Status",
    draft: "draft", approved: "approved", dispatched: "dispatched", superseded: "superseded",
    full: "Full", fire_risk: "Fire risk", tilted: "Tilted", low_battery: "Low battery", emptied: "Emptied",
    legendNone: "no reading", leftOut: "left out", wrong: "Wrong username or password",
    residual: "residual", food: "food", paper: "paper", plastic: "plastic", glass: "glass", metal: "metal",
    newspaper: "newspaper", textile: "textile",
    paused: "Too many wrong passwords. Try again in", minutes: "min",
    routeChanged: "Dispatch has changed the route", ok: "OK",
    fullAround: "Full around", notFullSoon: "Not full within two weeks", noReadings: "No readings in two weeks",
    fillChart: "Fill over the last week, and forecast", lastReport: "last report",
  },
};

export const REASONS = ["not_out", "no_access", "blocked", "contamination", "damaged", "overloaded", "safety", "other"];

export function language() {
  const chosen = localStorage.getItem("tomning.lang");
  if (chosen === "sv" || chosen === "en") return chosen;
  return (navigator.language || "sv").startsWith("en") ? "en" : "sv";
}

export function setLanguage(lang) {
  localStorage.setItem("tomning.lang", lang);
  document.documentElement.lang = lang;
}

export function t(word) {
  return WORDS[language()][word] ?? WORDS.en[word] ?? word;
}

/** An element with attributes and children; text is always text, never markup. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter === null ? null : Number(retryAfter); // seconds, when the API said
  }
}

/** Call the API; throws ApiError for an answer ≥ 400 and TypeError when the network is down. */
export async function call(path, { method = "GET", body, token, headers = {} } = {}) {
  const options = { method, headers: { ...headers } };
  if (token) options.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 304) return { status: 304, data: null, etag: response.headers.get("ETag") };
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status >= 400) throw new ApiError(response.status, data, response.headers.get("Retry-After"));
  return { status: response.status, data, etag: response.headers.get("ETag") };
}

export function percent(level) {
  return level === null || level === undefined ? "–" : `${Math.round(level * 100)} %`;
}

/** The time of day as the API wrote it: in the tenant's zone (its offset is in the string). */
export function clock(iso) {
  const match = /T(\d{2}:\d{2})/.exec(iso);
  return match ? match[1] : iso;
}

export function fillColour(level, threshold = 0.8) {
  if (level === null || level === undefined) return "#7a7a7a";
  if (level >= threshold) return "#c0001a";
  if (level >= 0.5) return "#b36b00";
  return "#1a7f37";
}

export const TILES = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png";
export const ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>';
