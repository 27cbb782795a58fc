"""Startup code of the Colab-like kernel in tests/test_colab_style.py.

This folder is on the path of the test's throwaway virtual environment only, so Python imports
this module when that environment's interpreter starts (the notebook kernel and the ``pip``
the setup cell runs). It does what the test needs of Colab and of the internet:

1. it imports the stand-in ``google.colab`` beside it, as Colab imports the real one at kernel
   start, so the setup cell takes its Colab branch (it installs shiftlab with pip);
2. when ``SHIFTLAB_TEST_MIRROR`` holds the base URL of the test's local server
   (tests/local_server.py), downloads made with ``urllib`` whose URL starts with a key of
   :data:`MIRRORS` are answered by that server from the folder named by the value. The real
   download code runs unchanged (torchvision's MNIST and Imagenette loaders, torch.hub's
   ``download_url_to_file``): only where the bytes come from changes;
3. a TCP connection opened with ``socket.create_connection`` to the host of a MIRRORS prefix
   (``download.pytorch.org``, ``s3.amazonaws.com``, ...) is opened to the local server instead:
   the "is the internet reachable?" checks of the package (``_internet_available`` of
   ``shiftlab.nn.imagenet_models``, ``_check_reachable`` of ``shiftlab.data.imagenette``) then
   see the host that the download will come from, as on Colab;
4. every other connection to a host that is not this machine is refused (``OSError``), whatever
   library makes it, so a test run never reaches the internet even where there is one;
5. two constants of torchvision point at the files the test serves, set when torchvision
   imports the module that defines them (an import hook: the interpreter's start stays cheap,
   pip's too): ``SHIFTLAB_TEST_IMAGENETTE_MD5`` replaces the MD5 of Imagenette's 320 px archive
   in ``torchvision.datasets.Imagenette._ARCHIVES`` (the served archive is a small one in the
   real layout; torchvision still checks it), and ``SHIFTLAB_TEST_RESNET50`` names the served
   ResNet50 checkpoint (``resnet50-<first 8 hex digits of its SHA-256>.pth``): the URL of
   ``ResNet50_Weights.IMAGENET1K_V1`` becomes ``https://download.pytorch.org/models/<that name>``,
   which MIRRORS routes to the server, and torch.hub checks the hash in the name as usual.

``SHIFTLAB_TEST_URL_LOG`` names a file that gets one line per URL: ``served URL -> LOCAL_URL``
or ``refused URL`` (and ``answered HOST:PORT -> LOCAL`` or ``refused connection to HOST`` per
connection); the test reads it to report the downloads and to fail on a refused one.

To serve another download, add its URL prefix here and put the files in the served folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import google.colab  # noqa: F401  (the stand-in in this folder)

#: original URL prefix (scheme left out: torchvision retries https as http) -> server folder
MIRRORS: dict[str, str] = {
    # torchvision.datasets.MNIST.mirrors
    "ossci-datasets.s3.amazonaws.com/mnist/": "mnist/",
    "yann.lecun.com/exdb/mnist/": "mnist/",
    # torchvision.datasets.Imagenette._ARCHIVES (imagenette2-320.tgz and its siblings)
    "s3.amazonaws.com/fast-ai-imageclas/": "imagenette/",
    # torchvision.models weights, fetched by torch.hub.load_state_dict_from_url
    "download.pytorch.org/models/": "models/",
}

_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _note(line: str) -> None:
    log = os.environ.get("SHIFTLAB_TEST_URL_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def _is_local(host: str) -> bool:
    return host in _LOCAL_HOSTS or host.startswith("127.")


def _guard_sockets() -> None:
    """Refuse every TCP/UDP connection to a host other than this machine."""
    import socket

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def _check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            if not _is_local(host):
                _note(f"refused connection to {host}")
                raise OSError(f"no internet in the Colab-style test kernel: connection to {host} refused "
                              f"(serve the download locally: see MIRRORS in {__file__})")

    def connect(self: socket.socket, address: Any) -> None:
        _check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(self, address)
        return real_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]


def _route_downloads(base: str) -> None:
    """Answer urllib requests for the URLs in MIRRORS from ``base`` (the local server)."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    base = base.rstrip("/") + "/"
    plain = urllib.request.build_opener()  # urllib's own handlers, for the local server

    class MirrorHandler(urllib.request.BaseHandler):
        handler_order = 100  # before urllib's HTTP(S) handlers

        def _route(self, req: urllib.request.Request) -> Any:
            url = req.full_url
            if _is_local(urlsplit(url).hostname or ""):
                return None  # the local server itself: urllib's own handler answers
            rest = url.split("://", 1)[-1]
            for prefix, folder in MIRRORS.items():
                if rest.startswith(prefix):
                    local = base + folder + rest[len(prefix):]
                    _note(f"served {url} -> {local}")
                    copy = urllib.request.Request(local, data=req.data, headers=dict(req.header_items()),
                                                  method=req.get_method())
                    return plain.open(copy, timeout=req.timeout)
            _note(f"refused {url}")
            raise urllib.error.URLError(f"no internet in the Colab-style test kernel: {url} is not served "
                                        f"locally (add its prefix to MIRRORS in {__file__})")

        http_open = _route
        https_open = _route

    urllib.request.install_opener(urllib.request.build_opener(MirrorHandler()))


def _answer_mirrored_hosts(base: str) -> None:
    """``socket.create_connection`` to the host of a MIRRORS prefix connects to the local server
    at ``base`` instead (whatever the port): a reachability check of that host succeeds, as it
    does online. Other hosts are left to the guard of :func:`_guard_sockets`."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    local = (parts.hostname or "127.0.0.1", parts.port or 80)
    hosts = {prefix.split("/", 1)[0] for prefix in MIRRORS}
    real_create_connection = socket.create_connection

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if isinstance(address, tuple) and str(address[0]).lower().rstrip(".") in hosts:
            _note(f"answered {address[0]}:{address[1]} -> {local[0]}:{local[1]}")
            return real_create_connection(local, *args, **kwargs)
        return real_create_connection(address, *args, **kwargs)

    socket.create_connection = create_connection  # type: ignore[assignment]


def _imagenette_md5(module: Any) -> None:
    """torchvision's Imagenette: the MD5 of the 320 px archive is the served archive's."""
    url, _ = module.Imagenette._ARCHIVES["320px"]
    module.Imagenette._ARCHIVES["320px"] = (url, os.environ["SHIFTLAB_TEST_IMAGENETTE_MD5"])


def _resnet50_url(module: Any) -> None:
    """torchvision's ResNet50 IMAGENET1K_V1 weights: the served checkpoint, at its original host."""
    weights = module.ResNet50_Weights.IMAGENET1K_V1.value
    weights.url = "https://download.pytorch.org/models/" + os.environ["SHIFTLAB_TEST_RESNET50"]


def _after_import(patches: dict[str, Callable[[Any], None]]) -> None:
    """Run ``patches[name](module)`` right after the module ``name`` is executed by its import
    (a finder at the front of ``sys.meta_path`` that wraps the real loader's ``exec_module``)."""
    import importlib.abc
    import importlib.machinery

    class PatchAfterImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
            patch = patches.get(name)
            if patch is None:
                return None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader.exec_module = _then(spec.loader.exec_module, patch)  # type: ignore[method-assign]
                    return spec
            return None

    def _then(real_exec: Callable[[Any], None], patch: Callable[[Any], None]) -> Callable[[Any], None]:
        def exec_module(module: Any) -> None:
            real_exec(module)
            patch(module)

        return exec_module

    sys.meta_path.insert(0, PatchAfterImport())


if os.environ.get("SHIFTLAB_TEST_MIRROR"):
    _guard_sockets()
    _route_downloads(os.environ["SHIFTLAB_TEST_MIRROR"])
    _answer_mirrored_hosts(os.environ["SHIFTLAB_TEST_MIRROR"])
    _patches: dict[str, Callable[[Any], None]] = {}
    if os.environ.get("SHIFTLAB_TEST_IMAGENETTE_MD5"):
        _patches["torchvision.datasets.imagenette"] = _imagenette_md5
    if os.environ.get("SHIFTLAB_TEST_RESNET50"):
        _patches["torchvision.models.resnet"] = _resnet50_url
    if _patches:
        _after_import(_patches)
