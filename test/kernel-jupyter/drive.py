"""Drives a Jupyter kernel through Debian's jupyter_client for the kiln integration tests.

Run with /usr/bin/python3 (where jupyter_client lives) and JUPYTER_PATH pointing at the temp
kernelspec prefix:  drive.py SCENARIO [--kernel NAME]. Scenarios:

  interrupt   define state, start a long cell (busy loop, then a long await), interrupt it with
              KernelManager.interrupt_kernel() (the kernelspec's interrupt_mode: message, i.e. an
              interrupt_request on control) once it has printed that it is running, and, for the busy
              loop, once more with SIGINT; after each, a cell reads the state back.
  user-expressions
              a cell with user_expressions (several, one throwing, one not a string) sent by
              jupyter_client's Session; the reply must come within the cell's deadline.
  throw       a throwing cell, a cell with a runtime error on line 3, then a cell that still works.
  shutdown    shutdown_request on the control channel (--channel control) or shell (--channel shell);
              waits for the kernel process and all its descendants to exit on their own.

Every step prints one JSON line ({"step": ..., ...}); the first line is {"step": "started", "pid": N,
"tree": [...]} so the caller can kill the kernel if this driver dies. Time limits are bounded
everywhere; the driver always shuts the kernel down (forcefully, if needed) before it exits.
"""

import argparse
import json
import os
import signal
import sys
import time
from queue import Empty

from jupyter_client.manager import KernelManager


def emit(**kw):
    print(json.dumps(kw, default=str), flush=True)


def proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2 :].split()
    return rest[0], int(rest[1])


def alive(pid):
    s = proc_stat(pid)
    return s is not None and s[0] not in ("Z", "X")


def descendants(pid):
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        s = proc_stat(int(name))
        if s is None or s[0] == "Z":
            continue
        children.setdefault(s[1], []).append(int(name))
    out, queue = [], [pid]
    while queue:
        for c in children.get(queue.pop(0), []):
            out.append(c)
            queue.append(c)
    return out


def run_cell(kc, code, timeout=30.0, wait_started=False):
    """Executes `code`; returns (reply content, [iopub msgs]) or raises on timeout."""
    msg_id = kc.execute(code, allow_stdin=False, stop_on_error=True)
    return collect(kc, msg_id, timeout)


def collect(kc, msg_id, timeout):
    end = time.monotonic() + timeout
    outputs = []
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no idle status for {msg_id}")
        try:
            msg = kc.get_iopub_msg(timeout=left)
        except Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        outputs.append({"msg_type": msg["msg_type"], "content": msg["content"]})
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no execute_reply for {msg_id}")
        reply = kc.get_shell_msg(timeout=left)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"], outputs


def result_text(outputs):
    for o in outputs:
        if o["msg_type"] == "execute_result":
            return o["content"]["data"].get("text/plain")
    return None


def interrupted(kc, km, code, how):
    """Starts `code` (which prints RUNNING_MARK first), interrupts it once the mark is out, returns the step record."""
    msg_id = kc.execute(code)
    # wait (bounded) until the cell has printed its mark: it is in its loop or its await
    end = time.monotonic() + 20
    running = False
    while not running and time.monotonic() < end:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except Empty:
            continue
        running = (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"
                   and RUNNING_MARK in msg["content"].get("text", ""))
    if not running:
        return {"ok": False, "error": f"the cell never printed {RUNNING_MARK!r}"}
    if how == "message":
        km.interrupt_kernel()  # interrupt_mode from the kernelspec
    else:
        km.signal_kernel(signal.SIGINT)
    try:
        content, outputs = collect(kc, msg_id, 15)  # the await would last 60 s: a deadline, not a timing
    except TimeoutError as e:
        return {"ok": False, "error": str(e)}
    return {
        "ok": True,
        "status": content["status"],
        "ename": content.get("ename"),
        "evalue": content.get("evalue"),
        "outputs": [o["msg_type"] for o in outputs],
    }


RUNNING_MARK = "cell-running"


def scenario_interrupt(km, kc, args):
    content, outputs = run_cell(kc, "let counter = 41; const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));")
    emit(step="define", status=content["status"])
    for label, code, how in (
        ("busy-loop", f'console.log("{RUNNING_MARK}"); while (true) {{}}', "message"),
        ("await", f'console.log("{RUNNING_MARK}"); await sleep(60_000); counter = -1;', "message"),
        ("busy-loop-sigint", f'console.log("{RUNNING_MARK}"); for (;;) {{ counter = 41; }}', "signal"),
    ):
        rec = interrupted(kc, km, code, how)
        emit(step=label, mode=how, **rec)
        if not rec["ok"]:
            return
        content, outputs = run_cell(kc, "counter + 1", timeout=15)
        emit(step=label + "-after", status=content["status"], result=result_text(outputs),
             ename=content.get("ename"), evalue=content.get("evalue"), alive=km.is_alive())


def scenario_throw(km, kc, args):
    for label, code in (
        ("throw", 'throw new Error("boom")'),
        ("runtime", "const a = 1;\nconst b: any = undefined;\nb.field.x = a;"),
        ("after", "const kept = 6 * 7;\nkept"),
        ("syntax", "let = = ;"),
        ("after-syntax", "kept + 1"),
    ):
        content, outputs = run_cell(kc, code, timeout=20)
        emit(step=label, status=content["status"], ename=content.get("ename"), evalue=content.get("evalue"),
             traceback=content.get("traceback"), result=result_text(outputs),
             errors=[o["content"] for o in outputs if o["msg_type"] == "error"],
             alive=km.is_alive())


def scenario_user_expressions(km, kc, args):
    expressions = {"a": "base * 7", "text": "`n=${base}`", "bad": "nope.x", "num": 5, "boom": 'throw new RangeError("out")'}
    # KernelClient.execute refuses a non-string expression, so the request is built by its Session
    msg = kc.session.msg("execute_request", {
        "code": "const base = 6;", "silent": False, "store_history": True, "user_expressions": expressions,
        "allow_stdin": False, "stop_on_error": True,
    })
    kc.shell_channel.send(msg)
    content, outputs = collect(kc, msg["header"]["msg_id"], 20)
    emit(step="reply", status=content["status"], user_expressions=content.get("user_expressions"),
         outputs=[o["msg_type"] for o in outputs])
    content, outputs = run_cell(kc, "base + 1", timeout=20)
    emit(step="after", status=content["status"], result=result_text(outputs))


def scenario_shutdown(km, kc, args):
    pid = km.provisioner.process.pid
    content, _ = run_cell(kc, "1 + 1", timeout=20)  # make sure everything (esbuild too) is up
    tree = descendants(pid)
    emit(step="tree", pid=pid, tree=tree)
    if args.channel == "control":
        msg_id = kc.shutdown()
        reply = None
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                msg = kc.get_control_msg(timeout=1)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                reply = msg
                break
    else:
        msg = kc.session.msg("shutdown_request", {"restart": False})
        kc.shell_channel.send(msg)
        reply = None
        try:
            while True:
                r = kc.get_shell_msg(timeout=10)
                if r["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                    reply = r
                    break
        except Empty:
            pass
    t0 = time.monotonic()
    code = None
    while time.monotonic() - t0 < 10:
        code = km.provisioner.process.poll()
        if code is not None and not any(alive(p) for p in tree):
            break
        time.sleep(0.05)
    emit(step="shutdown", channel=args.channel,
         reply_type=reply and reply["msg_type"], reply=reply and reply["content"],
         exit_code=code, seconds=time.monotonic() - t0,
         alive=[p for p in [pid] + tree if alive(p)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["interrupt", "throw", "shutdown", "user-expressions"])
    ap.add_argument("--kernel", default="kiln")
    ap.add_argument("--channel", default="control", choices=["control", "shell"])
    args = ap.parse_args()
    km = KernelManager(kernel_name=args.kernel)
    km.start_kernel()
    pid = km.provisioner.process.pid
    emit(step="started", pid=pid, interrupt_mode=km.kernel_spec.interrupt_mode)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        emit(step="ready")
        globals()["scenario_" + args.scenario.replace("-", "_")](km, kc, args)
    except Exception as e:  # reported, not raised: the caller asserts on the JSON lines
        emit(step="exception", error=f"{type(e).__name__}: {e}")
    finally:
        kc.stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)
        emit(step="done")


if __name__ == "__main__":
    main()
