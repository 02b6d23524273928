"""The README's Python section runs as written (on the demo data)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import DEMO, ROOT


def test_python_section_runs(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "no Python block in the README's Python section"
    code = "\n".join(blocks).replace('"data/demo', f'"{DEMO}')
    code = "import matplotlib\nmatplotlib.use('Agg')\n" + code
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "tree.nwk").exists() and (tmp_path / "demo.nhx").exists()
