"""MultiRegionMap: a multi-Region key's primary and replicas on a map, and ciphertexts that travel between them."""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as W

from ._base import (
    BLUE, GREEN, GREEN_BG, GREY, INK, RED, RED_BG, View, breakable, button, controls_html, error_info, esc,
    fmt_time, svg_img, table_html, text_table,
)

__all__ = ["MultiRegionMap", "REGION_PLACES", "world_map_svg"]

# Where each Region's data centres are, roughly (longitude, latitude), and the city it is named after.
REGION_PLACES: dict[str, tuple[float, float, str]] = {
    "us-west-2": (-121, 45, "Oregon"),
    "us-east-1": (-78, 38, "N. Virginia"),
    "sa-east-1": (-46, -23, "São Paulo"),
    "eu-west-1": (-8, 53, "Ireland"),
    "eu-central-1": (9, 50, "Frankfurt"),
    "ap-south-1": (73, 19, "Mumbai"),
    "ap-southeast-1": (104, 1, "Singapore"),
    "ap-northeast-1": (140, 36, "Tokyo"),
    "ap-southeast-2": (151, -34, "Sydney"),
}

# The continents, drawn as simple outlines (longitude, latitude): a sketch, not a survey.
_LAND = (
    ((-165, 65), (-140, 70), (-95, 72), (-65, 60), (-55, 50), (-70, 43), (-76, 35), (-80, 27), (-97, 18),
     (-88, 15), (-80, 8), (-105, 20), (-117, 32), (-125, 45), (-135, 58), (-165, 60)),
    ((-80, 8), (-60, 10), (-35, -7), (-40, -22), (-55, -35), (-68, -55), (-75, -45), (-72, -18), (-81, -5)),
    ((-10, 51.5), (-6, 58), (-2, 58.5), (1.5, 52.5), (-5, 50)),
    ((-9.5, 36.5), (-9, 43.5), (-1.5, 46.5), (-4.5, 48.5), (4, 51.5), (8, 57), (5, 62), (15, 70), (30, 71),
     (40, 65), (40, 45), (28, 41), (15, 38), (0, 38)),
    ((-17, 21), (-10, 35), (10, 37), (32, 31), (43, 12), (51, 12), (40, -15), (32, -29), (20, -35), (12, -17),
     (9, 4), (-8, 5), (-17, 14)),
    ((40, 45), (40, 65), (60, 70), (100, 76), (140, 72), (170, 66), (160, 58), (140, 50), (135, 43), (122, 38),
     (121, 30), (110, 20), (105, 10), (100, 2), (98, 15), (90, 22), (80, 8), (72, 20), (60, 25), (50, 30), (35, 35),
     (28, 41)),
    ((130, 31), (140, 35), (142, 40), (141, 45), (138, 37), (132, 34)),
    ((114, -22), (122, -18), (130, -12), (137, -12), (142, -11), (146, -19), (153, -25), (151, -34), (145, -38),
     (138, -35), (130, -32), (116, -35), (114, -28)),
)
_LABEL_LEFT = {"eu-west-1", "ap-northeast-1", "ap-southeast-2"}  # labels that would collide on the right
_W, _H = 900, 330  # map size; longitude -180..180, latitude 78..-58


def _xy(lon: float, lat: float) -> tuple[float, float]:
    return (lon + 180) / 360 * _W, (78 - lat) / 136 * _H


def world_map_svg(pins: dict[str, dict], links: list[tuple[str, str, str, str]] = (), *, title: str = "") -> str:
    """Regions as pins on a sketch of the world.

    ``pins``: Region -> {"role": "PRIMARY" | "REPLICA" | None, "label": str}; ``links``: (from Region, to Region,
    label, kind) with kind "share" (the key material they share) or "ok" / "fail" (a ciphertext that
    decrypted, or did not, in the second Region).
    """
    parts = [f"<svg class='kms-teach-world' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {_W} {_H + 24}' "
             f"width='{_W}' style='max-width:100%;font-family:sans-serif'>",
             "<defs><marker id='kt-mr-arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
             f"orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{GREEN}'/></marker>"
             "<marker id='kt-mr-arrow-fail' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
             f"orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{RED}'/></marker></defs>",
             f"<rect width='{_W}' height='{_H + 24}' fill='#eaf2fb'/>"]
    if title:
        parts.append(f"<text x='10' y='18' font-size='12.5' font-weight='bold' fill='{INK}'>{esc(title)}</text>")
    for outline in _LAND:
        points = " ".join(f"{x:.0f},{y + 24:.0f}" for x, y in (_xy(lon, lat) for lon, lat in outline))
        parts.append(f"<polygon points='{points}' fill='#f7f4ea' stroke='#c9c2a8' stroke-width='1'/>")
    for a, b, label, kind in links:
        if a not in REGION_PLACES or b not in REGION_PLACES:
            continue
        (x1, y1), (x2, y2) = _xy(*REGION_PLACES[a][:2]), _xy(*REGION_PLACES[b][:2])
        y1, y2 = y1 + 24, y2 + 24
        # Arcs, so that links never hide the pins: shared material bends north, a travelling ciphertext south.
        mx = (x1 + x2) / 2
        my = min(y1, y2) - 40 - abs(x2 - x1) * 0.08 if kind == "share" else max(y1, y2) + 30 + abs(x2 - x1) * 0.06
        if kind == "share":
            style = f"stroke='{BLUE}' stroke-width='1.6' stroke-dasharray='6 4' fill='none'"
        else:
            colour = GREEN if kind == "ok" else RED
            style = (f"stroke='{colour}' stroke-width='2.4' fill='none' "
                     f"marker-end='url(#kt-mr-arrow{'' if kind == 'ok' else '-fail'})'")
        parts.append(f"<path class='kms-teach-mr-link' data-kind='{kind}' d='M {x1:.0f} {y1:.0f} Q {mx:.0f} {my:.0f} "
                     f"{x2:.0f} {y2:.0f}' {style}/>")
        if label:
            parts.append(f"<text x='{mx:.0f}' y='{(my + (y1 + y2) / 2) / 2 - 2:.0f}' font-size='10' "
                         f"text-anchor='middle' fill='{BLUE if kind == 'share' else INK}' "
                         f"style='paint-order:stroke;stroke:#eaf2fb;stroke-width:3px'>{esc(label)}</text>")
    for region, pin in pins.items():
        if region not in REGION_PLACES:
            continue
        lon, lat, city = REGION_PLACES[region]
        x, y = _xy(lon, lat)
        y += 24
        role = pin.get("role")
        if role == "PRIMARY":
            fill, r, stroke = "#f08c00", 9, INK
        elif role == "REPLICA":
            fill, r, stroke = BLUE, 8, INK
        else:
            fill, r, stroke = "#ffffff", 5, "#888"
        parts.append(f"<g class='kms-teach-mr-region' data-region='{esc(region)}' data-role='{esc(role or '')}'>"
                     f"<circle cx='{x:.0f}' cy='{y:.0f}' r='{r}' fill='{fill}' stroke='{stroke}' stroke-width='1.3'/>")
        anchor, dx = ("end", -12) if region in _LABEL_LEFT else ("start", 12)
        label = region + (f" ({pin['label']})" if pin.get("label") else "")
        weight = "bold" if role else "normal"
        parts.append(f"<text x='{x + dx:.0f}' y='{y - 2:.0f}' font-size='11' text-anchor='{anchor}' fill='{INK}' "
                     f"font-weight='{weight}' style='paint-order:stroke;stroke:#fff;stroke-width:3px'>{esc(label)}"
                     f"</text><text x='{x + dx:.0f}' y='{y + 11:.0f}' font-size='9.5' text-anchor='{anchor}' "
                     f"fill='#555' style='paint-order:stroke;stroke:#fff;stroke-width:3px'>{esc(city)}</text></g>")
    legend_y = _H + 14
    parts.append(f"<g font-size='10.5' fill='{INK}'><circle cx='16' cy='{legend_y}' r='7' fill='#f08c00' stroke='{INK}'/>"
                 f"<text x='28' y='{legend_y + 4}'>primary key</text><circle cx='118' cy='{legend_y}' r='7' "
                 f"fill='{BLUE}' stroke='{INK}'/><text x='130' y='{legend_y + 4}'>replica key</text>"
                 f"<circle cx='222' cy='{legend_y}' r='5' fill='#fff' stroke='#888'/><text x='232' y='{legend_y + 4}'>"
                 "no key of this set</text><line x1='350' y1='{0}' x2='384' y2='{0}' stroke='{1}' "
                 "stroke-dasharray='6 4' stroke-width='1.6'/><text x='390' y='{2}'>same key ID, same key material"
                 "</text></g>".format(legend_y, BLUE, legend_y + 4))
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class Travel:
    """A ciphertext made in one Region and decrypted (or not) in another."""

    number: int
    made_in: str
    blob: bytes
    tried_in: str = ""
    ok: bool | None = None
    answer: str = ""


class MultiRegionMap(View):
    """A multi-Region key set on a world map: replicate, encrypt here, decrypt there, move the primary.

    ``MultiRegionMap(cloud, key_id=None, regions=None)``. Without ``key_id`` the widget creates its own
    multi-Region primary key (``mrk-`` ID) in the cloud's Region. ``regions`` are the Regions drawn (default:
    ``REGION_PLACES``). Methods (and buttons, with the chosen Region): ``replicate(region)`` (ReplicateKey),
    ``encrypt_in(region)`` (Encrypt with that Region's key), ``decrypt_in(region)`` (Decrypt the newest
    ciphertext there: it was made elsewhere, and no call crosses Regions), ``make_primary(region)``
    (UpdatePrimaryRegion), ``rotate()`` (RotateKeyOnDemand on the primary: every Region gets the new backing
    key), ``delete_replica(region)`` (ScheduleKeyDeletion of that Region's key, 7 days), ``advance(days)``.
    ``.regions_state`` maps each Region to what DescribeKey says there (role, state, current backing key).
    """

    def __init__(self, cloud, key_id: str | None = None, *, regions: list[str] | None = None,
                 region: str | None = None):
        super().__init__(cloud, region=region)
        self.regions = list(regions or REGION_PLACES)
        self.key_id = key_id
        self.regions_state: dict[str, dict] = {}
        self.travels: list[Travel] = []
        self.last_call = ""
        self.target = W.Dropdown(description="Region", options=self.regions, layout=W.Layout(width="260px"))
        self.message = W.Text(value="order 1001: 3 laser pointers", description="message",
                              layout=W.Layout(width="360px"))
        self.advance_days = W.BoundedIntText(value=7, min=1, max=3650, description="days",
                                             layout=W.Layout(width="150px"))
        self.target.add_class("kms-teach-target")
        self.message.add_class("kms-teach-message")
        self.advance_days.add_class("kms-teach-advance-days")
        self.buttons = {
            "replicate": button("ReplicateKey here", style="info", icon="clone", css="kms-teach-replicate"),
            "encrypt": button("Encrypt here", icon="lock", css="kms-teach-mr-encrypt"),
            "decrypt": button("Decrypt the newest ciphertext here", icon="unlock", css="kms-teach-mr-decrypt"),
            "primary": button("UpdatePrimaryRegion to here", icon="star", css="kms-teach-mr-primary"),
            "rotate": button("RotateKeyOnDemand (primary)", style="warning", icon="refresh", css="kms-teach-mr-rotate"),
            "delete": button("ScheduleKeyDeletion here (7 days)", style="danger", icon="trash",
                             css="kms-teach-mr-delete"),
            "advance": button("advance the clock", icon="forward", css="kms-teach-advance"),
        }
        b = self.buttons
        b["replicate"].on_click(lambda _b: self.replicate(self.target.value))
        b["encrypt"].on_click(lambda _b: self.encrypt_in(self.target.value))
        b["decrypt"].on_click(lambda _b: self.decrypt_in(self.target.value))
        b["primary"].on_click(lambda _b: self.make_primary(self.target.value))
        b["rotate"].on_click(lambda _b: self.rotate())
        b["delete"].on_click(lambda _b: self.delete_replica(self.target.value))
        b["advance"].on_click(lambda _b: self.advance())
        self.info = W.HTML()
        self.map = W.HTML()
        self.map.add_class("kms-teach-mr-map")
        self.table = W.HTML()
        self.table.add_class("kms-teach-mr-table")
        self.status = W.HTML()
        self.status.add_class("kms-teach-last-call")
        self.widget = self._frame([
            self.info, self.map,
            W.HBox([self.target, b["replicate"], b["primary"], b["delete"]]),
            W.HBox([self.message, b["encrypt"], b["decrypt"]]),
            W.HBox([b["rotate"], self.advance_days, b["advance"]]),
            self.error_area, self.status, self.table,
        ], "kms-teach-multi-region-map")
        if key_id is None:
            self._act(self._create, refresh=False)
        self.refresh()

    # ------------------------------------------------------------------ the real calls

    def _create(self) -> None:
        md = self.client("kms", as_caller=False).create_key(
            MultiRegion=True, Description="a multi-Region key for the MultiRegionMap")["KeyMetadata"]
        self.key_id = md["KeyId"]
        self.last_call = f"CreateKey (MultiRegion=True) in {self.region}: {md['KeyId']}"

    def _kms(self, region: str):
        """The account root user's KMS client in ``region`` (kept: making one costs a few milliseconds)."""
        client = self._clients.get(("kms", region, None))
        if client is None:
            client = self._clients[("kms", region, None)] = self.cloud.client(
                "kms", region_name=region, config=self.client("kms", as_caller=False).meta.config)
        return client

    def _primary_region(self) -> str:
        for region, st in self.regions_state.items():
            if st.get("role") == "PRIMARY":
                return region
        return self.region

    def _do(self, label: str, fn):
        def run():
            self.last_call = ""
            try:
                out = fn()
            except Exception as exc:
                self.last_call = f"{label} refused: {error_info(exc)}"
                raise
            return out

        return self._act(run)

    def replicate(self, region: str):
        def run():
            primary = self._primary_region()
            out = self._kms(primary).replicate_key(KeyId=self.key_id, ReplicaRegion=region)
            state = out["ReplicaKeyMetadata"]["KeyState"]
            self.last_call = (f"ReplicateKey from {primary} to {region}: the replica answered {state} (it is ready "
                              "within moments), with the same key ID and key material")
            return out

        return self._do("ReplicateKey", run)

    def encrypt_in(self, region: str):
        def run():
            blob = self._kms(region).encrypt(KeyId=self.key_id, Plaintext=self.message.value.encode())["CiphertextBlob"]
            t = Travel(len(self.travels) + 1, region, blob)
            self.travels.append(t)
            self.last_call = f"ciphertext #{t.number} made in {region} ({len(blob)} bytes)"
            return t

        return self._do("Encrypt", run)

    def decrypt_in(self, region: str):
        def run():
            if not self.travels:
                raise ValueError("encrypt a message in some Region first")
            t = self.travels[-1]
            t.tried_in = region
            try:
                out = self._kms(region).decrypt(CiphertextBlob=t.blob)
                t.ok, t.answer = True, f"decrypted in {region}: {out['Plaintext'].decode(errors='replace')!r}"
            except Exception as exc:
                err = error_info(exc)
                if not err.aws:
                    raise
                t.ok, t.answer = False, f"{err.code}: {err.message}"
            self.last_call = f"ciphertext #{t.number} (made in {t.made_in}): {t.answer}"
            return t

        return self._do("Decrypt", run)

    def make_primary(self, region: str):
        def run():
            primary = self._primary_region()
            self._kms(primary).update_primary_region(KeyId=self.key_id, PrimaryRegion=region)
            self.last_call = f"UpdatePrimaryRegion: {region} is the primary now, {primary} a replica"

        return self._do("UpdatePrimaryRegion", run)

    def rotate(self):
        def run():
            primary = self._primary_region()
            self._kms(primary).rotate_key_on_demand(KeyId=self.key_id)
            self.last_call = f"RotateKeyOnDemand in {primary}: every Region of the set has the new backing key"

        return self._do("RotateKeyOnDemand", run)

    def delete_replica(self, region: str):
        def run():
            out = self._kms(region).schedule_key_deletion(KeyId=self.key_id, PendingWindowInDays=7)
            self.last_call = f"ScheduleKeyDeletion in {region}: {out['KeyState']}"

        return self._do("ScheduleKeyDeletion", run)

    def advance(self, days: int | None = None):
        return self._advance_clock(days)

    # ------------------------------------------------------------------ reading

    def _refresh(self) -> None:
        states = {}
        for region in self.regions:
            try:
                md = self._kms(region).describe_key(KeyId=self.key_id)["KeyMetadata"]
            except Exception as exc:
                err = error_info(exc)
                if err.code != "NotFoundException":
                    raise
                states[region] = {"role": None, "state": "-", "material": ""}
                continue
            config = md.get("MultiRegionConfiguration") or {}
            states[region] = {"role": config.get("MultiRegionKeyType"), "state": md["KeyState"],
                              "material": md.get("CurrentKeyMaterialId") or ""}
        self.regions_state = states
        self._draw()

    def _pins_links(self):
        pins = {r: {"role": st["role"], "label": st["state"] if st["role"] else ""}
                for r, st in self.regions_state.items()}
        primary = self._primary_region()
        links = [(primary, r, "", "share") for r, st in self.regions_state.items() if st["role"] == "REPLICA"]
        if self.travels and self.travels[-1].tried_in:
            t = self.travels[-1]
            links.append((t.made_in, t.tried_in, f"ciphertext #{t.number}", "ok" if t.ok else "fail"))
        return pins, links

    def svg(self) -> str:
        pins, links = self._pins_links()
        return world_map_svg(pins, links, title=f"multi-Region key {self.key_id}")

    def _info_html(self) -> str:
        n = sum(1 for st in self.regions_state.values() if st["role"])
        return (f"<div>Multi-Region key <code>{esc(self.key_id or '?')}</code>: primary in "
                f"<b>{esc(self._primary_region())}</b>, {n} Region(s) hold a key of the set. Simulated time "
                f"{fmt_time(self.cloud.clock.now())} UTC.</div>")

    def _table_html(self) -> str:
        rows, styles = [], []
        for region, st in self.regions_state.items():
            if not st["role"]:
                continue
            made = [f"#{t.number}" for t in self.travels if t.made_in == region]
            rows.append([esc(region), esc(st["role"].lower()), esc(st["state"]),
                         f"<code>{esc(st['material'][:16])}…</code>" if st["material"] else "-", ", ".join(made)])
            styles.append("")
        html = table_html(["Region", "role", "state", "current backing key", "ciphertexts made here"], rows, raw=True,
                          row_styles=styles)
        if self.travels:
            trows, tstyles = [], []
            for t in reversed(self.travels[-5:]):
                trows.append([f"#{t.number}", esc(t.made_in), esc(t.tried_in or "-"),
                              breakable(t.answer or "not decrypted yet")])
                tstyles.append("" if t.ok is None else f"background:{GREEN_BG if t.ok else RED_BG};color:{INK}")
            html += "<br>" + table_html(["ciphertext", "made in", "decrypted in", "answer"], trows, raw=True,
                                         row_styles=tstyles)
        return html

    def _draw(self) -> None:
        self.info.value = self._info_html()
        self.map.value = self.svg()
        colour = RED if " refused: " in self.last_call else GREEN
        self.status.value = f"<div style='color:{colour}'>{esc(self.last_call)}</div>" if self.last_call else ""
        self.table.value = self._table_html()

    def _static_parts(self) -> list[str]:
        return [self._info_html(), svg_img(self.svg(), "multi-Region key map"),
                controls_html(f"Region: {self.target.value}", "ReplicateKey here", "UpdatePrimaryRegion to here",
                              "ScheduleKeyDeletion here", f"message: {self.message.value}", "Encrypt here",
                              "Decrypt the newest ciphertext here", "RotateKeyOnDemand (primary)"),
                self.status.value, self._table_html()]

    def text(self) -> str:
        out = [f"MultiRegionMap: key {self.key_id}, primary in {self._primary_region()}",
               text_table(["Region", "role", "state", "backing key"],
                          [[r, st["role"] or "-", st["state"], st["material"][:16]]
                           for r, st in self.regions_state.items() if st["role"]])]
        for t in self.travels:
            out.append(f"ciphertext #{t.number} made in {t.made_in}" + (f", {t.answer}" if t.tried_in else ""))
        if self.last_call:
            out.append(f"last call: {self.last_call}")
        if self.last_error:
            out.append(f"error: {self.last_error}")
        return "\n".join(out)
