"""The dispatcher's console in a real Chromium: the bins' map, alerts, a plan made and dispatched."""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.api.conftest import FLEET_WITH_LUNCH, World
from tests.browser.conftest import SCREENSHOTS
from tomning.apiserver import Served


def _signed_in(world: World, served: Served, browser: Browser) -> tuple[BrowserContext, Page]:
    """A dispatcher signed in to the console, at a desk's size, in Swedish; the fleet has a lunch."""
    dispatcher = world.auth("kalmar", "dispatcher")
    assert world.client.put("/v1/fleet", json=FLEET_WITH_LUNCH, headers=dispatcher).status_code == 200
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="sv-SE")
    page = context.new_page()
    page.goto(f"{served.url}/console")
    page.locator('input[name="key"]').fill(world.keys["kalmar", "dispatcher"])
    page.locator("#signin button[type=submit]").click()
    return context, page


def test_a_dispatcher_plans_approves_and_dispatches_from_the_console(
    world: World, served: Served, browser: Browser
) -> None:
    context, page = _signed_in(world, served, browser)
    expect(page.locator("#fig-bins b")).to_have_text("24")
    expect(page.locator("path.leaflet-interactive")).to_have_count(24)  # a circle per bin
    expect(page.locator("#alerts li")).to_have_count(2)
    page.locator("#alerts li").first.get_by_role("button", name="Åtgärdat").click()
    expect(page.locator("#alerts li")).to_have_count(1)

    # the day to plan is the next working day by the fleet's calendar; a day off says why
    upcoming = world.client.get("/v1/calendar", headers=world.auth("kalmar", "viewer")).json()
    expect(page.locator("#day")).to_have_value(upcoming["next_working_day"])
    page.locator("#day").fill("2026-12-24")
    page.locator("#day").dispatch_event("change")
    expect(page.locator("#day-off")).to_contain_text("Julafton")
    page.locator("#day").fill("2026-11-23")
    page.locator("#day").dispatch_event("change")
    expect(page.locator("#day-off")).to_have_count(0)
    page.locator("#make-plan").click()
    expect(page.locator("#plan-status")).to_contain_text("utkast", timeout=30_000)
    routes = page.locator("#routes li").count()
    assert routes >= 1
    expect(page.locator("path.route-line")).to_have_count(routes)
    expect(page.locator("#routes li").first).to_contain_text("☕ 06:")  # the driver's lunch, by the plan
    page.locator("#approve").click()
    expect(page.locator("#plan-status")).to_contain_text("godkänd")
    page.locator("#dispatch").click()
    expect(page.locator("#plan-status")).to_contain_text("utskickad")
    # today's figures: the dispatched plan's km, as /v1/kpis/daily gives them (decimal comma in Swedish)
    today = world.client.get("/v1/kpis/daily", headers=world.auth("kalmar", "viewer")).json()
    assert today["km"] > 0
    expect(page.locator("#fig-km b")).to_have_text(f"{today['km']}".replace(".", ","))
    expect(page.locator("#fig-collected b")).to_have_text("0")
    plans = world.client.get("/v1/plans?day=2026-11-23", headers=world.auth("kalmar", "viewer")).json()[
        "items"
    ]
    assert [p["status"] for p in plans] == ["dispatched"]
    # the drivers report: the console shows how far each route has come
    (dispatched,) = plans
    first = dispatched["routes"][0]
    stops = [v["id"] for v in first["visits"] if v["kind"] == "bin"]
    driver = world.auth("kalmar", first["driver"])
    reports = [(stops[0], "collected", None, "07:10"), (stops[1], "skipped", "blocked", "07:25")]
    for n, (bin_id, status, reason, at) in enumerate(reports):
        body = {"bin_id": bin_id, "status": status, "reason": reason, "at": f"2026-11-23T{at}:00+01:00",
                "client_id": f"console-{n:04d}"}  # fmt: skip
        answer = world.client.post(f"/v1/plans/{dispatched['id']}/outcomes", json=body, headers=driver)
        assert answer.status_code == 201, answer.text
    page.locator("#day").dispatch_event("change")  # as the 15 s refresh would
    row = page.locator(f'#routes li[data-route="{first["index"]}"] .progress')
    expect(row).to_have_text(f" · ✓ 1/{len(stops)} · ✕ 1 · senast rapport 07:25")
    expect(page.locator("path.skipped")).to_have_count(1)  # the skipped bin, ringed on the map
    page.locator("path.skipped").hover()
    expect(page.locator(".leaflet-tooltip")).to_contain_text(f"{stops[1]}: ")
    expect(page.locator(".leaflet-tooltip")).to_contain_text("✕ Blockerat")
    page.locator("#routes li").first.get_by_role("button", name="QR till förare").click()
    expect(page.locator("#qr img")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "console.png"))
    context.close()


def test_a_dispatcher_leaves_a_bin_and_a_truck_out_of_the_days_plan_from_the_map(
    world: World, served: Served, browser: Browser
) -> None:
    context, page = _signed_in(world, served, browser)
    page.locator("#day").fill("2026-11-23")
    page.locator("#day").dispatch_event("change")
    page.locator('input[data-truck="truck-1"]').uncheck()  # in the workshop
    page.locator("path.leaflet-interactive").last.click()  # a bin (drawn on top of its neighbours): its popup
    chosen = page.locator(".bin-popup").get_attribute("data-bin")
    page.locator('.bin-popup button[data-choice="exclude"]').click()
    expect(page.locator("#choice-exclude")).to_have_text(f"Töms inte i dag: {chosen}")
    page.reload()  # the choices wait in the browser for the plan: a reload keeps them
    page.locator("#day").fill("2026-11-23")
    page.locator("#day").dispatch_event("change")
    expect(page.locator("#choice-exclude")).to_have_text(f"Töms inte i dag: {chosen}")
    expect(page.locator('input[data-truck="truck-1"]')).not_to_be_checked()
    page.locator("#make-plan").click()
    expect(page.locator("#plan-status")).to_contain_text("utkast", timeout=30_000)
    (plan,) = world.client.get("/v1/plans?day=2026-11-23", headers=world.auth("kalmar", "viewer")).json()[
        "items"
    ]
    assert plan["choices"] == {"include": [], "exclude": [chosen], "vehicles_off": ["truck-1"]}
    assert {r["vehicle"] for r in plan["routes"]} == {"truck-2"}
    assert chosen not in {v["id"] for r in plan["routes"] for v in r["visits"]}
    page.locator("#left-out summary").click()  # why it is not collected, in the console's language
    expect(page.locator(f'#left-out li[data-bin="{chosen}"]')).to_have_text(
        f"{chosen} · utesluten av trafikledningen i dag"
    )
    page.reload()  # still signed in (the session keeps the key); the plan remembers what it was made with
    page.locator("#day").fill("2026-11-23")
    page.locator("#day").dispatch_event("change")
    expect(page.locator('input[data-truck="truck-1"]')).not_to_be_checked()
    expect(page.locator("#choice-exclude")).to_contain_text(chosen or "?")

    # the bin is taken away from another desk: the console's re-plan no longer names it, the truck stays off
    admin = world.auth("kalmar", "admin")
    assert world.client.delete(f"/v1/bins/{chosen}", headers=admin).status_code == 204
    page.reload()
    page.locator("#day").fill("2026-11-23")
    page.locator("#day").dispatch_event("change")
    expect(page.locator("#choice-exclude")).to_have_count(0)
    page.locator("#replan").click()
    expect(page.locator("#plan-status")).not_to_contain_text(f"#{plan['id']} ", timeout=30_000)
    expect(page.locator("#plan-status")).to_contain_text("utkast")
    expect(page.locator(".error")).to_have_count(0)
    plans = world.client.get("/v1/plans?day=2026-11-23", headers=world.auth("kalmar", "viewer")).json()
    current = plans["items"][0]  # the newest: a re-plan, a draft beside the plan it would replace
    assert current["replaces"] == plan["id"]
    assert current["choices"] == {"include": [], "exclude": [], "vehicles_off": ["truck-1"]}
    context.close()


def test_a_bins_popup_plots_its_last_week_and_says_when_it_will_be_full(
    world: World, served: Served, browser: Browser
) -> None:
    context, page = _signed_in(world, served, browser)
    expect(page.locator("path.leaflet-interactive")).to_have_count(24)
    page.locator("path.leaflet-interactive").last.click()
    popup = page.locator(".bin-popup")
    chosen = popup.get_attribute("data-bin") or "?"
    readings = world.client.get(
        f"/v1/bins/{chosen}/readings?interval=1h", headers=world.auth("kalmar", "viewer")
    )
    forecast = world.client.get(f"/v1/bins/{chosen}/forecast", headers=world.auth("kalmar", "viewer")).json()
    line = popup.locator("svg.fill-chart polyline.past")
    expect(line).to_have_count(1)
    drawn = (line.get_attribute("points") or "").split()
    assert len(drawn) == len(readings.json()) >= 2  # an hourly point per reading hour of the week
    # the newest reading is drawn highest of the week's last points: the fill rises until now
    assert float(drawn[-1].split(",")[1]) < float(drawn[0].split(",")[1])
    expect(popup.locator("svg.fill-chart line.threshold")).to_have_count(1)
    expect(popup.locator("svg.fill-chart polygon.band")).to_have_count(1)
    ahead = popup.locator("svg.fill-chart line.ahead")
    numbers = [float(ahead.get_attribute(a) or "nan") for a in ("x1", "y1", "x2", "y2")]
    assert all(n == n for n in numbers)  # drawn from the forecast's figures, none missing (NaN)
    assert numbers[3] < numbers[1]  # the fill rises ahead
    assert forecast["full_at"] is not None
    expect(popup.locator(".forecast-text")).to_contain_text("Full cirka")
    page.wait_for_timeout(400)  # the popup's fade-in
    page.screenshot(path=str(SCREENSHOTS / "console-bin.png"))
    context.close()
