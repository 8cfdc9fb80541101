"""The format registry: `generator.loading` holds it, the loaders below it never import it back."""

import ast
from pathlib import Path

import latentlab.generator.loaders as loaders
from latentlab.generator.loading import FORMATS, GeneratorFormat, detect_format, load_generator, register_format
from latentlab.generator.native import save_native

LOADERS_DIR = Path(loaders.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_loader_module_imports_the_registry():
    files = sorted(LOADERS_DIR.glob("*.py"))
    assert {f.stem for f in files} >= {"__init__", "common", "batching", "nvlabs", "rosinality", "torchscript"}
    for f in files:
        assert "latentlab.generator.loading" not in _imported_modules(f), f.name


def test_formats_are_tried_in_order_latentlab_first():
    assert [f.name for f in FORMATS[:4]] == ["latentlab", "torchscript", "rosinality", "nvlabs"]
    assert [f.name for f in loaders.FORMATS] == ["torchscript", "rosinality", "nvlabs"]


def test_detect_format_reads_content_not_names(tiny_generator, tmp_path):
    disguised = save_native(tiny_generator, tmp_path / "model.pkl")  # latentlab safetensors under a pickle's name
    assert detect_format(disguised) == "latentlab"
    text = tmp_path / "notes.safetensors"
    text.write_text("not a checkpoint")
    assert detect_format(text) is None


def test_a_registered_format_is_tried_after_the_built_in_ones(tmp_path):
    marker = b"TINY-FORMAT\n"
    loaded = []
    fmt = GeneratorFormat("tiny-test-format", lambda p: p.read_bytes()[:len(marker)] == marker,
                          lambda p, device: loaded.append((p, device)) or "a generator")
    try:
        register_format(fmt)
        register_format(fmt)  # a second registration of the same name is ignored
        assert [f.name for f in FORMATS].count("tiny-test-format") == 1 and FORMATS[-1] is fmt
        path = tmp_path / "model.bin"
        path.write_bytes(marker + b"weights")
        assert detect_format(path) == "tiny-test-format"
        assert load_generator(path, "cpu") == "a generator" and loaded[0][0] == path
    finally:
        FORMATS.remove(fmt)
