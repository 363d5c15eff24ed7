"""The driver app on a phone: open the route from a handover link, report stops, go offline, come back.

The server must get each report exactly once, however the phone's connection comes and goes.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.api.conftest import World
from tests.api.test_access import dispatched_plan
from tests.browser.conftest import PHONE, SCREENSHOTS
from tomning.apiserver import Served


def outcomes(world: World, plan: dict[str, Any]) -> list[dict[str, Any]]:
    answer = world.client.get(f"/v1/plans/{plan['id']}/outcomes", headers=world.auth("kalmar", "dispatcher"))
    return list(answer.json())


def next_bin(page: Page) -> str:
    return str(page.locator("#next").get_attribute("data-bin"))


def test_a_driver_works_through_the_route_online_and_offline(
    world: World, served: Served, browser: Browser
) -> None:
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    bins = [v["id"] for v in route["visits"] if v["kind"] == "bin"]
    assert len(bins) >= 4
    link = world.client.post(f"/v1/plans/{plan['id']}/routes/{route['index']}/handover",
                             headers=world.auth("kalmar", "dispatcher")).json()["url"]  # fmt: skip
    context = browser.new_context(**PHONE, locale="sv-SE", service_workers="allow")  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(link)
    expect(page.locator("#next")).to_be_visible()
    assert page.url.endswith("/driver")  # the one-time code is gone from the address bar
    assert next_bin(page) == bins[0]
    expect(page.locator("#collected")).to_have_text("✓ Tömd")
    page.wait_for_function(
        "navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15_000
    )

    # online: one tap, and the server has it
    page.locator("#collected").click()
    expect(page.locator("#sync")).to_have_attribute("data-pending", "0")
    assert [(o["bin_id"], o["status"]) for o in outcomes(world, plan)] == [(bins[0], "collected")]
    assert next_bin(page) == bins[1]

    # offline: two more, one of them skipped with a reason, and the page reloaded from the cache. The
    # server goes away too: Chromium's offline emulation does not always hold requests that pass
    # through the service worker, and a phone out of coverage reaches nothing.
    context.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    port = served.port
    served.__exit__()
    page.locator("#collected").click()
    expect(page.locator("#next")).to_have_attribute("data-bin", bins[2])
    page.locator("#skip").click()
    page.locator('[data-reason="blocked"]').click()
    expect(page.locator("#sync")).to_have_attribute("data-pending", "2")
    page.reload()
    expect(page.locator("#next")).to_have_attribute("data-bin", bins[3])
    expect(page.locator("#sync")).to_have_attribute("data-pending", "2")
    assert len(outcomes(world, plan)) == 1  # nothing reached the server meanwhile
    page.screenshot(path=str(SCREENSHOTS / "driver-offline.png"))

    # back online: the queue drains, each report once
    back = Served(world.services, host="127.0.0.1", port=port).__enter__()
    context.set_offline(False)
    page.wait_for_function("navigator.onLine")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#sync")).to_have_attribute("data-pending", "0", timeout=15_000)
    reported = sorted((o["bin_id"], o["status"], o["reason"]) for o in outcomes(world, plan))
    assert reported == sorted([
        (bins[0], "collected", None), (bins[1], "collected", None), (bins[2], "skipped", "blocked"),
    ])  # fmt: skip
    page.reload()
    expect(page.locator("#next")).to_have_attribute("data-bin", bins[3])
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(500)
    assert len(outcomes(world, plan)) == 3  # a reload and another sync add nothing
    expect(page.locator(f'li[data-bin="{bins[2]}"] .mark')).to_have_text("✕ Blockerat")
    page.locator("#lang").click()
    expect(page.locator("#collected")).to_have_text("✓ Collected")
    page.screenshot(path=str(SCREENSHOTS / "driver.png"))
    context.close()
    back.__exit__()


def test_every_target_is_large_enough_for_gloves_and_navigation_is_one_tap(
    world: World, served: Served, browser: Browser
) -> None:
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    link = world.client.post(f"/v1/plans/{plan['id']}/routes/{route['index']}/handover",
                             headers=world.auth("kalmar", "dispatcher")).json()["url"]  # fmt: skip
    context = browser.new_context(**PHONE, locale="en-GB")  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(link)
    expect(page.locator("#next")).to_be_visible()
    # the app re-renders when its first refresh answers: wait for that, then find and measure the
    # buttons in one function in the page, so no render can come between (a button taken out of the
    # page measures 0 x 0; Playwright's locators find and measure in separate steps)
    page.wait_for_load_state("networkidle")
    boxes = page.evaluate(
        "() => [...document.querySelectorAll('#next .button')].map((b) => [b.textContent,"
        " b.getBoundingClientRect().width, b.getBoundingClientRect().height])"
    )
    assert len(boxes) >= 6  # collected, skip and four navigation apps
    for text, width, height in boxes:
        assert min(width, height) >= 56, text
    hrefs = dict(
        page.evaluate(
            "() => [...document.querySelectorAll('.handoff a')].map((a) => [a.textContent, a.href])"
        )
    )
    stops = [v for v in route["visits"] if v["kind"] == "bin"]
    first = f"{stops[0]['location']['lat']},{stops[0]['location']['lon']}"
    assert hrefs["Google Maps"].startswith("https://www.google.com/maps/dir/?api=1")
    assert f"destination={stops[2]['location']['lat']},{stops[2]['location']['lon']}" in hrefs["Google Maps"]
    assert hrefs["Apple Maps"] == f"https://maps.apple.com/?daddr={first}&dirflg=d"
    assert hrefs["Waze"] == f"https://waze.com/ul?ll={first}&navigate=yes"
    assert hrefs["OsmAnd"].startswith("osmand.api://navigate_gpx?force=true&profile=truck&data=")
    manifest = page.evaluate("fetch('/static/web/manifest.webmanifest').then(r => r.json())")
    assert manifest["start_url"] == "/driver"
    assert manifest["display"] == "standalone"
    assert page.locator(".leaflet-control-attribution").inner_text().find("OpenStreetMap") >= 0
    context.close()


def test_the_drivers_lunch_stands_among_the_stops_where_the_plan_puts_it(
    world: World, served: Served, browser: Browser
) -> None:
    from tests.api.conftest import FLEET_WITH_LUNCH

    headers = world.auth("kalmar", "dispatcher")
    assert world.client.put("/v1/fleet", json=FLEET_WITH_LUNCH, headers=headers).status_code == 200
    plan = dispatched_plan(world)
    route = next(r for r in plan["routes"] if r["driver"] == "anna")
    ((taken),) = route["breaks"]
    assert "06:40" <= taken["start"][11:16] <= "07:00"
    assert (taken["id"], taken["end"][11:16]) == ("lunch", _plus_30(taken["start"][11:16]))
    before = sum(1 for v in route["visits"] if v["arrival"] < taken["start"])
    link = world.client.post(f"/v1/plans/{plan['id']}/routes/{route['index']}/handover",
                             headers=headers).json()["url"]  # fmt: skip
    context = browser.new_context(**PHONE, locale="sv-SE")  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(link)
    pause = page.locator("li.pause")
    expect(pause).to_have_text(f"☕ Rast · {taken['start'][11:16]}–{taken['end'][11:16]} Börja rasten")
    items = page.locator("ol.stops > li")
    expect(items.nth(before)).to_have_class("pause")  # after the stops before it, before the rest
    page.locator("#lang").click()
    expect(pause).to_contain_text("☕ Break · ")
    # one tap tells dispatch the break began: a re-plan will not plan it again
    pause.get_by_role("button", name="Start break").click()
    expect(pause).to_have_class("pause begun")
    expect(pause).to_contain_text("✓ began ")
    expect(page.locator("#sync")).to_have_attribute("data-pending", "0")
    view = f"/v1/plans/{plan['id']}/routes/{route['index']}"
    (begun,) = world.client.get(view, headers=world.auth("kalmar", "anna")).json()["breaks_taken"]
    assert (begun["break_id"], begun["by"]) == ("lunch", "anna")
    page.reload()  # the server's word now: still begun, no button
    expect(pause).to_have_class("pause begun")
    expect(pause.get_by_role("button")).to_have_count(0)
    context.close()


def _plus_30(hhmm: str) -> str:
    hours, minutes = divmod(int(hhmm[:2]) * 60 + int(hhmm[3:]) + 30, 60)
    return f"{hours:02d}:{minutes:02d}"


def test_a_driver_is_told_when_dispatch_changes_the_route_and_when_sign_in_is_paused(
    world: World, served: Served, browser: Browser
) -> None:
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    dispatcher = world.auth("kalmar", "dispatcher")
    link = world.client.post(f"/v1/plans/{plan['id']}/routes/{route['index']}/handover",
                             headers=dispatcher).json()["url"]  # fmt: skip
    context = browser.new_context(**PHONE, locale="sv-SE")  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(link)
    expect(page.locator("#next")).to_be_visible()
    expect(page.locator("#notice")).to_have_count(0)
    # dispatch re-plans the day and sends it out: the phone's next refresh says so
    again = world.client.post(f"/v1/plans/{plan['id']}/replan", json={"time_limit_s": 1}, headers=dispatcher)
    assert again.status_code == 201, again.text
    for step in ("approve", "dispatch"):
        assert (
            world.client.post(f"/v1/plans/{again.json()['id']}/{step}", headers=dispatcher).status_code == 200
        )
    page.evaluate("window.dispatchEvent(new Event('online'))")  # as the 20 s refresh would
    expect(page.locator("#notice")).to_contain_text("Trafikledningen har ändrat rutten")
    mine = next(r for r in again.json()["routes"] if r["vehicle"] == route["vehicle"])
    was, now = ({v["id"] for v in r["visits"] if v["kind"] == "bin"} for r in (route, mine))
    expect(page.locator("#notice")).to_contain_text(f": +{len(now - was)} / −{len(was - now)} stopp")
    page.locator("#notice button").click()
    expect(page.locator("#notice")).to_have_count(0)
    context.close()

    # a password guessed at: the sign-in form says to wait, not that the password is wrong
    world.client.put("/v1/users/anna", json={"role": "driver", "password": "correct horse battery"},
                     headers=world.auth("kalmar", "admin"))  # fmt: skip
    for n in range(5):
        world.client.post(
            "/v1/auth/token", json={"tenant": "kalmar", "username": "anna", "password": f"x{n}"}
        )
    context = browser.new_context(**PHONE, locale="sv-SE")  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(f"{served.url}/driver")
    page.locator('input[name="tenant"]').fill("kalmar")
    page.locator('input[name="username"]').fill("anna")
    page.locator('input[name="password"]').fill("correct horse battery")
    page.locator("#signin button[type=submit]").click()
    expect(page.locator("#signin .error")).to_have_text("För många fel lösenord. Försök igen om 15 min.")
    context.close()
