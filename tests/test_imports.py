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
