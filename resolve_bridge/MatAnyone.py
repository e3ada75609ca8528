"""MatAnyone: matte the clip under the playhead (DaVinci Resolve, Workspace > Scripts).

Runs in Resolve's own Python (any 3.6+). It only starts the product's interpreter with a
clean environment (Resolve's PYTHONHOME/PYTHONPATH would break it), logging to a file,
and relays Resolve's scripting calls to it (resolve_bridge/relay.py), so the free edition,
which lets no other process reach Resolve, works too. `python -m resolve_bridge.install`
fills in where the product lives; the environment variables win when set.
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("MATANYONE_PLUGIN_ROOT") or r"@MATANYONE_ROOT@"
PYTHON = os.environ.get("MATANYONE_PLUGIN_PYTHON") or r"@MATANYONE_PYTHON@"
if ROOT.startswith("@"):  # run from the repository itself, not installed
    ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG = os.path.join(tempfile.gettempdir(), "matanyone-resolve.log")

with open(LOG, "w") as log:
    if PYTHON.startswith("@") or not os.path.isfile(PYTHON):
        line = ("MatAnyone: the product's Python (%s) was not found: set MATANYONE_PLUGIN_PYTHON or run "
                "`python -m resolve_bridge.install` again from the product's environment." % PYTHON)
        log.write(line + "\n")
        print(line)
    else:
        env = dict((k, v) for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH"))
        env.update(MATANYONE_PLUGIN_ROOT=ROOT, MATANYONE_RESOLVE_LOG=LOG)
        app = globals().get("resolve")  # what Resolve gives a script it runs
        if app is not None:
            env["MATANYONE_RESOLVE_RELAY"] = "1"
        pipe = subprocess.PIPE if app is not None else log
        child = subprocess.Popen([PYTHON, "-m", "resolve_bridge"], cwd=ROOT, env=env, stdin=pipe,
                                 stdout=pipe, stderr=log, creationflags=0x08000000 if os.name == "nt" else 0)
        if app is not None:
            sys.path.insert(0, ROOT)
            from resolve_bridge import relay  # noqa: E402 - standard library only, any Python 3.6+

            relay.serve(app, child.stdout, child.stdin)
            child.wait()
