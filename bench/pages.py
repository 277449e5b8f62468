"""The pages: server time and weight of the citizen's prefilled form (#14, point 9).

1. Server time of one page for a signed-in demo citizen through the Flask test client, over
   PostgreSQL with the demo records (the prefill reads the database source): p50, p95, p99.
   The page measured is the prefilled birth-registration form (to-khai-dang-ky-khai-sinh,
   "use my data" chosen) when the e-form pages exist, else the URL given.
2. The bytes a first visit downloads for it: the HTML and every stylesheet and script it
   links (as served; and gzip-compressed, what a front server would send), then the fonts
   the stylesheets name, separately (the browser fetches only the subsets the page needs).

Targets (issue 14): p95 under 50 ms; under 150 KB before fonts.
Usage: python bench/pages.py [URL-PATH] [--profile]   (e.g. /sign-in; default: the prefilled form;
--profile: where the time of 50 requests goes;
TOKHAI_BENCH_DATABASE_URL: a PostgreSQL server URL; database tokhai_bench_pages, created afresh)
"""

from __future__ import annotations

import gzip
import logging
import re
import statistics
import sys
import time
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from _common import ROOT, fresh_postgres, percentile

DB_NAME = "tokhai_bench_pages"
HOUSEHOLDS = 3000
REQUESTS = 300
FORM = "to-khai-dang-ky-khai-sinh"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and a.get("rel") == "stylesheet" and a.get("href"):
            self.urls.append(str(a["href"]))
        if tag in ("script", "img") and a.get("src"):
            self.urls.append(str(a["src"]))


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client) -> None:
    page = client.get("/sign-in").get_data(as_text=True)
    answer = client.post("/sign-in/development",
                         data={"person": "citizen_father", "next": "/", "csrf_token": _csrf(page)})
    assert answer.status_code == 302, answer.status_code


def the_form(client) -> str | None:
    """The prefilled form's URL for the signed-in citizen ("use my data", the first agency
    offered), or None when the e-form pages are not there."""
    start = client.get(f"/procedures/{FORM}/apply")
    if start.status_code == 404:
        return None
    html = start.get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html)
    agency = re.search(r'name="agency"[^>]*value="([^"]+)"', html)
    assert version, "no version on the start page"
    data = {"csrf_token": _csrf(html), "version": version.group(1), "choice": "use",
            "agency": agency.group(1) if agency else "UBND-00004"}
    answer = client.post(f"/procedures/{FORM}/apply", data=data)
    assert answer.status_code == 302, (answer.status_code, answer.get_data(as_text=True)[:300])
    return urlsplit(answer.headers["Location"]).path


def main() -> None:
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.INFO)
    url = fresh_postgres(DB_NAME)
    from service.cli import load_demo
    from service.config import Settings
    from service.records import demo
    from service.web import create_app, prepare

    app = create_app(Settings.from_env(database_url=url, log_level="WARNING", dev_signin=True,
                                       insecure_cookies=True))
    prepare(app, migrate=True, load_catalogue=True)
    with app.app_context():
        load_demo(demo.generate(HOUSEHOLDS))
    client = app.test_client()
    sign_in(client)
    given = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = given[0] if given else the_form(client)
    if path is None:
        path = "/"
        print("the e-form pages are not there: measuring the home page instead")
    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code)
    html = first.get_data(as_text=True)
    assert "<!DOCTYPE html>" in html
    print(f"PostgreSQL, {HOUSEHOLDS} demo households; {path} for demo citizen "
          f"{demo.DEMO_FATHER} (signed in), Flask test client")

    for _ in range(20):
        client.get(path)
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - start)
        assert answer.status_code == 200
    p95 = percentile(times, 0.95) * 1e3
    print(f"server time over {REQUESTS} requests: p50 {statistics.median(times) * 1e3:.1f} ms, "
          f"p95 {p95:.1f} ms, p99 {percentile(times, 0.99) * 1e3:.1f} ms "
          f"(target p95 < 50 ms: {'met' if p95 < 50 else 'MISSED'})")

    if "--profile" in sys.argv:  # where the time goes, for whoever makes it faster
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(lambda: [client.get(path) for _ in range(50)])
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)

    links = _Links()
    links.feed(html)
    raw = {"HTML": len(first.get_data())}
    packed = {"HTML": len(gzip.compress(first.get_data()))}
    fonts: dict[str, tuple[int, int]] = {}
    for asset in dict.fromkeys(links.urls):
        body = client.get(asset).get_data()
        raw[asset], packed[asset] = len(body), len(gzip.compress(body))
        if asset.split("?")[0].endswith(".css"):
            for font in re.findall(r"url\(\s*['\"]?([^'\")]+)", body.decode()):
                target = urljoin(asset.split("?")[0], font)
                data = client.get(target).get_data()
                fonts[target] = (len(data), len(gzip.compress(data)))
    total, total_packed = sum(raw.values()), sum(packed.values())
    print(f"{'first visit (before fonts)':60} {'bytes':>9} {'gzip':>9}")
    for name in raw:
        print(f"  {name.split('?')[0]:58} {raw[name]:9,} {packed[name]:9,}")
    print(f"  {'total':58} {total:9,} {total_packed:9,} "
          f"(target < 150 KB: {'met' if total < 150 * 1024 else 'MISSED'})")
    print(f"{'fonts (each fetched only when its characters appear)':60}")
    for name, (size, size_packed) in fonts.items():
        print(f"  {name:58} {size:9,} {size_packed:9,}")
    print(f"  {'all fonts':58} {sum(s for s, _ in fonts.values()):9,}")


if __name__ == "__main__":
    main()
