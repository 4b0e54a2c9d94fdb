"""A fake Proxmox VE API over HTTPS on loopback, validating every request against the reference.

Token auth, asynchronous UPID tasks, clone locks, clone/config/resize/status/delete semantics
and, for each started VM, a real `sshd` listening on the VM's cloud-init address, so that
"wait until SSH answers" and ssh-keyscan work for real. Each VM's disk is a directory that
survives shutdown, stop and start and goes when the VM is destroyed; SSH sessions on the VM find
it in `$FAKE_VM_DISK`. Knobs let tests inject failures; `faults` (tests/fakes/faults.py) makes
a seeded share of authenticated API calls fail transiently, some after the work was done.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import shutil
import ssl
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes import faults as fault_kinds
from tests.fakes import pve_schema
from tests.fakes.faults import Faults

TOKEN_ID = "fedipanel@pve!panel"
TOKEN_SECRET = "0b7e2f8c-5a3d-4f1e-9c2b-7d6e5f4a3b21"


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


@dataclass
class Task:
    upid: str
    node: str
    kind: str
    vmid: int
    user: str
    started: float
    done_at: float
    finish: Any = None  # callable run once when the task ends; may raise ApiError -> failure
    exitstatus: str | None = None


@dataclass
class FakeVm:
    vmid: int
    node: str
    config: dict[str, str]
    template: bool = False
    status: str = "stopped"
    pool: str | None = None
    foreign: bool = False
    # The directory standing in for the VM's system disk (None for the template).
    disk: Path | None = None


@dataclass
class Knobs:
    """Failures tests can inject."""

    fail_clone: str | None = None  # the next clone task ends with this exit status
    # The clone task of the VM with this name ends with this exit status.
    fail_clone_of: dict[str, str] = field(default_factory=dict)
    nextid_collisions: int = 0  # this many /cluster/nextid answers are taken right after
    fail_once: list[tuple[str, str, int, str]] = field(
        default_factory=list
    )  # method, path re, status, msg
    auth_delay: float = 0.0
    fail_tasks: list[tuple[str, str]] = field(default_factory=list)  # task type, exit status
    # VMs whose guest ignores the ACPI power button, so a shutdown runs into its timeout.
    ignore_acpi: set[int] = field(default_factory=set)
    # Clone tasks keep running until this many clones were asked for (or `hold_timeout` passed):
    # a test sees clones overlap without depending on how fast threads are scheduled.
    hold_clones: int = 0
    hold_timeout: float = 20.0


@dataclass
class Timing:
    """How long tasks take, as on a real cluster (the default: all fast, for tests).

    `tasks` maps a task type (`qmclone`, `qmconfig`, `resize`, `qmstart`, ...) to seconds, else
    the fake's `task_delay`; `boot` is how long a started VM takes until its SSH answers; `factor`
    makes one VM (by name) slower or faster than the others.
    """

    tasks: dict[str, float] = field(default_factory=dict)
    boot: float = 0.0
    factor: dict[str, float] = field(default_factory=dict)


class FakeProxmox:
    """The fake cluster's state and its HTTPS server."""

    def __init__(
        self,
        workdir: Path,
        *,
        nodes: dict[str, int] | None = None,
        storages: tuple[str, ...] = ("local", "linstor"),
        pools: tuple[str, ...] = ("fedipanel",),
        template: int = 9000,
        task_delay: float = 0.05,
        ssh_port: int = 22,
        sshd: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.nodes = {
            name: {"maxmem": 64 * 2**30, "mem": used * 2**30, "status": "online"}
            for name, used in (nodes or {"pve1": 40, "pve2": 8}).items()
        }
        self.storages = set(storages)
        self.pools = set(pools)
        self.task_delay = task_delay
        self.ssh_port = ssh_port
        self.sshd = sshd
        self.knobs = Knobs()
        self.timing = Timing()
        # The most tasks (and clones) that ran at the same time, for tests of parallelism.
        self.max_in_flight = 0
        self.max_clones_in_flight = 0
        self.clones_asked = 0
        self.faults: Faults | None = None
        self.lock = threading.RLock()
        self.vms: dict[int, FakeVm] = {}
        self.tasks: dict[str, Task] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.rejected: list[tuple[str, str, int, str]] = []
        self.sshd_processes: dict[int, subprocess.Popen[bytes]] = {}
        self.host_keys: dict[int, str] = {}
        first = next(iter(self.nodes))
        self.template = template
        self.vms[template] = FakeVm(
            template,
            first,
            {
                "name": "nixos-template",
                "cores": "1",
                "memory": "2048",
                "scsi0": f"linstor:base-{template}-disk-0,size=8G",
                "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0",
                "ide2": f"linstor:vm-{template}-cloudinit,media=cdrom",
                "template": "1",
            },
            template=True,
        )
        self._pid = 4000
        self._server: ThreadingHTTPServer | None = None
        self.ca_file = self.workdir / "ca.pem"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeProxmox:
        cert, key = _make_certificate(self.workdir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        fake = self

        class Handler(_Handler):
            proxmox = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for vmid in list(self.sshd_processes):
            self._stop_sshd(vmid)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_port}"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Return FEDIPANEL_* settings (without prefix) that point the panel at this fake."""
        values = {
            "PROXMOX_URL": self.url,
            "PROXMOX_TOKEN_ID": TOKEN_ID,
            "PROXMOX_TOKEN_SECRET": TOKEN_SECRET,
            "PROXMOX_VERIFY": str(self.ca_file),
            "PROXMOX_NODES": ",".join(self.nodes),
            "PROXMOX_TEMPLATE": str(self.template),
            "PROXMOX_STORAGE": "linstor",
            "PROXMOX_POOL": "fedipanel",
            "VM_GATEWAY": "127.0.10.1",
            "VM_NAMESERVERS": "127.0.10.53",
            "VM_SSH_PORT": str(self.ssh_port),
        }
        values.update(overrides)
        return values

    # -- what tests look at --------------------------------------------------------------------

    def calls(self, method: str, pattern: str) -> list[dict[str, str]]:
        """Return the parameters of every accepted request matching method and path regex."""
        return [p for m, path, p in self.requests if m == method and re.search(pattern, path)]

    def operations(self) -> list[str]:
        """Return the VM-changing requests in order, e.g. `clone`, `config`, `resize`, `start`."""
        out = []
        for method, path, _ in self.requests:
            if method == "GET":
                continue
            tail = path.rstrip("/").rsplit("/", 1)[-1]
            out.append("delete" if method == "DELETE" else tail)
        return out

    def count(self) -> Counter[str]:
        return Counter(self.operations())

    def owned(self) -> dict[int, FakeVm]:
        """Return the VMs FediPanel made (not the template, not other deployments')."""
        return {i: vm for i, vm in self.vms.items() if not vm.template and not vm.foreign}

    # -- request handling ----------------------------------------------------------------------

    def handle(self, method: str, path: str, values: dict[str, str], auth: str | None) -> Any:
        if auth != f"PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}":
            if self.knobs.auth_delay:
                time.sleep(self.knobs.auth_delay)
            raise ApiError(401, "authentication failure")
        if not path.startswith("/api2/json/"):
            raise ApiError(501, f"Method '{method} {path}' not implemented")
        api_path = "/" + path.removeprefix("/api2/json/").strip("/")
        found = pve_schema.match(api_path)
        if found is None or method not in pve_schema.api()[found[0]]:
            raise ApiError(501, f"Method '{method} {api_path}' not implemented")
        template, path_params = found
        errors = pve_schema.validate(template, method, {**values, **path_params})
        if errors:
            raise ApiError(400, "Parameter verification failed.", errors)
        with self.lock:
            for i, (m, pattern, status, message) in enumerate(self.knobs.fail_once):
                if m == method and re.search(pattern, api_path):
                    del self.knobs.fail_once[i]
                    raise ApiError(status, message)
            self.requests.append((method, api_path, dict(values)))
            self._tick()
            handler = getattr(self, "_" + _handler_name(method, template), None)
            if handler is None:
                raise ApiError(501, f"fake: {method} {template} not simulated")
            return handler(values, **path_params)

    def _tick(self) -> None:
        now = time.monotonic()
        for task in self.tasks.values():
            if task.exitstatus is None and now >= task.done_at and not self._held(task, now):
                try:
                    if task.finish is not None:
                        task.finish()
                    task.exitstatus = "OK"
                except ApiError as exc:
                    task.exitstatus = exc.message

    def _held(self, task: Task, now: float) -> bool:
        return (
            task.kind == "qmclone"
            and self.clones_asked < self.knobs.hold_clones
            and now < task.started + self.knobs.hold_timeout
        )

    def _duration(self, kind: str, name: str) -> float:
        seconds = self.timing.tasks.get(kind, self.task_delay)
        return seconds * self.timing.factor.get(name, 1.0)

    def _task(
        self, node: str, kind: str, vmid: int, finish: Any = None, name: str | None = None
    ) -> str:
        for i, (failing, message) in enumerate(self.knobs.fail_tasks):
            if failing == kind:
                del self.knobs.fail_tasks[i]

                def fail(message: str = message) -> None:
                    raise ApiError(500, message)

                finish = fail
                break
        self._pid += 1
        start = int(time.time())
        upid = (
            f"UPID:{node}:{self._pid:08X}:{self._pid * 7:08X}:{start:08X}:{kind}:{vmid}:{TOKEN_ID}:"
        )
        now = time.monotonic()
        if name is None:
            target = self.vms.get(vmid)
            name = target.config.get("name", "") if target is not None else ""
        self.tasks[upid] = Task(
            upid, node, kind, vmid, TOKEN_ID, now, now + self._duration(kind, name), finish
        )
        running = [t for t in self.tasks.values() if t.exitstatus is None]
        self.max_in_flight = max(self.max_in_flight, len(running))
        clones = sum(1 for t in running if t.kind == "qmclone")
        self.max_clones_in_flight = max(self.max_clones_in_flight, clones)
        return upid

    def _node(self, node: str) -> None:
        if node not in self.nodes:
            raise ApiError(
                500,
                f"hostname lookup '{node}' failed - failed to get address info for: {node}: "
                "Name or service not known",
            )

    def _vm(self, node: str, vmid: str | int) -> FakeVm:
        self._node(node)
        vm = self.vms.get(int(vmid))
        if vm is None or vm.node != node:
            raise ApiError(
                500, f"Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist"
            )
        return vm

    def _unlocked(self, vm: FakeVm) -> None:
        if vm.config.get("lock"):
            raise ApiError(500, f"VM is locked ({vm.config['lock']})")

    # GET ------------------------------------------------------------------------------------

    def _get_version(self, _v: dict[str, str]) -> Any:
        return {"version": "9.1.3", "release": "9.1", "repoid": "0123abcd"}

    def _get_nodes(self, _v: dict[str, str]) -> Any:
        return [
            {
                "node": name,
                "status": n["status"],
                "maxmem": n["maxmem"],
                "mem": n["mem"],
                "maxcpu": 32,
            }
            for name, n in self.nodes.items()
        ]

    def _get_nodes_node_status(self, _v: dict[str, str], node: str) -> Any:
        self._node(node)
        n = self.nodes[node]
        return {"memory": {"total": n["maxmem"], "used": n["mem"], "free": n["maxmem"] - n["mem"]}}

    def _get_cluster_nextid(self, values: dict[str, str]) -> Any:
        if "vmid" in values:
            if int(values["vmid"]) in self.vms:
                raise ApiError(
                    400,
                    "Parameter verification failed.",
                    {"vmid": f"VM {values['vmid']} already exists"},
                )
            return values["vmid"]
        vmid = 100
        while vmid in self.vms:
            vmid += 1
        if self.knobs.nextid_collisions > 0:
            # Another deployment asked at the same moment and cloned first.
            self.knobs.nextid_collisions -= 1
            node = next(iter(self.nodes))
            self.vms[vmid] = FakeVm(vmid, node, {"name": f"other-{vmid}"}, foreign=True)
        return str(vmid)

    def _get_cluster_resources(self, values: dict[str, str]) -> Any:
        out: list[dict[str, Any]] = []
        kind = values.get("type")
        if kind in (None, "vm"):
            for vm in self.vms.values():
                row = {
                    "id": f"qemu/{vm.vmid}",
                    "type": "qemu",
                    "vmid": vm.vmid,
                    "node": vm.node,
                    "name": vm.config.get("name", f"VM {vm.vmid}"),
                    "status": vm.status,
                    "template": 1 if vm.template else 0,
                    "maxmem": int(vm.config.get("memory", "512")) * 2**20,
                }
                for key in ("tags", "lock"):
                    if vm.config.get(key):
                        row[key] = vm.config[key]
                if vm.pool:
                    row["pool"] = vm.pool
                out.append(row)
        if kind in (None, "node"):
            out += [
                {"id": f"node/{n}", "type": "node", "node": n, "status": "online"}
                for n in self.nodes
            ]
        return out

    def _get_nodes_node_storage_storage_status(
        self, _v: dict[str, str], node: str, storage: str
    ) -> Any:
        self._node(node)
        if storage not in self.storages:
            raise ApiError(500, f"storage '{storage}' does not exist")
        return {
            "type": "drbd",
            "content": "images,rootdir",
            "active": 1,
            "enabled": 1,
            "shared": 1,
            "total": 2**42,
            "used": 2**40,
            "avail": 3 * 2**40,
        }

    def _get_pools_poolid(self, _v: dict[str, str], poolid: str) -> Any:
        if poolid not in self.pools:
            raise ApiError(500, f"pool '{poolid}' does not exist")
        members = [
            {"id": f"qemu/{vm.vmid}", "node": vm.node, "type": "qemu", "vmid": vm.vmid}
            for vm in self.vms.values()
            if vm.pool == poolid
        ]
        return {"members": members}

    def _get_nodes_node_tasks_upid_status(self, _v: dict[str, str], node: str, upid: str) -> Any:
        self._node(node)
        task = self.tasks.get(upid)
        if task is None or task.node != node:
            raise ApiError(500, f"no such task '{upid}'")
        status = {
            "upid": upid,
            "node": node,
            "pid": 1,
            "pstart": 1,
            "starttime": int(task.started),
            "type": task.kind,
            "id": str(task.vmid),
            "user": task.user,
            "status": "running" if task.exitstatus is None else "stopped",
        }
        if task.exitstatus is not None:
            status["exitstatus"] = task.exitstatus
        return status

    def _get_nodes_node_qemu_vmid_config(self, _v: dict[str, str], node: str, vmid: str) -> Any:
        vm = self._vm(node, vmid)
        config: dict[str, Any] = dict(vm.config)
        for key in ("cores", "onboot", "template"):
            if key in config:
                config[key] = int(config[key])
        config["digest"] = f"{abs(hash(json.dumps(vm.config, sort_keys=True))):040x}"[:40]
        return config

    def _get_nodes_node_qemu_vmid_status_current(
        self, _v: dict[str, str], node: str, vmid: str
    ) -> Any:
        vm = self._vm(node, vmid)
        out: dict[str, Any] = {
            "vmid": vm.vmid,
            "status": vm.status,
            "name": vm.config.get("name", ""),
            "cpus": int(vm.config.get("cores", "1")),
            "qmpstatus": vm.status,
            "maxmem": int(vm.config.get("memory", "512")) * 2**20,
        }
        for key in ("lock", "tags"):
            if vm.config.get(key):
                out[key] = vm.config[key]
        if vm.template:
            out["template"] = 1
        return out

    # POST / PUT / DELETE ----------------------------------------------------------------------

    def _post_nodes_node_qemu_vmid_clone(self, v: dict[str, str], node: str, vmid: str) -> Any:
        source = self._vm(node, vmid)
        newid = int(v["newid"])
        target = v.get("target", node)
        self._node(target)
        if newid in self.vms:
            raise ApiError(500, f"unable to create VM {newid}: config file already exists")
        storage = v.get("storage")
        if storage is not None and storage not in self.storages:
            raise ApiError(500, f"storage '{storage}' does not exist")
        if v.get("full") != "1" and source.template and storage:
            raise ApiError(500, "linked clone feature is not supported for drive 'scsi0'")
        if target != node and not v.get("storage"):
            raise ApiError(500, "Can't clone to other node if the source is on local storage")
        pool = v.get("pool")
        if pool is not None and pool not in self.pools:
            raise ApiError(500, f"pool '{pool}' does not exist")
        config = {
            k: c for k, c in source.config.items() if k not in {"template", "name", "description"}
        }
        disk = source.config["scsi0"].split(",", 1)[1]
        config["scsi0"] = f"{storage or 'linstor'}:vm-{newid}-disk-0,{disk}"
        config["name"] = v.get("name", f"Copy-of-VM-{source.config.get('name')}")
        if "description" in v:
            config["description"] = v["description"]
        config["lock"] = "clone"
        vm = FakeVm(newid, target, config, pool=pool, disk=self.disk_dir(newid))
        self.vms[newid] = vm
        failure = self.knobs.fail_clone_of.pop(config["name"], None)
        if failure is None:
            failure, self.knobs.fail_clone = self.knobs.fail_clone, None

        def finish() -> None:
            if failure:
                self.vms.pop(newid, None)
                raise ApiError(500, failure)
            assert vm.disk is not None
            vm.disk.mkdir(parents=True)
            vm.config.pop("lock", None)

        self.clones_asked += 1
        return self._task(node, "qmclone", int(vmid), finish, name=config["name"])

    def _set_config(self, vm: FakeVm, v: dict[str, str]) -> None:
        self._unlocked(vm)
        if (
            "digest" in v
            and v["digest"]
            != self._get_nodes_node_qemu_vmid_config({}, vm.node, str(vm.vmid))["digest"]
        ):
            raise ApiError(
                500, "detected modified configuration - file changed by other user? Try again."
            )
        for key in re.split(r"[,;\s]+", v.get("delete", "")):
            if key:
                vm.config.pop(key, None)
        for key, value in v.items():
            if key in {"node", "vmid", "delete", "digest", "skiplock", "background_delay"}:
                continue
            vm.config[key] = unique_tags(value) if key == "tags" else value
        if vm.config.get("tags") == "":
            del vm.config["tags"]

    def _post_nodes_node_qemu_vmid_config(self, v: dict[str, str], node: str, vmid: str) -> Any:
        vm = self._vm(node, vmid)
        self._set_config(vm, v)
        return self._task(node, "qmconfig", vm.vmid)

    def _put_nodes_node_qemu_vmid_config(self, v: dict[str, str], node: str, vmid: str) -> Any:
        self._set_config(self._vm(node, vmid), v)
        return None

    def _put_nodes_node_qemu_vmid_resize(self, v: dict[str, str], node: str, vmid: str) -> Any:
        vm = self._vm(node, vmid)
        self._unlocked(vm)
        disk = v["disk"]
        if disk not in vm.config:
            raise ApiError(500, f"disk '{disk}' does not exist")
        volume, _, options = vm.config[disk].partition(",")
        current = _gib(re.search(r"size=([^,]+)", options).group(1))  # type: ignore[union-attr]
        size = v["size"]
        new = current + _gib(size[1:]) if size.startswith("+") else _gib(size)
        if new < current:
            raise ApiError(500, "shrinking disks is not supported")
        rest = re.sub(r"size=[^,]+", f"size={_fmt_gib(new)}", options)
        vm.config[disk] = f"{volume},{rest}"
        return self._task(node, "resize", vm.vmid)

    def _post_nodes_node_qemu_vmid_status_start(
        self, _v: dict[str, str], node: str, vmid: str
    ) -> Any:
        vm = self._vm(node, vmid)
        self._unlocked(vm)
        if vm.template:
            raise ApiError(500, "you can't start a vm if it's a template")

        def finish() -> None:
            if vm.status == "running":
                raise ApiError(500, f"VM {vm.vmid} already running")
            vm.status = "running"
            self._boot(vm)

        return self._task(node, "qmstart", vm.vmid, finish)

    def _post_nodes_node_qemu_vmid_status_stop(
        self, _v: dict[str, str], node: str, vmid: str
    ) -> Any:
        vm = self._vm(node, vmid)

        def finish() -> None:
            if vm.status != "running":  # nothing to stop: Proxmox ends the task at once
                return
            self._unlocked(vm)
            self._power_off(vm)

        return self._task(node, "qmstop", vm.vmid, finish)

    def _post_nodes_node_qemu_vmid_status_shutdown(
        self, v: dict[str, str], node: str, vmid: str
    ) -> Any:
        vm = self._vm(node, vmid)
        force = v.get("forceStop") == "1"

        # As qemu-server's _do_vm_stop: nothing to do when it is not running; the guest powers
        # off on the ACPI event, or the task runs into its timeout (default 60 s, here
        # task_delay) and then fails, unless forceStop makes Proxmox terminate it.
        def finish() -> None:
            if vm.status != "running":
                return
            self._unlocked(vm)
            if vm.vmid in self.knobs.ignore_acpi and not force:
                raise ApiError(500, "VM quit/powerdown failed - got timeout")
            self._power_off(vm)

        return self._task(node, "qmshutdown", vm.vmid, finish)

    def _boot(self, vm: FakeVm) -> None:
        """Let the guest's SSH answer once it has booted (at once unless `timing.boot`)."""
        seconds = self.timing.boot * self.timing.factor.get(vm.config.get("name", ""), 1.0)
        if seconds <= 0:
            self._start_sshd(vm)
            return

        def booted() -> None:
            with self.lock:
                if vm.status == "running" and vm.vmid not in self.sshd_processes:
                    self._start_sshd(vm)

        timer = threading.Timer(seconds, booted)
        timer.daemon = True
        timer.start()

    def _power_off(self, vm: FakeVm) -> None:
        vm.status = "stopped"
        self._stop_sshd(vm.vmid)

    def _post_nodes_node_qemu_vmid_status_reboot(
        self, _v: dict[str, str], node: str, vmid: str
    ) -> Any:
        vm = self._vm(node, vmid)
        if vm.status != "running":
            raise ApiError(500, f"VM {vm.vmid} not running")

        def finish() -> None:
            self._stop_sshd(vm.vmid)
            self._start_sshd(vm)

        return self._task(node, "qmreboot", vm.vmid, finish)

    def _delete_nodes_node_qemu_vmid(self, _v: dict[str, str], node: str, vmid: str) -> Any:
        vm = self._vm(node, vmid)
        self._unlocked(vm)
        if vm.status == "running":
            raise ApiError(500, f"VM {vm.vmid} is running - destroy failed")

        def finish() -> None:
            self.vms.pop(vm.vmid, None)
            self._stop_sshd(vm.vmid)
            # Destroying a VM removes the disks its configuration references, purge or not.
            if vm.disk is not None:
                shutil.rmtree(vm.disk, ignore_errors=True)

        return self._task(node, "qmdestroy", vm.vmid, finish)

    # sshd per VM -------------------------------------------------------------------------------

    def disk_dir(self, vmid: int) -> Path:
        """Return the directory that stands in for a VM's system disk."""
        return self.workdir / "disks" / f"vm-{vmid}-disk-0"

    def _start_sshd(self, vm: FakeVm) -> None:
        found = re.search(r"ip=([^/,]+)", vm.config.get("ipconfig0", ""))
        if self.sshd is None or found is None or vm.disk is None:
            return
        # cloud-init would install the `sshkeys` for the `ciuser` (root): so does the fake. The
        # host key lives on the disk, as a VM's does: the same after a restart, gone with it.
        process, key = start_sshd(
            self.sshd,
            vm.disk / "ssh",
            found.group(1),
            self.ssh_port,
            unquote(vm.config.get("sshkeys", "")),
            environment={"FAKE_VM_DISK": str(vm.disk)},
        )
        self.sshd_processes[vm.vmid] = process
        self.host_keys[vm.vmid] = key

    def _stop_sshd(self, vmid: int) -> None:
        process = self.sshd_processes.pop(vmid, None)
        if process is not None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_sshd(
    sshd: str,
    home: Path,
    address: str,
    port: int,
    authorized_keys: str,
    environment: dict[str, str] | None = None,
    force_command: str | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """Run a real sshd for root logins with these keys on a loopback address; return its host key.

    The host key stays the same for the same `home`, as a VM's does across reboots. Sessions get
    `environment` as variables, and run `force_command` instead of what was asked if given (the
    request is in SSH_ORIGINAL_COMMAND).
    """
    if not ipaddress.ip_address(address).is_loopback:
        raise ApiError(500, f"fake: refusing to listen on non-loopback {address}")
    home.mkdir(parents=True, exist_ok=True)
    key = home / "ssh_host_ed25519_key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = home / "authorized_keys"
    authorized.write_text(authorized_keys.strip() + "\n")
    config = home / "sshd_config"
    config.write_text(
        f"ListenAddress {address}:{port}\nHostKey {key}\nPidFile none\nUsePAM no\n"
        f"StrictModes no\nAuthorizedKeysFile {authorized}\nPasswordAuthentication no\n"
        "PermitRootLogin prohibit-password\nKbdInteractiveAuthentication no\nLogLevel QUIET\n"
        # sshd takes the first SetEnv line only: every variable goes on that one.
        + (
            "SetEnv " + " ".join(f"{name}={value}" for name, value in environment.items()) + "\n"
            if environment
            else ""
        )
        + (f"ForceCommand {force_command}\n" if force_command else "")
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    process = subprocess.Popen(
        [sshd, "-D", "-e", "-f", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, " ".join(key.with_suffix(".pub").read_text().split()[:2])


def unique_tags(value: str) -> str:
    """Return tags as Proxmox stores them (get_unique_tags: lower case, sorted, once each)."""
    return ";".join(sorted({t.lower() for t in re.split(r"[;, ]+", value) if t}))


def _handler_name(method: str, template: str) -> str:
    return method.lower() + re.sub(r"[^a-z0-9]+", "_", template.lower()).rstrip("_")


def _gib(text: str) -> float:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", text)
    if found is None:
        raise ApiError(400, "Parameter verification failed.", {"size": "invalid size"})
    factor = {"": 1 / 2**30, "K": 1 / 2**20, "M": 1 / 2**10, "G": 1, "T": 2**10}[found.group(2)]
    return float(found.group(1)) * factor


def _fmt_gib(value: float) -> str:
    return f"{int(value)}G" if value == int(value) else f"{int(value * 1024)}M"


class _Handler(BaseHTTPRequestHandler):
    proxmox: FakeProxmox
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        values = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if body:
            kind = self.headers.get("Content-Type", "")
            if not kind.startswith("application/x-www-form-urlencoded"):
                return self._answer(
                    400,
                    "Parameter verification failed.",
                    None,
                    {"body": f"unsupported content type {kind!r}"},
                )
            values.update(parse_qsl(body.decode(), keep_blank_values=True))
        path = "/".join(unquote(p) for p in parts.path.split("/"))
        faults = self.proxmox.faults
        fault = faults.draw(f"{method} {path}") if faults is not None else None
        if fault in fault_kinds.BEFORE:
            return fault_kinds.before(self, fault)
        try:
            data = self.proxmox.handle(method, path, values, self.headers.get("Authorization"))
        except ApiError as exc:
            self.proxmox.rejected.append((method, path, exc.status, exc.message))
            status, reason, data, errors = exc.status, exc.message, None, exc.errors
        else:
            status, reason, errors = 200, "OK", None
        if fault is not None and faults is not None:
            return fault_kinds.after(
                self, fault, faults.slow, lambda: self._answer(status, reason, data, errors)
            )
        return self._answer(status, reason, data, errors)

    def _answer(self, status: int, reason: str, data: Any, errors: dict[str, str] | None) -> None:
        payload: dict[str, Any] = {"data": data}
        if errors:
            payload["errors"] = errors
        body = json.dumps(payload).encode()
        self.send_response(status, reason.replace("\n", " ")[:200])
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


def _make_certificate(directory: Path) -> tuple[Path, Path]:
    """Write a CA (ca.pem) and a certificate for 127.0.0.1 signed by it; return cert and key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Proxmox CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file
