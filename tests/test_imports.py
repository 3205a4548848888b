import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_never_imports_streamlit():
    code = "import sys, aae, aae.cli, aae.core.checkpoints, aae.app.explore, aae.core.metrics, aae.app.digits; " \
           "print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_no_core_source_mentions_streamlit():
    offenders = [p for p in (ROOT / "aae").rglob("*.py") if "import streamlit" in p.read_text()
                 or "from streamlit" in p.read_text()]
    assert offenders == []


def test_each_layer_imports_only_the_layers_below_it():
    """aae/core imports nothing of lab, app or cli; lab nothing of app or cli; app nothing of cli (by the import
    statements of every module, lazy ones inside functions included)."""
    import ast

    forbidden = {"core": ("aae.lab", "aae.app", "aae.cli"), "lab": ("aae.app", "aae.cli"), "app": ("aae.cli",)}
    offenders = []
    for layer, banned in forbidden.items():
        for path in (ROOT / "aae" / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith(banned)]
    assert offenders == []
