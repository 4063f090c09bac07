"""``kraamwacht dashboard``, ``kraamwacht user`` and ``kraamwacht episode``: the board and what it needs."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kraamwacht import clock
from kraamwacht.cli._options import DEFAULT_BROKER, BrokerUrl
from kraamwacht.contract import parse_time
from kraamwacht.errors import KraamwachtError

if TYPE_CHECKING:
    from kraamwacht.episodes import Episode

user_app = typer.Typer(help="Board users (passwords are stored hashed).", no_args_is_help=True)
episode_app = typer.Typer(help="Care episodes shown on the board.", no_args_is_help=True)

BoardDir = Annotated[Path, typer.Option(help="The board's folder: users.json and episodes.db.")]
DEFAULT_DIR = Path("kraamwacht-board")


def dashboard(
    broker: BrokerUrl = DEFAULT_BROKER,
    site: Annotated[str, typer.Option(help="Site id.")] = "site1",
    store: Annotated[
        str, typer.Option(help="Store URL (what serve writes).")
    ] = "sqlite:///kraamwacht-data/kraamwacht.db",
    board_dir: BoardDir = DEFAULT_DIR,
    host: Annotated[str, typer.Option(help="Address to serve the board on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the board.")] = 8501,
    session_min: Annotated[float, typer.Option(help="Minutes without activity before a login expires.")] = 30.0,
    max_upload_mb: Annotated[int, typer.Option(help="Largest file the research page accepts, in MB.")] = 200,
    public_url: Annotated[
        str, typer.Option(help="The board's address as mothers' phones reach it (for their links and handouts).")
    ] = "",
    serve_events: Annotated[
        Path, typer.Option(help="serve's event log (its STATE_DIR/events.db): the alert history of a handover.")
    ] = Path("kraamwacht-data/events.db"),
    tls_cert: Annotated[
        Path | None, typer.Option(help="HTTPS: the board's certificate (broker-config --board-hostname writes one).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="HTTPS: the certificate's private key.")] = None,
) -> None:
    """The tablet board (Streamlit) on http://HOST:PORT, or https:// with --tls-cert and --tls-key, until Ctrl-C."""
    if (tls_cert is None) != (tls_key is None):
        typer.echo("error: --tls-cert and --tls-key go together", err=True)
        raise typer.Exit(2)
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            typer.echo(f"error: {path} does not exist", err=True)
            raise typer.Exit(2)
    env = {
        **os.environ,
        "KRAAMWACHT_BROKER": broker,
        "KRAAMWACHT_SITE": site,
        "KRAAMWACHT_STORE": store,
        "KRAAMWACHT_BOARD_DIR": str(board_dir),
        "KRAAMWACHT_SESSION_MIN": str(session_min),
        "KRAAMWACHT_PUBLIC_URL": public_url,
        "KRAAMWACHT_SERVE_EVENTS": str(serve_events),
    }
    app = Path(__file__).parents[1] / "dashboard" / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", host, "--server.port",
               str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.maxUploadSize", str(max_upload_mb),
               "--client.showErrorDetails", "none"]  # fmt: skip  # never a traceback with the server's paths
    if tls_cert is not None and tls_key is not None:  # Streamlit's own TLS (docs/serve.md: or a reverse proxy)
        command += ["--server.sslCertFile", str(tls_cert), "--server.sslKeyFile", str(tls_key)]
    os.execve(sys.executable, command, env)  # become the board: a signal to this process reaches it


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="kraamverzorgende, verloskundige, onderzoeker or beheerder.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
    board_dir: BoardDir = DEFAULT_DIR,
) -> None:
    """Add or change a user; the password is asked for (never an argument: it would be in the shell history)."""
    from kraamwacht.dashboard.auth import UserStore

    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    try:
        user = UserStore(board_dir / "users.json").add(name, password, role)
    except KraamwachtError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"user {user.name} ({user.role}) saved")


@user_app.command("list")
def user_list(board_dir: BoardDir = DEFAULT_DIR) -> None:
    from kraamwacht.dashboard.auth import UserStore

    for name, role in UserStore(board_dir / "users.json").names():
        typer.echo(f"{name}\t{role}")


_RISK_HELP = (
    "The newborn's neurotoxicity risk factor (AAP 2022; repeat): isoimmune, g6pd, sepsis, albumin<3.0, unstable;"
    " NEWBORN:FACTOR for one of twins only."
)


@episode_app.command("add")
def episode_add(
    episode: str,
    mother: Annotated[str, typer.Option(help="The mother's pseudonymous id (as the gateway pairs it).")],
    newborn: Annotated[
        list[str], typer.Option(help="The newborn's pseudonymous id; repeat it for twins (the first born first).")
    ],
    birth: Annotated[str, typer.Option(help="Birth time, ISO 8601 with Z or offset (of the first born).")],
    ga_weeks: Annotated[float, typer.Option(help="Gestational age in weeks.")],
    site: Annotated[str, typer.Option(help="Site id.")] = "site1",
    language: Annotated[str, typer.Option(help="Mother's page language: nl, en, ar, tr, pl, uk.")] = "nl",
    label: Annotated[str, typer.Option(help="What the board calls the family (no name), e.g. 'kamer 3'.")] = "",
    risk_factor: Annotated[list[str], typer.Option(help=_RISK_HELP)] = [],  # noqa: B006 - typer needs a literal
    standard: Annotated[str, typer.Option(help="Bilirubin standard: aap2022 or nice-cg98.")] = "aap2022",
    twin_birth: Annotated[
        list[str], typer.Option(help="NEWBORN=TIME: a twin born later than the first (her age counts from it); repeat.")
    ] = [],  # noqa: B006 - typer needs a literal
    board_dir: BoardDir = DEFAULT_DIR,
) -> None:
    """Start a care episode; prints the mother's page code."""
    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.errors import InvalidValueError

    try:
        births = {}
        for given in twin_birth:
            who, sep, at = given.partition("=")
            if not sep:
                raise InvalidValueError(f"--twin-birth {given!r}: write NEWBORN=TIME")
            births[who] = parse_time(at, what=f"--twin-birth {who}")
        item = EpisodeRegistry(board_dir / "episodes.db").add(
            episode, site=site, mother=mother, newborn=newborn[0], birth_at=parse_time(birth, what="--birth"),
            ga_weeks=ga_weeks, language=language, label=label, risk_factors=tuple(risk_factor), standard=standard,
            twins=tuple(newborn[1:]), twin_births=births,
        )  # fmt: skip
    except (KraamwachtError, sqlite3.IntegrityError) as exc:  # IntegrityError: the episode or its code exists
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"episode {item.episode}; mother's page: /?moeder={item.mother_code}&taal={item.language}")


@episode_app.command("update")
def episode_update(
    episode: str,
    risk_factor: Annotated[list[str], typer.Option(help=_RISK_HELP + " Lists them all: none given clears them.")] = [],  # noqa: B006
    standard: Annotated[str | None, typer.Option(help="Bilirubin standard: aap2022 or nice-cg98.")] = None,
    board_dir: BoardDir = DEFAULT_DIR,
) -> None:
    """Set the newborn's neurotoxicity risk factors (and the standard): serve and the board judge with them."""
    from kraamwacht.episodes import EpisodeRegistry

    try:
        item = EpisodeRegistry(board_dir / "episodes.db").update_jaundice(
            episode, risk_factors=tuple(risk_factor), standard=standard
        )
    except KraamwachtError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"episode {item.episode}: risk factors {', '.join(item.risk_factors) or 'none'}; {item.standard}")


@episode_app.command("list")
def episode_list(board_dir: BoardDir = DEFAULT_DIR) -> None:
    from kraamwacht.episodes import EpisodeRegistry

    for e in EpisodeRegistry(board_dir / "episodes.db").active():
        typer.echo(
            f"{e.episode}\t{e.site}\t{e.mother}\t{','.join(e.newborns)}\t{e.birth_at.isoformat()}\t{e.ga_weeks}\t{e.label}"
            f"\t{','.join(e.risk_factors) or '-'}\t{e.standard}"
            + "".join(f"\t{who} born {at.isoformat()}" for who, at in e.twin_births)
        )


@episode_app.command("code")
def episode_code(
    episode: str,
    renew: Annotated[bool, typer.Option(help="A new code: the old link stops working at once.")] = False,
    board_dir: BoardDir = DEFAULT_DIR,
) -> None:
    """Show the mother's page code again (or renew it)."""
    from kraamwacht.episodes import EpisodeRegistry

    registry = EpisodeRegistry(board_dir / "episodes.db")
    try:
        item = registry.renew_code(episode) if renew else registry.get(episode)
    except KraamwachtError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    item = _running(item, episode)
    typer.echo(f"episode {item.episode}; mother's page: /?moeder={item.mother_code}&taal={item.language}")


def _running(item: Episode | None, episode: str) -> Episode:
    """The episode if it is running; otherwise the command says so and exits 2."""
    if item is None or item.ended_at is not None:
        typer.echo(f"error: no running episode {episode!r}", err=True)
        raise typer.Exit(2)
    return item


@episode_app.command("site-phone")
def episode_site_phone(
    site: str,
    phone: Annotated[str, typer.Argument(help="The kraamzorg's number for mothers, e.g. '+31 20 123 4567'.")],
    board_dir: BoardDir = DEFAULT_DIR,
) -> None:
    """Set the number a mother of this site calls: shown on her page and her handout."""
    from kraamwacht.episodes import EpisodeRegistry

    try:
        EpisodeRegistry(board_dir / "episodes.db").set_site_phone(site, phone)
    except KraamwachtError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"site {site}: mothers call {phone}")


@episode_app.command("handout")
def episode_handout(
    episode: str,
    url: Annotated[
        str,
        typer.Option(help="The board's address as a mother's phone reaches it, e.g. https://kraamwacht.example.nl."),
    ],
    out: Annotated[Path, typer.Option(help="The PDF to write.")],
    language: Annotated[str | None, typer.Option(help="nl, en, ar, tr, pl or uk (default: the episode's).")] = None,
    board_dir: BoardDir = DEFAULT_DIR,
) -> None:
    """Write the mother's one-page handout (PDF): a QR code to her page, and her kraamzorg's number."""
    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.handout import handout_pdf, mother_link

    registry = EpisodeRegistry(board_dir / "episodes.db")
    item = _running(registry.get(episode), episode)
    lang = language or item.language
    try:
        link = mother_link(url, item.mother_code, lang)
        handout_pdf(link=link, lang=lang, phone=registry.site_phone(item.site), label=item.label, out=out)
    except KraamwachtError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {out} ({lang}) for episode {item.episode}")


@episode_app.command("retention")
def episode_retention(
    store: Annotated[
        list[str],
        typer.Option(help="Store URL whose raw data is deleted; repeat for serve's ledger and InfluxDB."),
    ],
    keep_days: Annotated[int, typer.Option(min=0, help="Days after an episode ends that its raw data is kept.")],
    dry_run: Annotated[bool, typer.Option(help="Only say what would be deleted.")] = False,
    events: Annotated[
        Path | None, typer.Option(help="serve's event log (STATE_DIR/events.db): staff names and notes go too.")
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(
            help="The broker, with serve's account (the only one that may write alert topics): the episode's "
            "retained alert state and baselines are cleared there."
        ),
    ] = None,
    board_dir: BoardDir = DEFAULT_DIR,
) -> None:
    """Delete the raw data of episodes that ended more than KEEP_DAYS ago (AVG/GDPR storage limitation).

    Run it daily (cron or a systemd timer). Active episodes are never touched; the alert event log
    is kept as the care record, and with --events the staff names and notes in it are removed. With
    --broker the episode's retained messages (its alert state with staff names and notes, and its
    baselines) are cleared, so a board that connects later no longer receives them.
    """
    from datetime import timedelta

    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.storage import open_store

    now = clock.utcnow()
    due = EpisodeRegistry(board_dir / "episodes.db").ended_before(now - timedelta(days=keep_days))
    try:
        targets = [open_store(url) for url in store]
        for episode in due:
            typer.echo(
                f"{'would delete' if dry_run else 'deleting'} the raw data of {episode.episode} (ended {episode.ended_at:%Y-%m-%d})"
            )
            if not dry_run:
                for target in targets:
                    target.delete_episode(episode.episode, before=now + timedelta(days=1))
                if events is not None:
                    from kraamwacht.service import EventLog

                    log = EventLog(events)
                    try:
                        forgotten = log.forget_staff(episode.episode)
                    finally:
                        log.close()
                    typer.echo(f"  staff names and notes removed from {forgotten} alert event(s) of {episode.episode}")
                if broker is not None:
                    cleared = _clear_retained(broker, episode)
                    typer.echo(f"  {cleared} retained topic(s) of {episode.episode} cleared on the broker")
    except KraamwachtError as exc:
        typer.echo(f"error: {exc} (nothing more deleted; run it again when the store is back)", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{len(due)} episode(s) past {keep_days} days after care ended, in {len(store)} store(s)")


def _clear_retained(broker: str, episode: Episode) -> int:
    """Clear the episode's retained alert state and baselines (an empty retained message removes one)."""
    from kraamwacht.contract import Topics
    from kraamwacht.publish import BrokerAddress, publish

    topics = [
        Topics.alert_state(episode.site, episode.episode),
        *(Topics.baseline(episode.site, episode.episode, subject) for subject in (episode.mother, *episode.newborns)),
    ]
    publish(BrokerAddress.parse(broker), [(topic, b"") for topic in topics], client_prefix="kraamwacht-retention",
            retain=True)  # fmt: skip
    return len(topics)


@episode_app.command("end")
def episode_end(episode: str, board_dir: BoardDir = DEFAULT_DIR) -> None:
    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.pairings import PairingRegistry

    if not EpisodeRegistry(board_dir / "episodes.db").end(episode, at=clock.utcnow()):
        typer.echo(f"error: no active episode {episode}", err=True)
        raise typer.Exit(2)
    freed = PairingRegistry(board_dir / "episodes.db").unpair_episode(episode)
    typer.echo(f"episode {episode} ended" + (f"; {freed} wearable(s) unpaired" if freed else ""))


@episode_app.command("pair")
def episode_pair(
    episode: str,
    device: Annotated[str, typer.Option(help="The wearable's id on the wire: wb-SERIAL (as `gateway list` shows).")],
    subject: Annotated[str, typer.Option(help="Who wears it: the episode's mother or one of its newborns.")],
    gateway: Annotated[str, typer.Option(help="The gateway it is connected to (that gateway's --id).")],
    board_dir: BoardDir = DEFAULT_DIR,
) -> None:
    """Record which gateway may send this wearable's data, for whom: serve --require-pairing takes nothing else."""
    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.pairings import PairingRegistry

    item = EpisodeRegistry(board_dir / "episodes.db").get(episode)
    if item is None or item.ended_at is not None:
        typer.echo(f"error: no active episode {episode}", err=True)
        raise typer.Exit(2)
    if subject not in (item.mother, *item.newborns):
        typer.echo(
            f"error: {subject} is not in episode {episode} ({', '.join((item.mother, *item.newborns))})", err=True
        )
        raise typer.Exit(2)
    try:
        pairing = PairingRegistry(board_dir / "episodes.db").pair(
            device, site=item.site, episode=episode, subject=subject, gateway=gateway
        )
    except KraamwachtError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{pairing.device}: {pairing.episode}/{pairing.subject} through gateway {pairing.gateway} ({pairing.site})"
    )


@episode_app.command("unpair")
def episode_unpair(device: str, board_dir: BoardDir = DEFAULT_DIR) -> None:
    """Forget a wearable's pairing: a serve that requires pairing takes none of its data until it is paired again."""
    from kraamwacht.pairings import PairingRegistry

    if not PairingRegistry(board_dir / "episodes.db").unpair(device):
        typer.echo(f"error: {device} is not paired", err=True)
        raise typer.Exit(2)
    typer.echo(f"{device} unpaired")


@episode_app.command("pairings")
def episode_pairings(
    site: Annotated[str | None, typer.Option(help="Only this site's.")] = None, board_dir: BoardDir = DEFAULT_DIR
) -> None:
    """Every paired wearable: device, site, episode, subject, gateway, when."""
    from kraamwacht.pairings import PairingRegistry

    for p in PairingRegistry(board_dir / "episodes.db").all(site):
        typer.echo(f"{p.device}\t{p.site}\t{p.episode}\t{p.subject}\t{p.gateway}\t{p.paired_at.isoformat()}")
