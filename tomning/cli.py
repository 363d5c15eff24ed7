"""`tomning`: one subcommand per job. Settings come from TOMNING_* variables and tomning.toml."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Tömning: sensor-driven waste collection. Settings: TOMNING_* environment variables "
    "(nested with __, e.g. TOMNING_MQTT__HOST) over a TOML file ($TOMNING_CONFIG or ./tomning.toml).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db = typer.Typer(help="The registry database (tenants, bins, devices, states, events).")
app.add_typer(db, name="db")
boards = typer.Typer(help="Grafana dashboards as code: provisioning files, and push to a running Grafana.")
app.add_typer(boards, name="dashboards")
route = typer.Typer(help="The route optimiser: solve a day's collection problem.")
app.add_typer(route, name="route")
devices = typer.Typer(
    help="Devices: provision with MQTT credentials, revoke, health; the broker's access files."
)
app.add_typer(devices, name="devices")


def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"tomning {version('tomning')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and stop.")
    ] = False,
) -> None:
    """Tömning: sensor-driven waste collection."""


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log debug messages.")]


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the registry to the newest schema (Alembic)."""
    from core.registry import Registry
    from core.registry.migrate import upgrade
    from core.settings import get_settings

    with Registry.connect(get_settings().registry.url.get_secret_value()) as registry:
        upgrade(registry.engine)
    typer.echo("registry is at the newest schema")


@app.command()
def seed(
    tenant: Annotated[str, typer.Option(help="Tenant id (a municipality).")] = "kalmar",
    name: Annotated[str, typer.Option(help="Tenant's display name.")] = "Kalmar kommun",
    csv: Annotated[Path | None, typer.Option(help="Stations CSV in shared/data/places format.")] = None,
    municipality: Annotated[str, typer.Option(help="Municipality code to take from the CSV.")] = "0880",
) -> None:
    """Register a tenant's recycling stations as bins, one sensored container per fraction."""
    from tomning.runtime import open_registry, seed_tenant

    with open_registry() as registry:
        count = seed_tenant(registry, tenant=tenant, name=name, csv=csv, municipality=municipality)
    typer.echo(f"{tenant}: {count} bins with a device each")


@app.command()
def ingest(
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes sharing the MQTT v5 subscription.")
    ] = 1,
    verbose: Verbose = False,
) -> None:
    """Run the ingest service (MQTT → store) until SIGTERM or Ctrl-C; it flushes before it stops.

    With --workers N, N processes split the load through a shared subscription; worker i takes
    the client id, spool and health port of the settings suffixed with -wi (health port + i - 1).
    """
    _logging(verbose)
    if workers > 1:
        from tomning.runtime import run_workers

        raise typer.Exit(run_workers(workers, _stop_on_signals(), verbose=verbose))
    from tomning.runtime import run_ingest

    run_ingest(_stop_on_signals())


@app.command()
def simulate(
    tenant: Annotated[str, typer.Option(help="Tenant whose registered devices to simulate.")] = "kalmar",
    devices: Annotated[int, typer.Option(min=1, help="How many of its devices.")] = 120,
    period_s: Annotated[float, typer.Option(min=0.01, help="Live: seconds between readings.")] = 2.0,
    ticks: Annotated[
        int | None, typer.Option(help="Live: stop after this many rounds (default: never).")
    ] = None,
    speedup: Annotated[
        float, typer.Option(min=1, help="Live: how much faster than real time bins fill.")
    ] = 900,
    backfill_days: Annotated[
        float,
        typer.Option(min=0, max=30, help="First replay this many past days, as fast as the broker takes."),
    ] = 0,
    report_interval_s: Annotated[
        int, typer.Option(min=60, help="Backfill: simulated seconds between readings.")
    ] = 900,
    fault_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of sensors that go stuck, spike, drain or fall silent.")
    ] = 0.05,
    fixed_round: Annotated[bool, typer.Option(help="Empty every bin on a fixed weekly round.")] = True,
    bad_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of deliberately bad payloads.")
    ] = 0.02,
) -> None:
    """Publish a realistic fleet's readings through the configured broker.

    Household, street-litter and station bins fill with their own rhythms; some sensors fail;
    fires and knock-overs happen; a bin empties on its weekly round or when a driver marks it
    collected (tomning/{tenant}/bins/{bin}/collected).
    """
    from tomning.runtime import run_simulator

    run_simulator(
        tenant=tenant,
        devices=devices,
        period_s=period_s,
        ticks=ticks,
        speedup=speedup,
        bad_share=bad_share,
        stop=_stop_on_signals(),
        backfill_days=backfill_days,
        report_interval_s=report_interval_s,
        fault_share=fault_share,
        fixed_round=fixed_round,
    )


@app.command()
def demo(
    duration_s: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    period_s: Annotated[
        float, typer.Option(min=0.1, help="Seconds between readings (an hour of fill each).")
    ] = 1.0,
    verbose: Verbose = False,
) -> None:
    """The whole pipeline on one machine: broker, ingest, store and Kalmar's simulated bins, live."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING)
    from tomning.demo import run_demo

    run_demo(duration_s=duration_s, period_s=period_s, stop=_stop_on_signals())


@app.command()
def broker(port: Annotated[int, typer.Option(help="Loopback port.")] = 1883) -> None:
    """Run the embedded MQTT 3.1.1 broker (amqtt) in the foreground."""
    from tomning.broker import EmbeddedBroker

    stop = _stop_on_signals()
    with EmbeddedBroker(port):
        typer.echo(f"embedded broker on 127.0.0.1:{port}; Ctrl-C stops it")
        stop.wait()


@app.command("config")
def show_config() -> None:
    """Print the effective settings (secrets masked)."""
    from core.settings import get_settings

    typer.echo(get_settings().model_dump_json(indent=2))


@boards.command("build")
def dashboards_build(
    out: Annotated[Path | None, typer.Option(help="Directory (default: dashboards/provisioning).")] = None,
) -> None:
    """Write the provisioning files Grafana loads at start: data source, provider, dashboards."""
    from dashboards.provision import OUTPUT, write

    for path in write(out or OUTPUT):
        typer.echo(path)


@boards.command("push")
def dashboards_push(
    url: Annotated[str | None, typer.Option(help="Grafana's URL (TOMNING_GRAFANA__URL).")] = None,
    tenant: Annotated[
        str | None,
        typer.Option(help="Only this municipality's database, into the Grafana organisation of the token."),
    ] = None,
) -> None:
    """Create or update the Tömning folder, the InfluxDB data source and every dashboard in Grafana.

    With a database per tenant (TOMNING_STORE__INFLUX_DATABASE=tomning_{tenant}), push each
    municipality into its own Grafana organisation: that organisation's service account token,
    `--tenant`, and the InfluxDB user `tomning dashboards grant` made for it.
    """
    from grafana_client.api import GrafanaApi

    from core.errors import TomningError
    from core.settings import get_settings
    from core.timeseries.influx import PER_TENANT, tenant_database
    from dashboards.push import datasource, push

    settings = get_settings()
    token = settings.grafana.token.get_secret_value() if settings.grafana.token else None
    if token is None:
        raise typer.BadParameter("set TOMNING_GRAFANA__TOKEN to a Grafana service account token")
    store, grafana = settings.store, settings.grafana
    database = store.influx_database
    if tenant is not None:
        try:
            database = tenant_database(database, tenant)
        except TomningError as exc:
            raise typer.BadParameter(str(exc), param_hint="--tenant") from exc
    elif PER_TENANT in database:
        raise typer.BadParameter(
            f"the store keeps a database per tenant ({database!r}): name one", param_hint="--tenant"
        )
    secret = grafana.influx_password or store.influx_password
    source = datasource(
        influx_url=grafana.influx_url or store.influx_url,
        database=database,
        user=grafana.influx_user or store.influx_username,
        password=secret.get_secret_value() if secret else None,
    )
    api = GrafanaApi.from_url(url or grafana.url, credential=token)
    for line in push(api, source):
        typer.echo(line)


@boards.command("grant")
def dashboards_grant(
    tenant: Annotated[str, typer.Option(help="The municipality whose database the user may read.")],
    user: Annotated[str, typer.Option(help="The InfluxDB user for its Grafana data source.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="TOMNING_GRAFANA__INFLUX_PASSWORD",
            help="Asked for when not given.",
        ),
    ],
) -> None:
    """An InfluxDB user who reads one municipality's database and no other's (a database per tenant)."""
    from core.errors import TomningError
    from core.settings import get_settings
    from core.timeseries.influx import InfluxStore

    settings = get_settings()
    try:
        with InfluxStore(settings.store) as store:
            database = store.grant_read(tenant, user, password)
    except TomningError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"{user} may read {database} (and nothing else): set TOMNING_GRAFANA__INFLUX_USER={user} "
               f"and this password for `tomning dashboards push --tenant {tenant}`")  # fmt: skip


Tenant = Annotated[str, typer.Option(help="Tenant id (a municipality).")]


@devices.command("provision")
def devices_provision(
    tenant: Tenant,
    device: Annotated[str, typer.Option(help="Device id, lowercase: [a-z0-9][a-z0-9_.-]*.")],
    bin_id: Annotated[str | None, typer.Option("--bin", help="The bin it is mounted on.")] = None,
    interval_s: Annotated[int, typer.Option(min=10, help="Its report interval, seconds.")] = 900,
    model: Annotated[
        str, typer.Option(help="tomning (our firmware), milesight-em400-udl or dragino-ldds75.")
    ] = "tomning",
    dev_eui: Annotated[str | None, typer.Option(help="A LoRaWAN sensor's DevEUI (16 hex digits).")] = None,
) -> None:
    """Create a device (or give it a new password), its broker account and access rules.

    Prints the firmware's secrets.py once: the registry keeps only the password's hash.
    """
    from datetime import UTC, datetime

    from tomning.runtime import open_registry, sync_broker_files

    with open_registry() as registry:
        from core.provisioning import provision

        made = provision(
            registry,
            tenant=tenant,
            device_id=device,
            bin_id=bin_id,
            since=datetime.now(UTC),
            report_interval_s=interval_s,
            model=model,
            dev_eui=dev_eui,
        )
        accounts = sync_broker_files(registry)
    if not made.password:
        typer.echo(f"{device} (DevEUI {dev_eui}): provisioned; its uplinks come through the network server")
        return
    typer.echo(f"# {made.username}: provisioned; the broker now has {accounts} device accounts")
    typer.echo(_secrets(tenant, device, made.password))


def _secrets(tenant: str, device: str, password: str) -> str:
    from core.settings import get_settings

    mqtt = get_settings().mqtt
    return "\n".join(
        [
            "# secrets.py for the firmware (copy to the device; keep it out of version control)",
            'WIFI_SSID = "..."',
            'WIFI_PASSWORD = "..."',
            f'TENANT = "{tenant}"',
            f'DEVICE_ID = "{device}"',
            f'DEVICE_PASSWORD = "{password}"',
            f'BROKER_HOST = "{mqtt.host or "127.0.0.1"}"',
            f"BROKER_PORT = {mqtt.port}",
            f"BROKER_TLS = {mqtt.tls}",
        ]
    )


@devices.command("revoke")
def devices_revoke(tenant: Tenant, device: Annotated[str, typer.Option(help="Device id.")]) -> None:
    """Disable a device and remove its broker account; the broker reloads without a restart."""
    from core.provisioning import revoke
    from tomning.runtime import open_registry, sync_broker_files

    with open_registry() as registry:
        revoke(registry, tenant=tenant, device_id=device)
        sync_broker_files(registry)
    typer.echo(f"{device}@{tenant}: revoked")


@devices.command("sync")
def devices_sync() -> None:
    """Rewrite the broker's password and ACL files from the registry, and reload the broker."""
    from tomning.runtime import open_registry, sync_broker_files

    with open_registry() as registry:
        typer.echo(f"{sync_broker_files(registry)} device accounts written")


@devices.command("health")
def devices_health(
    tenant: Tenant, days: Annotated[int, typer.Option(min=1, help="Battery trend window.")] = 14
) -> None:
    """Last seen, silence, battery level and trend per device, and the share of the fleet silent."""
    from tomning.runtime import device_health_table

    device_health_table(tenant, days)


@route.command("solve")
def route_solve(
    problem_file: Annotated[
        Path,
        typer.Argument(help="The problem as JSON: routing/problem.py's Problem, or VROOM's input format."),
    ],
    time_limit_s: Annotated[float, typer.Option(min=0.1, help="Wall-clock budget for the search.")] = 30.0,
    out: Annotated[Path | None, typer.Option(help="Write the solution as JSON here.")] = None,
    map_file: Annotated[
        Path | None, typer.Option("--map", help="Write an HTML map of the routes here.")
    ] = None,
    vroom_out: Annotated[
        Path | None, typer.Option(help="Write the solution in VROOM's output format here.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the search's random choices.")] = 0,
    iterations: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Search this many steps instead of until the time limit: the same plan for the same seed.",
        ),
    ] = None,
) -> None:
    """Plan the routes: each truck's stops in order with its trips to unload, shown as a table."""
    from tomning.routes import solve_file

    solve_file(
        problem_file,
        time_limit_s=time_limit_s,
        out=out,
        map_file=map_file,
        vroom_out=vroom_out,
        seed=seed,
        iterations=iterations,
    )


hooks = typer.Typer(help="Webhooks: the keys that seal their signing secrets in the registry.")
app.add_typer(hooks, name="webhooks")


@hooks.command("key")
def webhooks_key() -> None:
    """Print a new key for TOMNING_WEBHOOKS__SECRET_KEYS (keep it as you keep the registry's password)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


@hooks.command("reseal")
def webhooks_reseal() -> None:
    """Seal every webhook's secret with the first of TOMNING_WEBHOOKS__SECRET_KEYS: those kept in clear, and
    those sealed with a key now further down the list (then that key can go)."""
    from api.webhooks import Secrets
    from core.errors import TomningError
    from core.registry import Registry
    from core.settings import get_settings

    settings = get_settings()
    secrets = Secrets(settings.webhooks.secret_keys)
    if not secrets.sealing:
        raise typer.BadParameter("set TOMNING_WEBHOOKS__SECRET_KEYS first (`tomning webhooks key` makes one)")
    with Registry.connect(settings.registry.url.get_secret_value()) as registry:
        try:
            count = registry.reseal_webhook_secrets(secrets.reseal)
        except TomningError as exc:
            raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"{count} webhook secret(s) sealed with the first key")


keys = typer.Typer(help="API keys: make one for a tenant (or the platform), list, revoke.")
app.add_typer(keys, name="keys")


@app.command("api")
def api_serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (TOMNING_API__HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (TOMNING_API__PORT).")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs). Make a first key with `tomning keys create`."""
    from core.settings import get_settings
    from tomning.apiserver import serve

    settings = get_settings()
    changes = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    serve(settings.model_copy(update={"api": settings.api.model_copy(update=changes)}))


@keys.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, dispatcher, driver, viewer or integration.")],
    tenant: Annotated[str | None, typer.Option(help="Tenant id; leave out with --platform.")] = None,
    platform: Annotated[bool, typer.Option(help="The platform's admin key (tenants, first keys).")] = False,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "",
    driver: Annotated[str | None, typer.Option(help="For a driver's key: the driver's username.")] = None,
) -> None:
    """Make an API key and print it once (the registry keeps only its hash)."""
    from datetime import UTC, datetime

    from api.resources.admin import issue
    from core.models import Role
    from tomning.runtime import open_registry

    if platform == (tenant is not None):
        raise typer.BadParameter("give --tenant, or --platform for the platform's admin key")
    try:
        chosen = Role(role)
    except ValueError as exc:
        raise typer.BadParameter(f"role must be one of {', '.join(r.value for r in Role)}") from exc
    with open_registry() as registry:
        if tenant is not None:
            registry.tenant(tenant)
        made = issue(registry, datetime.now(UTC), tenant=tenant, role=chosen, name=name, subject=driver)
    typer.echo(made.key)
    typer.echo(f"# {chosen.value} key {made.info.id} for {tenant or 'the platform'}: shown once", err=True)


@app.command("plan")
def plan_command(
    tenant: Annotated[str, typer.Option(help="Tenant id (a municipality).")],
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="The day to plan, YYYY-MM-DD (default: the fleet's next working day, local time: weekends, "
            "public holidays and closed days skipped).",
        ),
    ] = None,
    time_limit_s: Annotated[
        float | None, typer.Option(min=0.1, max=600, help="Route search (TOMNING_API__PLAN_TIME_LIMIT_S).")
    ] = None,
    include: Annotated[
        list[str] | None,
        typer.Option("--include", help="A bin to collect whatever its fill (repeat for more)."),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="A bin not to collect that day (repeat for more).")
    ] = None,
    vehicle_off: Annotated[
        list[str] | None,
        typer.Option("--vehicle-off", help="A truck that does not run that day (repeatable)."),
    ] = None,
) -> None:
    """Forecast every bin, select what the day must and may collect, route it: a draft plan, summarised."""
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from rich.console import Console

    from core.errors import TomningError
    from core.models import PlanChoices
    from core.settings import get_settings
    from core.timeseries import open_store
    from planning.schedule import next_day_to_plan
    from tomning.planner import plan_now, summary
    from tomning.runtime import open_registry

    settings = get_settings()
    console = Console()
    with open_registry(settings) as registry:
        try:
            zone = ZoneInfo(registry.tenant(tenant).timezone)
            today = datetime.now(UTC).astimezone(zone).date()
            chosen = date.fromisoformat(day) if day else next_day_to_plan(registry, tenant, today)
            choices = PlanChoices(include=tuple(include or ()), exclude=tuple(exclude or ()),
                                  vehicles_off=tuple(vehicle_off or ()))  # fmt: skip
        except (TomningError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from exc
        store = open_store(settings.store)
        try:
            plan = plan_now(registry, store, tenant=tenant, day=chosen, by="tomning plan", console=console,
                            time_limit_s=time_limit_s or settings.api.plan_time_limit_s,
                            choices=choices)  # fmt: skip
        except TomningError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from exc
        finally:
            store.close()
    console.print(summary(plan))
    console.print(f"draft plan {plan.id}: approve and dispatch it in the console or through the API")


@app.command("figures")
def figures_command(
    tenant: Annotated[str, typer.Option(help="Tenant id (a municipality).")],
    since: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: the week up to --to).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today, local).")
    ] = None,
    write: Annotated[
        bool, typer.Option(help="Write them to the `collection` measurement the Collection dashboard reads.")
    ] = True,
) -> None:
    """Each day's collection figures (routes, km, hours, emptyings, overflow bin-hours), as a table, and
    written for the Collection dashboard: to fill in days before the scheduler ran, or after a fix."""
    from datetime import UTC, date, datetime, timedelta
    from zoneinfo import ZoneInfo

    from rich.console import Console
    from rich.table import Table

    from core.errors import TomningError
    from core.settings import get_settings
    from core.timeseries import open_store
    from planning.figures import day_range, days_figures, record_days
    from tomning.runtime import open_registry

    settings = get_settings()
    console = Console()
    now = datetime.now(UTC)
    with open_registry(settings) as registry:
        try:
            zone = ZoneInfo(registry.tenant(tenant).timezone)
            last = date.fromisoformat(until) if until else now.astimezone(zone).date()
            first = date.fromisoformat(since) if since else last - timedelta(days=6)
            days = day_range(first, last)
        except (TomningError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from exc
        store = open_store(settings.store)
        try:
            rows = (record_days if write else days_figures)(registry, store, tenant, days, now)
        except TomningError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from exc
        finally:
            store.close()
    table = Table(title=f"Collection figures for {tenant} / Insamlingssiffror")
    columns = ("day", "routes", "km", "hours", "collected", "skipped", "sensor emptyings",
               "fill at emptying", "overflows", "overflow bin-hours", "silent devices")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "day" else "right")
    for f in rows:
        fill = f"{f.mean_fill_at_emptying:.0%}" if f.mean_fill_at_emptying is not None else "-"
        table.add_row(f.day.isoformat(), str(f.routes), f"{f.km:.1f}", f"{f.duration_h:.1f}",
                      str(f.emptyings), str(f.skipped), str(f.sensor_emptyings), fill, str(f.overflows),
                      f"{f.overflow_bin_hours:.1f}", str(f.devices_silent))  # fmt: skip
    console.print(table)
    if write:
        console.print(f"{len(rows)} days written to the collection measurement")


@app.command("scheduler")
def scheduler_command(verbose: Verbose = False) -> None:
    """Plan each tenant's next day at its local time (TOMNING_PLANNING__AT, default 14:00) when its trucks
    run then (not for weekends, public holidays or the fleet's closed days); re-plan on a fire risk where
    the fleet has auto_replan."""
    from rich.console import Console

    from core.settings import get_settings
    from core.timeseries import open_store
    from tomning.planner import run_scheduler
    from tomning.runtime import open_registry

    _logging(verbose)
    settings = get_settings()
    stop = _stop_on_signals()
    with open_registry(settings) as registry:
        store = open_store(settings.store)
        try:
            run_scheduler(settings, registry, store, stop, Console())
        finally:
            store.close()


def main() -> None:
    """`tomning`: a refusal the platform can explain (a setting, a missing database) is one line on stderr
    and exit status 2, not a traceback."""
    from core.errors import TomningError

    try:
        app()
    except TomningError as exc:
        typer.echo(f"tomning: {exc}", err=True)
        raise SystemExit(2) from None
