"""Tests of thglib.weights: registry, verified download cache, safe state_dict loading.

No internet: checkpoints are made with torch.save in tmp_path and served by a local
http.server on 127.0.0.1 that runs in a daemon thread and shuts itself down after 20 s.
Expected hashes come from hashlib on the bytes written, never from the code under test.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import torch

from thglib import weights
from thglib.errors import BadInputError, MediaError, THGError, WeightsUnavailable

REQUIRED = {"wav2lip", "wav2lip_gan", "wav2lip_expert", "syncnet_v2", "hopenet_robust_alpha1",
            "fid_inception", "lpips_alex_backbone", "lpips_vgg_backbone", "s3fd", "2dfan4",
            "buffalo_l"}


class _Server:
    """Static file server over ``root`` that records the paths it was asked for."""

    def __init__(self, root: Path, lifetime_s: float = 20.0) -> None:
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # silence stderr
                pass

            def send_head(self):  # type: ignore[no-untyped-def]
                requests.append(self.path)
                return super().send_head()

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self._timer = threading.Timer(lifetime_s, self.httpd.shutdown)
        self._timer.daemon = True
        self._timer.start()

    def close(self) -> None:
        self._timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Private $THG_HOME, network allowed (conftest sets THG_OFFLINE=1 by default)."""
    monkeypatch.setenv("THG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("THG_OFFLINE", raising=False)
    return tmp_path


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()
    srv = _Server(root)
    srv.root = root
    yield srv
    srv.close()


def _ckpt(path: Path, obj: object) -> tuple[str, int]:
    torch.save(obj, path)
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def _register(monkeypatch, name: str, filename: str, sha256: str | None, size: int | None,
              urls: tuple[str, ...] = ()) -> weights.ModelCard:
    c = replace(weights.card("wav2lip"), name=name, filename=filename, urls=urls,
                sha256=sha256, size=size, manual="")
    monkeypatch.setitem(weights._BY_NAME, name, c)
    return c


def _cache_files() -> list[Path]:
    d = weights.cache_dir()
    return sorted(d.iterdir()) if d.exists() else []


# --- download, verification, cache -------------------------------------------------------

def test_download_verifies_and_reuses_cache(env, server, monkeypatch):
    sha, size = _ckpt(server.root / "tiny.pth", {"w": torch.arange(6.0)})
    _register(monkeypatch, "tiny", "tiny.pth", sha, size, urls=(f"{server.base}/tiny.pth",))
    got = weights.fetch("tiny", progress=True)
    assert got == weights.path_for("tiny") == env / "home" / "weights" / "tiny.pth"
    assert hashlib.sha256(got.read_bytes()).hexdigest() == sha
    assert server.requests == ["/tiny.pth"]
    assert weights.fetch("tiny", progress=False) == got
    assert server.requests == ["/tiny.pth"], "a valid cached file must not be downloaded again"
    assert _cache_files() == [got], "no temporary file may remain"


def test_cached_weights_get_the_umask_mode_and_unpinned_files_are_format_checked(env, server, monkeypatch):
    import os

    _ckpt(server.root / "open.pth", {"w": torch.ones(2)})
    (server.root / "junk.pth").write_bytes(b"\x00junk" * 100)          # not a torch.save file
    _register(monkeypatch, "open", "open.pth", None, None, urls=(f"{server.base}/open.pth",))
    _register(monkeypatch, "junk", "junk.pth", None, None, urls=(f"{server.base}/junk.pth",))
    got = weights.fetch("open", progress=False)
    umask = os.umask(0o022)
    os.umask(umask)
    assert got.stat().st_mode & 0o777 == 0o666 & ~umask      # readable by others as the umask allows
    with pytest.raises(WeightsUnavailable, match="torch.save"):
        weights.fetch("junk", progress=False)
    assert _cache_files() == [got]


def test_url_argument_overrides_registry_url(env, server, monkeypatch):
    sha, size = _ckpt(server.root / "other.bin", {"w": torch.ones(3)})
    _register(monkeypatch, "tiny", "tiny.pth", sha, size, urls=("https://example.invalid/x",))
    got = weights.fetch("tiny", url=f"{server.base}/other.bin", progress=False)
    assert got.read_bytes() == (server.root / "other.bin").read_bytes()


@pytest.mark.parametrize("bad", ["sha", "size", "prefix"])
def test_mismatch_raises_and_leaves_nothing(env, server, monkeypatch, bad):
    sha, size = _ckpt(server.root / "tiny.pth", {"w": torch.zeros(4)})
    wrong = "0" * 64 if sha[0] != "0" else "f" * 64
    filename = f"tiny-{wrong[:10]}.pth" if bad == "prefix" else "tiny.pth"
    _register(monkeypatch, "tiny", filename, wrong if bad == "sha" else None,
              size + 1 if bad == "size" else None, urls=(f"{server.base}/tiny.pth",))
    with pytest.raises(WeightsUnavailable, match="rejected") as ei:
        weights.fetch("tiny", progress=False)
    assert str(weights.path_for("tiny")) in str(ei.value)
    assert _cache_files() == []


def test_invalid_cached_file_is_replaced(env, server, monkeypatch):
    sha, size = _ckpt(server.root / "tiny.pth", {"w": torch.ones(2)})
    _register(monkeypatch, "tiny", "tiny.pth", sha, size, urls=(f"{server.base}/tiny.pth",))
    target = weights.path_for("tiny")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x" * size)  # right size, wrong bytes: a corrupt cache entry
    assert weights.fetch("tiny", progress=False) == target
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha
    assert server.requests == ["/tiny.pth"]


def test_http_404_names_url_and_path(env, server, monkeypatch):
    _register(monkeypatch, "tiny", "tiny.pth", None, None)
    url = f"{server.base}/missing.pth"
    with pytest.raises(WeightsUnavailable) as ei:
        weights.fetch("tiny", url=url, progress=False)
    msg = str(ei.value)
    assert url in msg and "404" in msg and str(weights.path_for("tiny")) in msg
    assert "place it at that path" in msg
    assert isinstance(ei.value, THGError) and isinstance(ei.value, RuntimeError)
    assert _cache_files() == []


def test_connection_refused(env, monkeypatch):
    with socket.socket() as s:  # grab a free port, then close it so nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _register(monkeypatch, "tiny", "tiny.pth", None, None)
    url = f"http://127.0.0.1:{port}/tiny.pth"
    with pytest.raises(WeightsUnavailable, match="network error") as ei:
        weights.fetch("tiny", url=url, progress=False)
    assert url in str(ei.value) and str(weights.path_for("tiny")) in str(ei.value)
    assert _cache_files() == []


def test_html_page_is_not_taken_for_weights(env, server, monkeypatch):
    (server.root / "page.html").write_text("<html><body>confirm download</body></html>")
    _register(monkeypatch, "tiny", "tiny.pth", None, None)
    with pytest.raises(WeightsUnavailable, match="web page"):
        weights.fetch("tiny", url=f"{server.base}/page.html", progress=False)
    assert _cache_files() == []


def test_offline_never_touches_network(env, server, monkeypatch):
    sha, size = _ckpt(server.root / "tiny.pth", {"w": torch.ones(1)})
    _register(monkeypatch, "tiny", "tiny.pth", sha, size, urls=(f"{server.base}/tiny.pth",))
    monkeypatch.setenv("THG_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable, match="THG_OFFLINE") as ei:
        weights.fetch("tiny", progress=False)
    assert f"{server.base}/tiny.pth" in str(ei.value)
    assert str(weights.path_for("tiny")) in str(ei.value)
    assert server.requests == []


def test_offline_still_serves_valid_cache(env, monkeypatch, tmp_path):
    src = tmp_path / "tiny.pth"
    sha, size = _ckpt(src, {"w": torch.ones(1)})
    _register(monkeypatch, "tiny", "tiny.pth", sha, size, urls=("https://example.invalid/t",))
    weights.path_for("tiny").parent.mkdir(parents=True)
    weights.path_for("tiny").write_bytes(src.read_bytes())
    monkeypatch.setenv("THG_OFFLINE", "1")
    assert weights.fetch("tiny") == weights.path_for("tiny")


# --- user-supplied path ------------------------------------------------------------------

def test_local_path_overrides_everything(env, monkeypatch, tmp_path):
    mine = tmp_path / "my_copy.pth"
    sha, size = _ckpt(mine, {"w": torch.ones(5)})
    _register(monkeypatch, "tiny", "tiny.pth", sha, size, urls=("https://example.invalid/t",))
    monkeypatch.setenv("THG_OFFLINE", "1")
    assert weights.fetch("tiny", path=mine) == mine
    assert _cache_files() == [], "a user's file is used in place, not copied"


def test_local_path_hash_mismatch_is_a_clear_error(env, monkeypatch, tmp_path):
    mine = tmp_path / "my_copy.pth"
    sha, _ = _ckpt(mine, {"w": torch.ones(5)})
    _register(monkeypatch, "tiny", "tiny.pth", "a" * 64 if sha[0] != "a" else "b" * 64, None)
    before = mine.read_bytes()
    with pytest.raises(BadInputError, match="SHA-256") as ei:
        weights.fetch("tiny", path=mine)
    assert str(mine) in str(ei.value)
    assert mine.read_bytes() == before
    with pytest.raises(BadInputError, match="not a file"):
        weights.fetch("tiny", path=tmp_path / "nope.pth")


# --- load_state_dict ---------------------------------------------------------------------

def test_strips_module_prefix_from_checkpoint_dict(tmp_path):
    a, b = torch.randn(3, 2), torch.randn(4)
    p = tmp_path / "w2l.pth"
    torch.save({"state_dict": {"module.conv.weight": a, "module.conv.bias": b},
                "optimizer": {"state": {}, "param_groups": []}, "global_step": 7}, p)
    sd = weights.load_state_dict(p)
    assert set(sd) == {"conv.weight", "conv.bias"}
    assert torch.equal(sd["conv.weight"], a) and torch.equal(sd["conv.bias"], b)


def test_strips_prefix_from_plain_dict_only_when_all_keys_have_it(tmp_path):
    t = torch.ones(2)
    p = tmp_path / "plain.pth"
    torch.save({"module.x": t, "module.y": t}, p)
    assert set(weights.load_state_dict(p)) == {"x", "y"}
    assert set(weights.load_state_dict(p, strip_prefix=None)) == {"module.x", "module.y"}
    torch.save({"module.x": t, "y": t}, p)
    assert set(weights.load_state_dict(p)) == {"module.x", "y"}


def test_load_by_registry_name_goes_through_cache(env, monkeypatch, tmp_path):
    src = tmp_path / "tiny.pth"
    sha, size = _ckpt(src, {"state_dict": {"module.w": torch.full((2,), 3.0)}})
    _register(monkeypatch, "tiny", "tiny.pth", sha, size)
    weights.path_for("tiny").parent.mkdir(parents=True)
    weights.path_for("tiny").write_bytes(src.read_bytes())
    sd = weights.load_state_dict("tiny")
    assert list(sd) == ["w"] and torch.equal(sd["w"], torch.full((2,), 3.0))


def _side_effect(marker: str) -> None:
    Path(marker).write_text("executed")


class _Payload:
    """Unpickling this would call _side_effect: the attack weights_only must block."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_side_effect, (self.marker,))


def test_weights_only_refuses_arbitrary_pickle(tmp_path):
    marker = tmp_path / "marker.txt"
    p = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}, "extra": _Payload(marker)}, p)
    with pytest.raises(MediaError, match="weights_only") as ei:
        weights.load_state_dict(p)
    assert str(p) in str(ei.value)
    assert not marker.exists(), "the pickled callable must not have run"


def test_load_rejects_non_checkpoints(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(MediaError, match="junk.pth"):
        weights.load_state_dict(junk)
    lst = tmp_path / "list.pth"
    torch.save([torch.ones(1)], lst)
    with pytest.raises(MediaError, match="state_dict"):
        weights.load_state_dict(lst)
    with pytest.raises(BadInputError, match="neither a registered model"):
        weights.load_state_dict(tmp_path / "absent.pth")


# --- registry ----------------------------------------------------------------------------

def test_registry_entries_are_well_formed():
    names = [c.name for c in weights.REGISTRY]
    assert len(names) == len(set(names))
    assert REQUIRED <= set(names)
    for c in weights.REGISTRY:
        assert c.urls and all(u.startswith("https://") for u in c.urls), c.name
        assert c.filename and "/" not in c.filename, c.name
        assert c.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", c.sha256), c.name
        assert c.size is None or (isinstance(c.size, int) and c.size > 0), c.name
        if c.sha256 and c.hash_prefix:
            assert c.sha256.startswith(c.hash_prefix), f"{c.name}: file name hash prefix"
        assert c.arxiv is None or re.fullmatch(r"\d{4}\.\d{4,5}", c.arxiv), c.name
        assert c.licence and c.paper and c.source and c.used_by, c.name
        assert all(u.startswith("thglib.") for u in c.used_by), c.name
        assert weights.card(c.name) is c


def test_torch_hub_style_names_carry_their_prefix():
    # Expected prefixes read off the file names by hand (torch.hub convention).
    expected = {"s3fd": "619a316812", "fid_inception": "6726825d", "2dfan4": "11f355bf06",
                "lpips_alex_backbone": "7be5be79", "lpips_vgg_backbone": "397923af"}
    for name, prefix in expected.items():
        assert weights.card(name).hash_prefix == prefix
        assert weights.card(name).sha256.startswith(prefix)
    assert weights.card("wav2lip_gan").hash_prefix is None


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv("THG_HOME", raising=False)
    assert weights.cache_dir() == Path(platformdirs.user_cache_dir("thglib")) / "weights"
    monkeypatch.setenv("THG_HOME", str(tmp_path))
    assert weights.path_for("s3fd") == tmp_path / "weights" / "s3fd-619a316812.pth"


def test_unknown_name_suggests_the_closest():
    with pytest.raises(BadInputError, match="did you mean 'wav2lip_gan'"):
        weights.fetch("wav2lip-gan")


def test_registry_table_and_describe(env):
    df = weights.registry_table()
    assert isinstance(df, pd.DataFrame)
    assert list(df.index) == [c.name for c in weights.REGISTRY]
    assert {"filename", "url", "sha256", "licence", "paper", "arxiv", "used_by"} <= set(df.columns)
    assert df.loc["s3fd", "size_MB"] == pytest.approx(89.8, abs=0.1)
    text = weights.describe("wav2lip_gan")
    c = weights.card("wav2lip_gan")
    for part in (c.filename, c.url, c.urls[1], c.sha256, c.paper, "2008.10010",
                 str(weights.path_for("wav2lip_gan"))):
        assert part in text


def test_every_used_by_names_a_real_function():
    import importlib

    for c in weights.REGISTRY:
        for dotted in c.used_by:
            module, _, attr = dotted.rpartition(".")
            obj = importlib.import_module(module)
            assert hasattr(obj, attr), f"{c.name}: used_by {dotted} does not exist"
