"""The core stays platform-agnostic: it never imports a chat library."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"
FORBIDDEN = ("discord", "telegram", "bots", "relais")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_core_module_imports_a_platform_library():
    offenders = {}
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        bad = _imported_modules(path) & set(FORBIDDEN)
        if bad:
            offenders[str(path.relative_to(CORE.parent))] = sorted(bad)
    assert offenders == {}


def test_importing_the_whole_core_loads_no_platform_library():
    code = (
        "import importlib, pkgutil, sys, core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    importlib.import_module(m.name)\n"
        "loaded = sorted(n for n in sys.modules if n.split('.')[0] in ('discord', 'telegram'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_the_detector_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom discord.ext import commands\nimport telegram.ext as t\n")
    assert _imported_modules(sample) & set(FORBIDDEN) == {"discord", "telegram"}


def test_every_core_module_imports_first():
    """Each core module can be the first one imported (no import cycle hidden by the usual import order):
    a forked child per module, after the parent loaded the third-party libraries once."""
    code = (
        "import importlib, os, pkgutil, sys, core\n"
        "for lib in ('sqlalchemy', 'sqlmodel', 'jinja2', 'pydantic_settings', 'rapidfuzz', 'phonenumbers'):\n"
        "    importlib.import_module(lib)\n"
        "names = [m.name for m in pkgutil.walk_packages(core.__path__, 'core.')]\n"
        "failed = []\n"
        "for name in names:\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except ImportError as exc:\n"
        "            print(f'{name}: {exc}', file=sys.stderr)\n"
        "            os._exit(1)\n"
        "        os._exit(0)\n"
        "    if os.waitpid(pid, 0)[1] != 0:\n"
        "        failed.append(name)\n"
        "print(len(names), ' '.join(failed))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=CORE.parent)
    assert out.returncode == 0, out.stderr
    count, _, failed = out.stdout.strip().partition(" ")
    assert int(count) > 10
    assert failed == "", out.stderr


def test_the_code_passes_ruff():
    """The rules chosen in pyproject.toml ([tool.ruff.lint]) hold everywhere (``make lint`` runs the same)."""
    import shutil

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff is a test dependency: pip install -e '.[test]'"
    out = subprocess.run([ruff, "check", "--output-format", "concise", "."], capture_output=True, text=True,
                         timeout=120, cwd=CORE.parent)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1000:]
