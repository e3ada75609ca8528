"""The engine imports nothing of Qt, file formats, hosts or the plugin, and does no work at import."""
import subprocess
import sys

BLOCKED = ["plugin", "PySide6", "PySide2", "Qt", "OpenImageIO", "PyOpenColorIO", "av", "cv2", "torchvision"]


def test_engine_imports_only_torch_and_numpy():
    code = (
        "import sys\n"
        f"for name in {BLOCKED!r}: sys.modules[name] = None\n"
        "import matanyone_engine, matanyone_engine.maskprep, matanyone_engine.device, matanyone_engine.standin\n"
        "from matanyone_engine import load_network, Session, EngineSettings, matte_frames\n"
        "assert not any(m.startswith(('PySide', 'OpenImageIO', 'av.', 'plugin')) for m in sys.modules if sys.modules[m])\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
