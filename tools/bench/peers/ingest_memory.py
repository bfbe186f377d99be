#!/usr/bin/env python3
"""The service side of tools/bench/ingest-memory: one `annals serve`, two large uploads, memory sampled from /proc.

Starts the service on 127.0.0.1 (optionally inside a memory cgroup), uploads the text file and the gzip file with
`curl -T` (streamed from disk), polls each document until it is completed, failed or dead, stops the service with
SIGTERM (it writes its final checkpoint) and reports, per phase, the peaks of /proc/PID/status sampled every
--interval seconds. Called by tools/bench/ingest-memory, which builds the binaries and makes the files.

Phases: "accepting" from the first upload until both are acknowledged (the first document is already being
processed while the second uploads), "processing" until both documents are done, "stopping" from SIGTERM until the
process has exited. VmHWM is the kernel's high-water mark of the process's resident memory since it started.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

FIELDS = ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem")
PHASES = ("accepting", "processing", "stopping")
DONE = ("completed", "failed", "dead")


def log(message):
    print(f"ingest-memory: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_size(text):
    """'200M', '1G', '512K' or a number of bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def read_status(pid):
    """The memory fields of /proc/PID/status, in bytes; None once the process is gone."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in FIELDS:
                    values[name] = int(rest.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return values


class MemoryCgroup:
    """A child memory cgroup of the one this script runs in (so that the limit nests inside any the caller has).

    cgroup v2 when /sys/fs/cgroup is the unified hierarchy, else cgroup v1's memory controller. Raises OSError
    when neither can be created or limited here."""

    def __init__(self, limit):
        self.limit = limit
        self.path = None
        name = f"annals-ingest-memory-{os.getpid()}"
        own = {}
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in controllers.split(","):
                    own[controller] = path
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            self.version = 2
            base = "/sys/fs/cgroup" + own.get("", "/")
            self.path = os.path.join(base, name)
            os.mkdir(self.path)
            self._write("memory.max", str(limit))
        elif os.path.isdir("/sys/fs/cgroup/memory"):
            self.version = 1
            base = "/sys/fs/cgroup/memory" + own.get("memory", "/")
            if not os.access(base, os.W_OK):
                raise OSError(f"{base} is not writable")
            self.path = os.path.join(base, name)
            os.mkdir(self.path)
            self._write("memory.limit_in_bytes", str(limit))
        else:
            raise OSError("no cgroup v2 hierarchy and no cgroup v1 memory controller under /sys/fs/cgroup")

    def _write(self, name, value):
        try:
            with open(os.path.join(self.path, name), "w") as f:
                f.write(value)
        except OSError:
            self.remove()
            raise

    def _read(self, name):
        try:
            with open(os.path.join(self.path, name)) as f:
                return f.read()
        except OSError:
            return None

    def procs_file(self):
        return os.path.join(self.path, "cgroup.procs")

    def usage(self):
        text = self._read("memory.current" if self.version == 2 else "memory.usage_in_bytes")
        return int(text) if text else None

    def report(self):
        result = {"cgroup_version": self.version, "limit_bytes": self.limit}
        if self.version == 2:
            peak = self._read("memory.peak")
            result["peak_bytes"] = int(peak) if peak else None
            events = dict(line.split() for line in (self._read("memory.events") or "").splitlines() if line)
            result["failcnt"] = int(events.get("max", 0))
            result["oom_kills"] = int(events.get("oom_kill", 0))
            result["events"] = {k: int(v) for k, v in events.items()}
        else:
            peak = self._read("memory.max_usage_in_bytes")
            result["peak_bytes"] = int(peak) if peak else None
            failcnt = self._read("memory.failcnt")
            result["failcnt"] = int(failcnt) if failcnt else None
            control = dict(line.split() for line in (self._read("memory.oom_control") or "").splitlines() if line)
            result["oom_kills"] = int(control["oom_kill"]) if "oom_kill" in control else None
            result["under_oom"] = int(control.get("under_oom", 0))
        return result

    def remove(self):
        if self.path and os.path.isdir(self.path):
            # The service has exited; an empty cgroup can be removed (with rmdir, not a recursive delete).
            for _ in range(50):
                try:
                    os.rmdir(self.path)
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                log(f"could not remove the cgroup {self.path}")
        self.path = None


class Sampler(threading.Thread):
    """Samples /proc/PID/status (and the cgroup's usage) every `interval` seconds, tagging samples by phase."""

    def __init__(self, pid, interval, cgroup):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.cgroup = cgroup
        self.phase = "starting"
        self.peaks = {}
        self.samples = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def enter(self, phase):
        """Samples at the end of the current phase and at the start of `phase`, so a phase shorter than the
        interval is still seen."""
        self.sample()
        with self.lock:
            self.phase = phase
        self.sample()

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)

    def sample(self):
        with self.lock:
            values = read_status(self.pid)
            if values is None:
                return
            if self.cgroup is not None:
                usage = self.cgroup.usage()
                if usage is not None:
                    values["cgroup_usage"] = usage
            peaks = self.peaks.setdefault(self.phase, {})
            for name, value in values.items():
                peaks[name] = max(peaks.get(name, 0), value)
            self.samples += 1


def call(port, key, path):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_ready(port, process, limit=300):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if process.poll() is not None:
            raise SystemExit(f"ingest-memory: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.05)
    raise SystemExit("ingest-memory: the server did not become ready")


def upload(port, key, path, filename, content_type):
    """Streams `path` with curl -T (curl reads the file as it sends) and returns the service's answer."""
    command = [
        "curl", "-sS", "--fail-with-body", "-X", "POST", "-T", path, "-H", f"Authorization: Bearer {key}",
        "-H", f"Content-Type: {content_type}", "-H", "Expect:",
        f"http://127.0.0.1:{port}/v1/documents?filename={filename}",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the upload of {path} failed: {result.stdout.strip()} {result.stderr.strip()}")
    return json.loads(result.stdout)


def describe_exit(code):
    return f"killed by signal {-code}" if code < 0 else f"status {code}"


def mib(value):
    return None if value is None else round(value / (1 << 20), 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("--gzip", required=True)
    parser.add_argument("--gzip-text-bytes", type=int, required=True)
    parser.add_argument("--work", required=True, help="a directory for the data directory and the server's log")
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    text_size = os.path.getsize(args.text)
    gzip_size = os.path.getsize(args.gzip)
    cgroup = None
    if args.memory_limit:
        try:
            cgroup = MemoryCgroup(parse_size(args.memory_limit))
        except OSError as error:
            log(f"cannot run the service in a memory cgroup here: {error}")
            sys.exit(2)

    data = os.path.join(args.work, "data")
    port = free_port()
    # The limits raised just enough for these two files (the defaults refuse uploads above 256 MiB).
    largest = max(text_size, gzip_size, args.gzip_text_bytes)
    command = [
        os.path.abspath(args.binary), "serve", "--data", data, "--port", str(port), "--log-level", "warning",
        "--set", f"upload-bytes-max={max(text_size, gzip_size) + (1 << 20)}",
        "--set", f"extracted-text-bytes-max={largest + (1 << 20)}",
        "--set", f"decompressed-bytes-max={args.gzip_text_bytes + (1 << 20)}",
    ]
    if cgroup is not None:
        # The shell joins the cgroup and then becomes the service (exec keeps the pid), so that every page the
        # service touches, from its first, is charged to the cgroup.
        command = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', cgroup.procs_file()] + command
    server_log = open(os.path.join(args.work, "server.log"), "ab")
    server = subprocess.Popen(command, stdout=server_log, stderr=server_log)
    sampler = Sampler(server.pid, args.interval, cgroup)
    sampler.start()
    result = {"system": "annals", "workload": "ingest-memory", "text_bytes": text_size, "gzip_bytes": gzip_size,
              "gzip_text_bytes": args.gzip_text_bytes, "interval_seconds": args.interval}
    try:
        wait_ready(port, server)
        key = open(os.path.join(data, "admin.key")).read().strip()
        documents = {}
        marks = {"start": time.monotonic()}
        try:
            sampler.enter("accepting")
            for label, path, filename, content_type in (
                    ("text", args.text, "big.txt", "text/plain"),
                    ("gzip", args.gzip, "big.txt.gz", "application/gzip")):
                t0 = time.monotonic()
                answer = upload(port, key, path, filename, content_type)
                documents[label] = {"id": answer["id"], "upload_seconds": round(time.monotonic() - t0, 2)}
                log(f"{label}: uploaded {os.path.getsize(path)} bytes in {documents[label]['upload_seconds']} s")
            marks["accepted"] = time.monotonic()
            sampler.enter("processing")
            pending = set(documents)
            while pending:
                if server.poll() is not None:
                    raise RuntimeError(f"the server exited ({describe_exit(server.returncode)}) while processing")
                if time.monotonic() - marks["start"] > args.timeout:
                    raise RuntimeError("processing did not finish within --timeout")
                for label in sorted(pending):
                    document = call(port, key, f"/v1/documents/{documents[label]['id']}")
                    if document["status"] in DONE:
                        documents[label].update(
                            status=document["status"], chunks=document["chunks"],
                            last_error=document.get("lastError"),
                            done_seconds=round(time.monotonic() - marks["start"], 2))
                        pending.discard(label)
                        log(f"{label}: {document['status']} with {document['chunks']} chunks after "
                            f"{documents[label]['done_seconds']} s")
                time.sleep(0.5)
            marks["processed"] = time.monotonic()
            sampler.enter("stopping")
            os.kill(server.pid, signal.SIGTERM)
            # wait4 gives the child's lifetime peak RSS as the kernel kept it (what `/usr/bin/time -v` prints as
            # "Maximum resident set size"), which catches a peak between the last sample and the exit.
            _, status, usage = os.wait4(server.pid, 0)
            server.returncode = os.waitstatus_to_exitcode(status)
            result["maxrss_bytes"] = usage.ru_maxrss * 1024
            marks["stopped"] = time.monotonic()
        except (RuntimeError, OSError, urllib.error.URLError) as error:
            # The service died (inside a cgroup, most likely killed for memory) or refused: report what was seen.
            result["error"] = str(error)
            result["stopped_after_seconds"] = round(time.monotonic() - marks["start"], 2)
            time.sleep(1)
            if server.poll() is not None and "exited" not in result["error"]:
                result["error"] += f"; the server exited ({describe_exit(server.returncode)})"
            log(f"stopped early: {result['error']}")
        sampler.stop.set()
        sampler.join()

        def span(a, b):
            return round(marks[b] - marks[a], 2) if a in marks and b in marks else None

        result.update(
            documents=documents, exit_status=server.poll(), samples=sampler.samples,
            accept_seconds=span("start", "accepted"), process_seconds=span("accepted", "processed"),
            stop_seconds=span("processed", "stopped"), total_seconds=span("start", "stopped"),
            peaks={phase: {name: sampler.peaks.get(phase, {}).get(name) for name in FIELDS + ("cgroup_usage",)}
                   for phase in PHASES},
            data_bytes=sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(data) for f in files))
        result["both_completed"] = len(documents) == 2 and all(
            d.get("status") == "completed" for d in documents.values())
        if cgroup is not None:
            result["cgroup"] = cgroup.report()
    finally:
        sampler.stop.set()
        if server.poll() is None:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
        server_log.close()
        if cgroup is not None:
            if "cgroup" not in result:
                result["cgroup"] = cgroup.report()
            cgroup.remove()

    if args.json:
        print(json.dumps(result))
        sys.exit(0 if result.get("both_completed") else 1)
    print(f"text upload {text_size / 1e6:.1f} MB; gzip upload {gzip_size / 1e6:.1f} MB "
          f"({args.gzip_text_bytes / 1e6:.1f} MB of text); /proc/{server.pid}/status every {args.interval} s")
    if "error" in result:
        print(f"  stopped early, {result['stopped_after_seconds']} s after the first upload began: {result['error']}")
    for label, document in result["documents"].items():
        error = f" ({document['last_error']['code']})" if document.get("last_error") else ""
        if "status" not in document:
            print(f"  {label}: not done; uploaded in {document['upload_seconds']} s")
            continue
        print(f"  {label}: {document['status']}{error}, {document['chunks']} chunks; uploaded in "
              f"{document['upload_seconds']} s, done {document['done_seconds']} s after the first upload began")
    print(f"  accepting {result['accept_seconds']} s, processing {result['process_seconds']} s, stop with final "
          f"checkpoint {result['stop_seconds']} s; data directory {result['data_bytes'] / 1e6:.0f} MB; lifetime "
          f"peak RSS (wait4 ru_maxrss) {mib(result.get('maxrss_bytes'))} MiB")
    print()
    print("| phase | VmHWM (MiB) | peak VmRSS | peak RssAnon | peak RssFile | peak RssShmem |"
          + (" peak cgroup usage |" if cgroup else ""))
    print("|---|---:|---:|---:|---:|---:|" + ("---:|" if cgroup else ""))
    for phase in PHASES:
        p = result["peaks"][phase]
        row = f"| {phase} | " + " | ".join(str(mib(p[name])) for name in FIELDS) + " |"
        if cgroup:
            row += f" {mib(p['cgroup_usage'])} |"
        print(row)
    if cgroup is not None:
        c = result["cgroup"]
        print()
        print(f"cgroup v{c['cgroup_version']} limit {mib(c['limit_bytes'])} MiB: peak {mib(c['peak_bytes'])} MiB, "
              f"failcnt {c['failcnt']}, OOM kills {c['oom_kills']}; both documents completed: "
              f"{result['both_completed']}")
    if not result.get("both_completed"):
        sys.exit(1)


if __name__ == "__main__":
    main()
