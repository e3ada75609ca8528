"""Resolve's scripting objects across a pipe, for a panel that runs in another process.

DaVinci Resolve's Python runs Workspace > Scripts in every edition, but only Studio lets
another process reach Resolve (external scripting). So the menu script serves each call
the panel's process makes on Resolve's objects (`serve`), and that process sees them as
if they were local (`relayed_resolve`). One JSON message per line each way; Resolve's
objects travel as handles. Runs on any Python 3.6+ (Resolve's own): standard library only.
"""
import json
import os
import sys
import threading


def serve(resolve, requests, replies):
    """Answer calls on `resolve` and the objects it returns until `requests` closes."""
    objects = [resolve]

    def out(value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (list, tuple)):
            return [out(v) for v in value]
        if isinstance(value, dict):
            return {"$d": [[out(k), out(v)] for k, v in value.items()]}
        objects.append(value)
        return {"$h": len(objects) - 1}

    for line in requests:
        if isinstance(line, bytes):
            line = line.decode("utf-8")
        if not line.strip():
            continue
        message = json.loads(line)
        try:
            method = getattr(objects[message["o"]], message["m"], None)
            if method is None:  # Resolve gives None for a call this release lacks
                raise AttributeError("Resolve %s has no call %s" % (_version(resolve), message["m"]))
            reply = {"r": out(method(*[_in(a, objects) for a in message["a"]]))}
        except Exception as err:  # the panel's process reports it; the menu script keeps serving
            reply = {"e": "%s: %s" % (type(err).__name__, err)}
        text = json.dumps(reply) + "\n"
        replies.write(text.encode("utf-8") if "b" in getattr(replies, "mode", "") else text)
        replies.flush()


def _in(value, objects):
    if isinstance(value, list):
        return [_in(v, objects) for v in value]
    if isinstance(value, dict):
        if "$h" in value:
            return objects[value["$h"]]
        return dict((_in(k, objects), _in(v, objects)) for k, v in value["$d"])
    return value


def _version(resolve):
    try:
        return resolve.GetVersionString()
    except Exception:  # only for the message
        return "(unknown version)"


class RelayError(RuntimeError):
    """A call Resolve refused, as the menu script reported it."""


class _Link(object):
    def __init__(self, requests, replies):
        self._requests, self._replies, self._lock = requests, replies, threading.Lock()

    def call(self, handle, name, args):
        with self._lock:
            self._requests.write(json.dumps({"o": handle, "m": name, "a": [self._out(a) for a in args]}) + "\n")
            self._requests.flush()
            line = self._replies.readline()
        if not line:
            raise RelayError("DaVinci Resolve's script stopped answering: run MatAnyone again from Workspace > Scripts.")
        reply = json.loads(line)
        if "e" in reply:
            raise RelayError(reply["e"])
        return self._in(reply["r"])

    def _out(self, value):
        if isinstance(value, Remote):
            return {"$h": value._handle}
        if isinstance(value, (list, tuple)):
            return [self._out(v) for v in value]
        if isinstance(value, dict):
            return {"$d": [[self._out(k), self._out(v)] for k, v in value.items()]}
        return value

    def _in(self, value):
        if isinstance(value, list):
            return [self._in(v) for v in value]
        if isinstance(value, dict):
            if "$h" in value:
                return Remote(self, value["$h"])
            return dict((self._in(k), self._in(v)) for k, v in value["$d"])
        return value


class Remote(object):
    """One of Resolve's objects on the menu script's side; each method call crosses the pipe."""

    def __init__(self, link, handle):
        self._link, self._handle = link, handle

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self._link.call(self._handle, name, args)


def connect(requests, replies):
    """The `Resolve` object served at the other end of (`requests`, `replies`)."""
    return Remote(_Link(requests, replies), 0)


def relayed_resolve():
    """In the panel's process started by the menu script: Resolve over stdin/stdout. Standard
    output is kept for the replies; anything printed goes to standard error (the log)."""
    requests = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return connect(requests, sys.stdin)
