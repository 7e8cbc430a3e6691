"""The `ortfix` command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import posixpath
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.cli import formats
from bot.cli.localtree import find_root, scan_root
from bot.core.detector import INFO, Finding, Report, Scanner
from bot.core.detector.lockfiles import INSTALL_COMMANDS
from bot.core.detector.rules import LOCKFILE_VERSION
from bot.core.detector.scanner import MAX_SOURCE_BYTES
from bot.core.versions import TABLE_PATH

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
EXIT_FAILED = 1  # a command other than scan could not do its work
FIXED_FILE = "ortfix: fixed {path}"
FIX_NOT_WRITTEN = "ortfix: {path}: not written ({reason}); no file was changed"
RUN_AFTER_FIX = "ortfix: then run `{command}` beside {path}: the lockfile still installs the old release"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_CLEAN
    return int(args.run(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ortfix", description="Keep onnxruntime-web on its native WebGPU backend.")
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    scan = commands.add_parser("scan", help="find (and with --fix, fix) JSEP loads of onnxruntime-web")
    scan.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a directory or a file")
    scan.add_argument("--fix", action="store_true", help="rewrite the files in place (all of them, or none)")
    scan.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="text (compiler style, the default), json (stable, for tools) or sarif (code scanning)",
    )
    scan.add_argument("--ignore", action="append", default=[], metavar="GLOB", help="skip matching paths")
    scan.add_argument("--all", action="store_true", help="also show quiet findings (no WebGPU use seen)")
    scan.add_argument("--no-ignore", action="store_true", help="also scan what .gitignore files ignore")
    scan.add_argument(
        "--max-bytes",
        type=_positive,
        default=MAX_SOURCE_BYTES,
        help=f"skip source files larger than this (default: {MAX_SOURCE_BYTES:,})",
    )
    scan.set_defaults(run=_scan)
    refresh_versions = commands.add_parser(
        "refresh-versions", help="re-measure which entry carries which WebGPU backend, from the npm registry"
    )
    refresh_versions.add_argument(
        "--table", type=Path, default=TABLE_PATH, help="the table to update (default: ortfix's own)"
    )
    refresh_versions.add_argument(
        "--limit", type=int, help="classify at most this many new versions (each is a ~33 MB download)"
    )
    refresh_versions.add_argument("--dry-run", action="store_true", help="print what changes, write nothing")
    refresh_versions.set_defaults(run=_refresh_versions)
    serve = commands.add_parser("serve", help="the GitHub App: gunicorn for webhooks, plus a worker in this process")
    serve.add_argument(
        "--host", help="the address to listen on (default: HOST, else all; 127.0.0.1 for the setup page)"
    )
    serve.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    serve.set_defaults(run=_serve)
    setup = commands.add_parser("setup", help="register the GitHub App from a headless server")
    setup.add_argument("--url", help="this server's public address, e.g. https://ortfix.example.com")
    setup.add_argument("--org", help="create the app for this organization")
    setup.add_argument("--code", help="the code GitHub's redirect carried: exchange it and write .env")
    setup.set_defaults(run=_setup)
    worker = commands.add_parser("worker", help="a queue consumer alone (scale these out with REDIS_URL)")
    worker.set_defaults(run=_worker)
    audit = commands.add_parser("audit", help="audit repositories now, as the weekly audit does")
    audit.add_argument("repo", nargs="?", metavar="OWNER/REPO", help="the repository to audit")
    audit.add_argument("--all", action="store_true", help="every repository of every installation")
    audit.add_argument("--write", action="store_true", help="write the audit issues (default: only print)")
    audit.set_defaults(run=_audit)
    tools = commands.add_parser("install-tools", help="install ortfix's own pinned package managers (npm, pnpm, yarn)")
    tools.add_argument("--dir", help="where (default: ORTFIX_TOOLS_DIR, or /opt/ortfix/tools)")
    tools.set_defaults(run=_install_tools)
    return parser


class _Version(argparse.Action):
    """`--version`, its answer looked up only when asked (reading the installed metadata takes a scan's 30 ms)."""

    def __init__(self, option_strings: list[str], dest: str, help: str) -> None:
        super().__init__(option_strings, argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"{parser.prog} {formats.version()}")
        parser.exit()


def _install_tools(args: argparse.Namespace) -> int:
    """The package managers lockfile refreshes run, at the exact versions ortfix pins, without install scripts."""
    import subprocess

    from bot.adapters.package_managers import install_tools
    from bot.service import settings

    directory = args.dir or settings.load().tools_dir
    try:
        install_tools(directory)
    except (OSError, subprocess.SubprocessError) as error:
        print(f"ortfix: the package managers could not be installed in {directory}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"ortfix: package managers installed in {directory}")
    return EXIT_CLEAN


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of bytes, not {value}")
    return value


def _scan(args: argparse.Namespace) -> int:
    for path in args.paths:
        if not path.exists():
            print(f"ortfix: {path}: no such file or directory", file=sys.stderr)
            return EXIT_USAGE
    scans = _scan_paths(args)
    changed: list[Path] = []
    if args.fix:
        from bot.cli.writes import WriteFailed

        try:
            changed = _fix(args, scans)
        except WriteFailed as failed:
            print(FIX_NOT_WRITTEN.format(path=_shown(failed.path), reason=failed.reason), file=sys.stderr)
            return EXIT_USAGE
        if changed:
            scans = _scan_paths(args)
    report = _merge(scans, cwd_relative=len(args.paths) > 1)
    findings = report.shown(include_info=args.all)
    summary = report.summary(include_info=args.all)
    if args.format == "json":
        sys.stdout.write(formats.json_document(findings, summary))
    elif args.format == "sarif":
        sys.stdout.write(formats.sarif(findings, report))
    else:
        sys.stdout.write(formats.text(findings, summary))
    for path in changed:  # on stderr: stdout stays the report, parseable in every format
        print(FIXED_FILE.format(path=_shown(path)), file=sys.stderr)
    if changed:
        for finding in (f for f in findings if f.rule == LOCKFILE_VERSION):
            command = INSTALL_COMMANDS[posixpath.basename(finding.path)]
            print(RUN_AFTER_FIX.format(command=command, path=finding.path), file=sys.stderr)
    return EXIT_FINDINGS if findings else EXIT_CLEAN


MISSING_SETTINGS = """ortfix: the GitHub App is not configured yet. Missing:
{missing}
Create the app at https://github.com/settings/apps/new (for an organization:
https://github.com/organizations/ORG/settings/apps/new) with the permissions and events in app.yml,
then put these settings in the environment or in a .env file here, and run `ortfix serve` again."""


SETUP_MODE = """ortfix: not registered with GitHub yet. Open {url} in a browser to create the app
(or run `ortfix setup` for the steps on a headless server). ortfix restarts on its own once it is set up."""
SETUP_NEEDS_PUBLIC_URL = (
    "ortfix: HOST is {host}, which names no address for GitHub to call back: set PUBLIC_URL to the address "
    "this server is reached at (e.g. https://ortfix.example.com), or HOST to one of this machine's addresses"
)


SWITCH_SECONDS = 0.001  # the consumer's GIL hand-over (Python's default is 5 ms)
CHECKPOINT_SECONDS = 1.0  # the consumer's checkpoints: often enough that a webhook never reaches store.CHECKPOINT_PAGES


def _serve(args: argparse.Namespace) -> int:
    from bot.service import logs, processes
    from bot.service import settings as settings_module

    settings = settings_module.load()
    logs.configure(settings.log_level, settings.sentry_dsn)
    if settings.unconfigured:
        return _serve_setup(args, settings)
    if not _checked(settings):
        return EXIT_USAGE
    host = args.host or settings.host or "0.0.0.0"
    web = processes.spawn(
        [
            sys.executable, "-m", "gunicorn",
            "--bind", f"{host}:{settings.port}",
            "--workers", str(args.web_workers),
            "--graceful-timeout", "25",
            "bot.web:wsgi()",
        ]
    )  # fmt: skip
    if not settings.redis_url:
        # on the SQLite default this is the machine's only consumer: whatever is marked running, a dead one left
        from bot.adapters.store import open_store

        open_store(None, settings.db_path, settings.lease_seconds).lapse_running()
    # jobs share the cores with gunicorn: webhooks first (their acknowledgement is what GitHub times)
    worker = processes.spawn([sys.executable, "-m", "bot.cli", "worker"], idle=True)
    # a child that dies on its own takes the other with it, so that a supervisor restarts both
    return EXIT_CLEAN if processes.supervise([web, worker]) == "signal" else EXIT_FAILED


def _serve_setup(args: argparse.Namespace, settings) -> int:
    """The setup page alone, until the manifest flow has written the credentials; then ortfix restarts itself.

    It listens on 127.0.0.1 unless told otherwise; reachable from other machines, it asks for a one-time token.
    """
    import secrets

    from bot.service import processes, setup_page
    from bot.service import settings as settings_module

    host = args.host or settings.host or setup_page.LOOPBACK
    if host in setup_page.WILDCARDS and not settings.public_url:
        print(SETUP_NEEDS_PUBLIC_URL.format(host=host), file=sys.stderr)
        return EXIT_USAGE
    url = setup_page.base_url(settings.public_url, host, settings.port) + "/setup"
    values = {"HOST": host}
    if setup_page.reachable_from_elsewhere(settings.public_url, host):
        values[settings_module.SETUP_TOKEN] = token = secrets.token_urlsafe(24)
        url += f"?token={token}"
    print(SETUP_MODE.format(url=url), file=sys.stderr, flush=True)
    bind = f"[{host}]" if ":" in host else host
    web = processes.spawn(
        [sys.executable, "-m", "gunicorn", "--bind", f"{bind}:{settings.port}", "--workers", "1", "bot.web:wsgi()"],
        env=settings_module.child_environment(**values),
    )
    ended = processes.supervise([web], done=lambda: not settings_module.load(env_file=settings.env_file).missing)
    if ended != "done":
        return EXIT_CLEAN if ended == "signal" else EXIT_FAILED
    os.execv(sys.executable, [sys.executable, "-m", "bot.cli", *sys.argv[1:]])  # now with credentials
    return EXIT_CLEAN  # pragma: no cover


def _worker(args: argparse.Namespace) -> int:
    settings = _service_settings()
    return EXIT_USAGE if settings is None else _consume(settings)


def _service_settings():
    from bot.service import logs, settings

    loaded = settings.load()
    if loaded.unconfigured:
        lines = "\n".join(f"  {name}: {settings.SETUP_HELP[name]}" for name in loaded.missing)
        print(MISSING_SETTINGS.format(missing=lines), file=sys.stderr)
        return None
    logs.configure(loaded.log_level, loaded.sentry_dsn)
    return loaded if _checked(loaded) else None


def _checked(settings) -> bool:
    """Whether the start-up checks pass; if not, each problem printed on its own line."""
    from bot.service import startup_checks

    found = startup_checks.problems(settings)
    for line in found:
        print(line, file=sys.stderr)
    return not found


def _consume(settings) -> int:
    import threading

    from bot.service.queue import adopt_list_queue, build, every

    # a thread that holds SQLite's write lock and then waits for the GIL keeps webhooks waiting: hand it over sooner
    sys.setswitchinterval(SWITCH_SECONDS)
    service = build(settings)
    adopt_list_queue(service.huey)
    service.sweep()  # after a crash, redo what the dead worker left at once, not at the next periodic sweep
    stop = threading.Event()
    # a killed worker's job is redone within about a lease; the write-ahead log is folded in here, not by a webhook
    for seconds, action in ((service.store.lease / 3, service.sweep), (CHECKPOINT_SECONDS, service.store.checkpoint)):
        threading.Thread(target=every, args=(seconds, action, stop), daemon=True).start()
    consumer = service.huey.create_consumer(
        workers=settings.workers, worker_type="thread", periodic=True, graceful_signal="TERM", shutdown_timeout=25
    )
    try:
        consumer.run()  # returns after SIGTERM/SIGINT, once the jobs in hand are finished
    finally:
        stop.set()
    return EXIT_CLEAN


SETUP_STEPS = """Register ortfix as a GitHub App (GitHub's App Manifest flow):

1. Save this manifest as manifest.json:

{manifest}

2. On a machine with a browser, make an HTML page with a form that POSTs a field `manifest` (the JSON above)
   to {action} and submit it; confirm on GitHub with "Create GitHub App".
   (Simpler: run `ortfix serve` and open its page, which does exactly this.)
3. GitHub redirects to {callback}?code=CODE. Run here:

   ortfix setup --code CODE

   which writes APP_ID, APP_SLUG, PRIVATE_KEY and WEBHOOK_SECRET to {env} (mode 0600).
4. Start `ortfix serve`, then install the app from its page on GitHub."""


def _setup(args: argparse.Namespace) -> int:
    from bot.adapters.github import GitHubError, convert_manifest
    from bot.service import settings as settings_module
    from bot.service import setup_page

    settings = settings_module.load()
    if args.code:
        try:
            created = convert_manifest(settings.api_url, args.code)
        except (GitHubError, OSError) as error:
            print(f"ortfix: GitHub did not confirm the app: {error}", file=sys.stderr)
            return EXIT_FAILED
        values = {
            "APP_ID": str(created["id"]),
            "APP_SLUG": created["slug"],
            "PRIVATE_KEY": created["pem"],
            "WEBHOOK_SECRET": created["webhook_secret"],
        }
        settings_module.write_env(settings.env_file, values)
        print(
            f"ortfix: {created['slug']} is set up; install it: {settings.github_web_url}/apps/{created['slug']}/installations/new"
        )
        return EXIT_CLEAN
    if not args.url:
        print("ortfix: setup needs --url (this server's public address) or --code", file=sys.stderr)
        return EXIT_USAGE
    manifest = setup_page.manifest(args.url, settings.webhook_path)
    action = setup_page.new_app_url(settings.github_web_url, args.org, "cli").split("?")[0]
    print(
        SETUP_STEPS.format(
            manifest=json.dumps(manifest, indent=2),
            action=action,
            callback=manifest["redirect_url"],
            env=settings.env_file,
        )
    )
    return EXIT_CLEAN


def _audit(args: argparse.Namespace) -> int:
    from bot.adapters.store import Busy, Heartbeat
    from bot.core import render
    from bot.jobs import audit
    from bot.service.queue import build

    if bool(args.repo) == bool(args.all):
        print("ortfix: audit takes OWNER/REPO or --all", file=sys.stderr)
        return EXIT_USAGE
    settings = _service_settings()
    if settings is None:
        return EXIT_USAGE
    service = build(settings)
    assert service.app is not None
    targets: list[tuple[int, str]] = []
    if args.repo:
        targets = [(service.app.installation_of(args.repo), args.repo)]
    else:
        for installation in service.app.installations():
            client = service.app.installation(installation["id"])
            targets += [(installation["id"], r["full_name"]) for r in client.repositories() if not r.get("archived")]
    rows = []
    for index, (installation_id, repo) in enumerate(targets, 1):
        client = service.app.installation(installation_id)
        info = audit.RepoInfo.from_api(client.repository(repo))
        deadline = time.monotonic() + service.store.lease
        while True:
            try:
                with Heartbeat(service.store):  # keeps the repository's audit lock while it runs
                    outcome = audit.audit_repository(
                        client, service.store, info, settings.github_web_url, dry_run=not args.write
                    )
                break
            except Busy:  # the worker audits it right now: wait for that audit, then do this one on top
                if time.monotonic() > deadline:
                    print(f"ortfix: {repo}: another audit still runs; try again when it ends", file=sys.stderr)
                    return EXIT_FAILED
                time.sleep(1)
        rows.append((repo, outcome))
        if args.all and sys.stderr.isatty():
            done = 30 * index // len(targets)
            sys.stderr.write(f"\rortfix audit [{'#' * done}{'.' * (30 - done)}] {index}/{len(targets)} repositories")
    if args.all and sys.stderr.isatty():
        sys.stderr.write("\n")
    sys.stdout.write(render.audit_table(rows, wrote=args.write))
    return EXIT_FINDINGS if any(o.findings for _, o in rows) else EXIT_CLEAN


def _refresh_versions(args: argparse.Namespace) -> int:
    import requests

    from bot.cli.refresh_versions import http_fetchers, refresh

    fetch_json, fetch_bytes = http_fetchers()
    try:
        current = json.loads(args.table.read_text("utf-8"))
        table, news = refresh(current, fetch_json, fetch_bytes, limit=args.limit)
    except requests.RequestException as error:  # before OSError: requests' errors are OSErrors too
        print(f"ortfix: the npm registry did not answer: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, ValueError) as error:
        print(f"ortfix: {args.table}: {error}", file=sys.stderr)
        return EXIT_USAGE
    for line in news:
        print(line)
    print(
        f"ortfix: {len(table['classified'])} versions classified, {len(table['eras'])} eras, latest {table['latest']}"
    )
    if not args.dry_run:
        args.table.write_text(json.dumps(table, indent=2) + "\n", "utf-8")
    return EXIT_CLEAN


@dataclass(frozen=True)
class _Scan:
    root: Path
    report: Report  # paths relative to `root`
    relevant: list[str]  # the files a fix reads: manifests, lockfiles, sources with something to say


def _scan_paths(args: argparse.Namespace) -> list[_Scan]:
    """A scan per root: a directory PATH is its own root; file PATHs are scanned together with their repository's.

    A PATH inside another directory PATH adds nothing, so that no file is scanned (or counted) twice.
    """
    resolved = [path.resolve() for path in args.paths]
    trees = list(dict.fromkeys(p for p in resolved if p.is_dir()))
    trees = [t for t in trees if not any(t != other and t.is_relative_to(other) for other in trees)]
    files: dict[Path, list[Path]] = {}
    for path in dict.fromkeys(p for p in resolved if not p.is_dir()):
        if not any(path.is_relative_to(tree) for tree in trees):
            files.setdefault(find_root(path), []).append(path)
    scans = []
    for root, only in [*((tree, None) for tree in trees), *files.items()]:
        scanner = _scanner(args)
        relevant = scan_root(scanner, root, only, progress=args.format == "text", gitignore=not args.no_ignore)
        scans.append(_Scan(root, scanner.finish(), relevant))
    return scans


def _scanner(args: argparse.Namespace) -> Scanner:
    return Scanner(ignore=args.ignore, max_bytes=args.max_bytes)


def _merge(scans: list[_Scan], cwd_relative: bool) -> Report:
    """One report; with several PATHs, each finding's path relative to the current directory."""
    merged = Report()
    for scan in scans:
        report = scan.report
        if cwd_relative:
            merged.findings += [dataclasses.replace(f, path=_shown(scan.root / f.path)) for f in report.findings]
        else:
            merged.findings += report.findings
        merged.files_scanned += report.files_scanned
        merged.skipped.update(report.skipped)
        merged.notes.extend(report.notes)
    return merged


def _shown(path: Path) -> str:
    return Path(os.path.relpath(path)).as_posix()


def _fix(args: argparse.Namespace, scans: list[_Scan]) -> list[Path]:
    """Every fix worked out in memory first (edits.fix_texts), then written all or nothing; the files changed."""
    from bot.cli.writes import replace_all
    from bot.core.edits import fix_texts

    def wanted(finding: Finding) -> bool:
        return args.all or finding.severity != INFO

    edits: dict[Path, bytes] = {}
    for scan in scans:
        texts = {relative: (scan.root / relative).read_bytes() for relative in scan.relevant}
        files, _ = fix_texts(texts, lambda: _scanner(args), wanted)
        edits.update({scan.root / relative: data for relative, data in files.items()})
    replace_all(edits)
    return list(edits)
